// The npm packages the compiled CLI needs at run time, as a package.json and a package-lock.json that hold only them,
// cut from the workspace's lockfile: `npm ci --omit=dev` in dist/apps/cli then installs exactly what the bundle
// requires, at the versions the workspace tested (the image's production dependencies; deploy/docker/Dockerfile).
//
// Which packages: every package the bundle imports (esbuild's metafile marks them external; a require.resolve()
// alone does not count: the lab's SWC hook is resolved only when running from the sources), plus the optional peer
// dependencies of those that the workspace lists as dependencies (NestJS loads @nestjs/platform-express and
// @nestjs/platform-socket.io by name, not by an import the bundler sees); then their dependencies, resolved the way
// Node resolves them (nearest node_modules folder first), so the pruned lockfile keeps the workspace's layout.
'use strict';
const { builtinModules } = require('node:module');

const BUILTINS = new Set(builtinModules);
const IMPORT_KINDS = new Set(['import-statement', 'require-call', 'dynamic-import']);

/** 'a/b' → 'a', '@s/a/b' → '@s/a'; undefined for relative paths and Node's own modules. */
function packageNameOf(specifier) {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:')) return undefined;
  const parts = specifier.split('/');
  const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
  return BUILTINS.has(name) ? undefined : name;
}

/** The external packages an esbuild metafile's outputs import (not those only require.resolve()d). */
function externalPackages(metafile) {
  const names = new Set();
  for (const output of Object.values(metafile.outputs)) {
    for (const imported of output.imports) {
      if (!imported.external || !IMPORT_KINDS.has(imported.kind)) continue;
      const name = packageNameOf(imported.path);
      if (name) names.add(name);
    }
  }
  return [...names].sort();
}

function parentPackagePath(lockPath) {
  const i = lockPath.lastIndexOf('/node_modules/');
  return i < 0 ? '' : lockPath.slice(0, i);
}

/** The lockfile path Node would load `name` from when required inside the package at `from` ('' = the root). */
function resolveInLock(packages, from, name) {
  for (let dir = from; ; dir = parentPackagePath(dir)) {
    const candidate = dir === '' ? `node_modules/${name}` : `${dir}/node_modules/${name}`;
    if (packages[candidate] && !packages[candidate].link) return candidate;
    if (dir === '') return undefined;
  }
}

/**
 * @param {{ externals: string[], rootPackage: any, lock: any }} input the bundle's external packages, the workspace's
 *   package.json and its package-lock.json (lockfileVersion 2 or 3)
 * @returns {{ packageJson: any, packageLock: any, packages: string[] }} packages: the lockfile paths kept
 */
function runtimeDependencies({ externals, rootPackage, lock }) {
  const packages = lock.packages;
  if (!packages || !packages['']) throw new Error('package-lock.json has no "packages" section (lockfileVersion 2 or 3 is needed)');
  const declared = rootPackage.dependencies ?? {};
  const problems = externals.filter((name) => !(name in declared)).map((name) =>
    `${name} is imported by the compiled CLI but is not in package.json's dependencies${rootPackage.devDependencies?.[name] ? ' (only in devDependencies)' : ''}`);
  if (problems.length > 0) throw new Error(problems.join('\n'));

  const direct = new Set(externals);
  const kept = new Set();
  const queue = [];
  const keep = (lockPath) => {
    if (kept.has(lockPath)) return;
    kept.add(lockPath);
    queue.push(lockPath);
  };
  for (const name of direct) {
    const at = resolveInLock(packages, '', name);
    if (!at) throw new Error(`${name} is not in package-lock.json: run npm install`);
    keep(at);
  }
  while (queue.length > 0) {
    const at = queue.shift();
    const entry = packages[at];
    const optionalPeers = entry.peerDependenciesMeta ?? {};
    const wanted = [
      ...Object.keys(entry.dependencies ?? {}).map((name) => ({ name, optional: false })),
      ...Object.keys(entry.optionalDependencies ?? {}).map((name) => ({ name, optional: true })),
      ...Object.keys(entry.peerDependencies ?? {}).map((name) => ({ name, optional: optionalPeers[name]?.optional === true })),
    ];
    for (const { name, optional } of wanted) {
      // An optional peer counts only when the workspace chose to depend on it (NestJS's HTTP and socket.io adapters),
      // and then as one of the runtime's own dependencies.
      if (optional && entry.peerDependencies?.[name] !== undefined) {
        if (!(name in declared)) continue;
        direct.add(name);
      }
      const found = resolveInLock(packages, at, name);
      if (found) {
        keep(found);
      } else if (!optional) {
        throw new Error(`${at} needs ${name}, which package-lock.json does not hold where Node would look for it`);
      }
    }
  }

  const dependencies = Object.fromEntries([...direct].filter((name) => kept.has(`node_modules/${name}`)).sort().map((name) => [name, packages[`node_modules/${name}`].version]));
  const packageJson = {
    name: `${rootPackage.name}-runtime`,
    version: rootPackage.version,
    private: true,
    description: `${rootPackage.name}'s compiled command line: the npm packages it requires at run time (written by tools/build/bundle-cli.mjs)`,
    license: rootPackage.license,
    dependencies,
  };
  const prunedPackages = { '': { name: packageJson.name, version: packageJson.version, license: packageJson.license, dependencies } };
  for (const at of [...kept].sort()) {
    // Every package kept is a production one here, whatever role it had in the workspace.
    const { dev, devOptional, peer, ...entry } = packages[at];
    prunedPackages[at] = devOptional ? { ...entry, optional: true } : entry;
  }
  return {
    packageJson,
    packageLock: { name: packageJson.name, version: packageJson.version, lockfileVersion: 3, requires: true, packages: prunedPackages },
    packages: [...kept].sort(),
  };
}

module.exports = { externalPackages, packageNameOf, resolveInLock, runtimeDependencies };
