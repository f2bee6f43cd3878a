import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/*
 * A worker thread on one of our own modules, wherever natlens runs: from the compiled build, where
 * tools/build/bundle-cli.mjs writes each worker entry as its own file next to main.js, or from the TypeScript sources
 * (jest, bin/natlens-dev), where the worker registers SWC as they do and then loads the .ts entry. For work that
 * would hold the event loop long enough to matter (parsing a large upload): the hub keeps answering meanwhile.
 */
export interface ModuleWorkerEntry {
  /** the entry's TypeScript file, absolute (`join(__dirname, 'x.worker.ts')`) */
  source: string;
  /** its file name in the compiled build, next to the bundle */
  bundled: string;
}

/** The workspace's tsconfig.base.json (its `paths` resolve `@natlens/*`), when running from the sources. */
const SOURCE_TSCONFIG = join(__dirname, '..', '..', '..', '..', '..', 'tsconfig.base.json');

export function startModuleWorker(entry: ModuleWorkerEntry, options: WorkerOptions = {}): Worker {
  if (__filename.endsWith('.ts') && existsSync(entry.source)) {
    const register = require.resolve('@swc-node/register');
    const code = [
      `process.env.SWC_NODE_PROJECT = process.env.SWC_NODE_PROJECT || ${JSON.stringify(SOURCE_TSCONFIG)};`,
      `require(${JSON.stringify(register)});`,
      `require(${JSON.stringify(entry.source)});`,
    ].join('\n');
    return new Worker(code, { ...options, eval: true });
  }
  return new Worker(join(__dirname, entry.bundled), options);
}
