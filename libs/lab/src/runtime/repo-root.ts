import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The workspace root (where nx.json is): daemons run from source with the workspace's TypeScript settings. */
export function repoRoot(from = __dirname): string {
  let dir = from;
  while (!existsSync(join(dir, 'nx.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find the natlens workspace (nx.json) above ${from}`);
    dir = parent;
  }
  return dir;
}

/** node arguments that run a TypeScript entry file of ours directly. */
export function tsEntryArgs(entry: string): string[] {
  return ['-r', require.resolve('@swc-node/register'), entry];
}

/** The environment for such a process: SWC must read the workspace tsconfig (its `paths`) whatever runs us. */
export function tsEntryEnv(): NodeJS.ProcessEnv {
  return { ...process.env, SWC_NODE_PROJECT: join(repoRoot(), 'tsconfig.base.json') };
}
