import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';

/*
 * A directory laid out like the image's runtime stage (deploy/docker/Dockerfile), from this workspace's build:
 *   bin/natlens, dist/apps/cli (bundle, native/, package.json, package-lock.json), dist/apps/dashboard,
 *   dist/apps/cli/node_modules: the packages dist/apps/cli/package-lock.json lists, copied from the workspace's
 *   node_modules at the same paths (what `npm ci --omit=dev` there installs: same versions, same layout, and
 *   better-sqlite3 with the addon npm built here).
 */
export function assembleRuntimeLayout(workspace: string, target: string): { packages: number } {
  const cli = join(workspace, 'dist', 'apps', 'cli');
  const dashboard = join(workspace, 'dist', 'apps', 'dashboard', 'apps', 'dashboard', 'server.js');
  for (const needed of [join(cli, 'main.js'), join(cli, 'package-lock.json'), dashboard]) {
    if (!existsSync(needed)) throw new Error(`${relative(workspace, needed)} is missing: run \`npm run build\` first`);
  }
  mkdirSync(join(target, 'bin'), { recursive: true });
  cpSync(join(workspace, 'bin', 'natlens'), join(target, 'bin', 'natlens'));
  cpSync(cli, join(target, 'dist', 'apps', 'cli'), { recursive: true });
  cpSync(join(workspace, 'dist', 'apps', 'dashboard'), join(target, 'dist', 'apps', 'dashboard'), { recursive: true, verbatimSymlinks: true });

  const lock = JSON.parse(readFileSync(join(cli, 'package-lock.json'), 'utf8')) as { packages: Record<string, { optional?: boolean }> };
  let packages = 0;
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path === '') continue;
    const from = join(workspace, path);
    if (!existsSync(from)) {
      if (entry.optional) continue; // another platform's optional binary: npm skips it too
      throw new Error(`${path} is in dist/apps/cli/package-lock.json but not installed in the workspace: run npm install`);
    }
    // Nested node_modules are copied under their own lockfile paths, and only those the lockfile keeps.
    cpSync(from, join(target, 'dist', 'apps', 'cli', path), { recursive: true, filter: (src) => !relative(from, src).split(sep).includes('node_modules') });
    packages++;
  }
  return { packages };
}

/** Every file under `dir`, relative to it. */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (at: string) => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const path = join(at, entry.name);
      if (entry.isDirectory()) walk(path);
      else out.push(relative(dir, path));
    }
  };
  walk(dir);
  return out;
}

/** Lets another user read and traverse `dir` and its parents up to `top` (a temporary directory starts as 0700). */
export function openToOtherUsers(dir: string, top: string): void {
  for (let at = dir; at !== dirname(at) && relative(top, at) !== '..' && !relative(top, at).startsWith(`..${sep}`); at = dirname(at)) {
    const mode = statSync(at).mode & 0o777;
    if ((mode & 0o005) !== 0o005) chmodSync(at, mode | 0o005);
  }
}
