import type { Logger } from 'pino';
import type { AgentMetrics } from './metrics/agent-metrics';

/*
 * The agent's last line: an error no stage caught (a rejected promise nobody awaited, a throw in a callback) is
 * logged and counted, and the agent keeps observing and exporting. Node's default would end the process, and a
 * DaemonSet restart would meet the same state (the same spool file, the same kernel table) and crash-loop, losing
 * every record the aggregate stage held each time. Each stage still handles its own failures; this only stops a
 * missed one from taking the node's observation down with it.
 */
export function installProcessGuards(target: NodeJS.Process, log: Logger, metrics: () => AgentMetrics | undefined): () => void {
  const onRejection = (reason: unknown) => {
    metrics()?.unexpectedErrors.inc({ where: 'unhandled-rejection' });
    log.error({ err: reason instanceof Error ? reason : new Error(String(reason)) }, 'unhandled promise rejection (a bug): logged and counted, the agent keeps running');
  };
  const onException = (err: Error) => {
    metrics()?.unexpectedErrors.inc({ where: 'uncaught-exception' });
    log.error({ err }, 'uncaught exception (a bug): logged and counted, the agent keeps running');
  };
  target.on('unhandledRejection', onRejection);
  target.on('uncaughtException', onException);
  return () => {
    target.off('unhandledRejection', onRejection);
    target.off('uncaughtException', onException);
  };
}
