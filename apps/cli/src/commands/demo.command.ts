import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import type { LabState, PodTruth, ProxyMode, TrafficVia } from '@natlens/lab';
import { loadTopologyFile, proxyMode } from './lab.command';
import { table } from '../output';
import { installRoot } from '../install-root';
import { logger } from '../logger';
import type { DemoStack } from './demo-stack';

const DEFAULT_TOPOLOGY = join(installRoot(), 'examples', 'seeds.yaml');

/** Every way into each Service the demo exercises: its LB, each node's nodePort, or the ClusterIP from a pod. */
export function demoEntries(state: LabState): { service: string; via: TrafficVia; client?: string }[] {
  const entries: { service: string; via: TrafficVia; client?: string }[] = [];
  const { lab } = state;
  lab.services.forEach((svc, i) => {
    const client = lab.clients.length > 0 ? lab.clients[i % lab.clients.length]?.name : undefined;
    if (svc.loadBalancerIP && client) entries.push({ service: `${svc.namespace}/${svc.name}`, via: { kind: 'lb' }, client });
    else if (svc.type === 'NodePort' && client) for (const n of lab.nodes) entries.push({ service: `${svc.namespace}/${svc.name}`, via: { kind: 'node', node: n.name }, client });
    else {
      const from = lab.pods.find((p) => !svc.endpoints.includes(p)) ?? lab.pods[0];
      if (from) entries.push({ service: `${svc.namespace}/${svc.name}`, via: { kind: 'pod', namespace: from.namespace, name: from.name } });
    }
  });
  return entries;
}

export function renderTruth(truth: PodTruth[]): string {
  return table([
    ['POD', 'NODE', 'CLIENT ADDRESS SEEN BY THE POD', 'CONNECTIONS'],
    ...truth.flatMap((p) => {
      const seen = Object.entries(p.seen).sort((a, b) => b[1] - a[1]);
      return seen.length === 0 ? [[`${p.namespace}/${p.pod}`, p.node, '(none yet)', 0]] : seen.map(([addr, n]) => [`${p.namespace}/${p.pod}`, p.node, addr, n]);
    }),
  ]);
}

function seconds(value: string): number {
  const n = Number(value);
  if (!(n > 0)) throw new InvalidArgumentError('expected a number of seconds > 0');
  return n;
}

export function demoCommand(): Command {
  return new Command('demo')
    .description('lab + steady traffic + live per-pod ground truth; Ctrl-C removes everything')
    .option('--topology <file>', 'topology YAML', DEFAULT_TOPOLOGY)
    .option('--name <name>', 'lab name (default: the topology name)')
    .option('--proxy-mode <mode>', "kube-proxy's mode on every node: iptables or nftables (default: the topology's)", proxyMode)
    .option('--connections-per-tick <n>', 'connections per entry point each second', (v) => Number(v), 4)
    .option('--duration <seconds>', 'stop by itself after this long (default: until Ctrl-C)', seconds)
    .option('--hub-port <n>', 'the hub\'s HTTP port on 127.0.0.1', (v) => Number(v), 8470)
    .option('--agent-source <list>', 'passed to each agent as --source')
    .option('--no-hub', 'only the lab, its traffic and the ground truth')
    .option('--dashboard-port <n>', 'the dashboard\'s HTTP port on 127.0.0.1 (0 picks a free port)', (v) => Number(v), 3000)
    .option('--no-dashboard', 'do not build and start the dashboard (apps/dashboard)')
    .action(async (opts: { topology: string; name?: string; proxyMode?: ProxyMode; connectionsPerTick: number; duration?: number; hubPort: number; agentSource?: string; hub: boolean }) => {
      // Loaded by the demo only: the lab, and the hub stack (which loads NestJS).
      const { labDown, labTraffic, labTruth, labUp, listLabs, readState } = await import('@natlens/lab');
      const { startDemoStack } = await import('./demo-stack');
      const log = logger();
      const topology = await loadTopologyFile(opts.topology, opts.name);
      if (listLabs().includes(topology.name)) {
        log.warn({ lab: topology.name }, 'removing a lab left over from an earlier demo');
        await labDown(topology.name);
      }
      let stopping = false;
      let stack: DemoStack | undefined;
      const stop = async (why: string) => {
        if (stopping) return;
        stopping = true;
        log.info({ lab: topology.name, why }, 'stopping: removing the lab');
        await stack?.close().catch((err: Error) => log.error({ err: err.message }, 'stopping the hub failed'));
        await labDown(topology.name).catch((err: Error) => log.error({ err: err.message }, 'lab down failed; run `natlens lab down` by hand'));
        process.stdout.write(`demo stopped; lab ${topology.name} removed\n`);
        process.exit(0);
      };
      process.on('SIGINT', () => void stop('SIGINT'));
      process.on('SIGTERM', () => void stop('SIGTERM'));

      log.info({ topology: opts.topology, proxyMode: opts.proxyMode ?? topology.kubeProxy.mode }, 'building the lab (namespaces, kube-proxy rules, echo pods, load balancer)');
      await labUp(topology, { log, proxyMode: opts.proxyMode });
      const state = readState(topology.name);
      if (opts.hub) {
        try {
          stack = await startDemoStack(state, { hubPort: opts.hubPort, agentSource: opts.agentSource, log });
        } catch (err) {
          await labDown(topology.name).catch(() => undefined);
          throw new Error(`the hub or the agents did not start, so the lab was removed: ${(err as Error).message}`);
        }
        process.stdout.write(`agents ready on ${state.lab.nodes.map((n) => n.name).join(', ')}: every connection from now on is recorded\n`);
      }
      const entries = demoEntries(state);
      process.stdout.write(`lab ${topology.name} is up; traffic through ${entries.length} entry points. Ctrl-C to stop.\n`);
      if (stack) {
        process.stdout.write(
          [
            `hub API:  ${stack.hubUrl}  (token: export NATLENS_HUB_TOKEN=${stack.token})`,
            `read token (dashboard sign-in): ${stack.readToken}`,
            `evidence: curl -H "Authorization: Bearer $NATLENS_HUB_TOKEN" ${stack.hubUrl}/api/services/default/web/evidence`,
            `          node bin/natlens explain default/web --hub ${stack.hubUrl}`,
            '',
          ].join('\n'),
        );
      }
      const dashboardOptions = opts as typeof opts & { dashboardPort: number; dashboard: boolean };
      // Started beside the traffic, not before it: a first `next build` takes about half a minute.
      if (stack && dashboardOptions.dashboard) {
        stack.startDashboard({ port: dashboardOptions.dashboardPort }).then(
          (url) => process.stdout.write(`dashboard: ${url}/services\n`),
          (err: Error) => !stopping && log.error({ err: err.message }, 'the dashboard did not start; the lab, hub and agents keep running'),
        );
      }
      if (opts.duration) setTimeout(() => void stop('duration reached'), opts.duration * 1000);

      while (!stopping) {
        const started = Date.now();
        await Promise.all(
          entries.map((e) =>
            labTraffic(topology.name, { ...e, connections: opts.connectionsPerTick, concurrency: opts.connectionsPerTick, timeoutMs: 700 }).catch(
              (err: Error) => log.warn({ err: err.message, service: e.service }, 'traffic round failed'),
            ),
          ),
        );
        if (stopping) break;
        const view = `\n${new Date().toISOString()}  what each pod saw as the client address (ground truth)\n${renderTruth(labTruth(topology.name))}\n`;
        process.stdout.write(process.stdout.isTTY ? `\x1b[2J\x1b[H${view}` : view);
        await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (Date.now() - started))));
      }
    });
}
