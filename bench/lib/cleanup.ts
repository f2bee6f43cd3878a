/*
 * What a benchmark must undo however it ends (normally, on an error, or on Ctrl-C / SIGTERM / SIGHUP): its child
 * processes (by PID, from processes.ts's `started`), then the namespaces, labs and files it made, in reverse order.
 */
import { log, started, stopChild } from './processes';

type Step = { what: string; run: () => Promise<void> | void };
const steps: Step[] = [];
let running: Promise<void> | undefined;

export function onCleanup(what: string, run: () => Promise<void> | void): void {
  steps.push({ what, run });
}

export function cleanup(): Promise<void> {
  running ??= (async () => {
    for (const s of [...started].reverse()) await stopChild(s, 5000);
    for (const step of steps.reverse()) {
      try {
        await step.run();
      } catch (err) {
        log(`cleanup: ${step.what} failed: ${(err as Error).message}`);
      }
    }
  })();
  return running;
}

/** Runs `main`, then the cleanup; a signal runs the cleanup and exits. Exit status 1 on an error. */
export function runBench(name: string, main: () => Promise<void>): void {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      log(`${signal}: cleaning up`);
      void cleanup().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    });
  }
  main()
    .then(() => cleanup())
    .catch(async (err: Error) => {
      process.stderr.write(`${name}: ${err.stack ?? err.message}\n`);
      await cleanup();
      process.exit(1);
    });
}
