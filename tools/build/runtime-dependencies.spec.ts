import { externalPackages, packageNameOf, runtimeDependencies, type LockEntry, type PackageJson } from './runtime-dependencies.cjs';

/*
 * tools/build/runtime-dependencies.cjs: which npm packages the compiled CLI needs at run time, cut from the lockfile.
 * The lockfiles here are small hand-made ones in npm's lockfileVersion 3 shape; apps/cli/src/e2e/image.spec.ts
 * checks the real one by starting the compiled build with only those packages.
 */
const rootPackage: PackageJson = {
  name: 'natlens',
  version: '0.1.0',
  license: 'Apache-2.0',
  dependencies: { core: '^1.0.0', adapter: '^1.0.0', lonely: '^1.0.0' },
  devDependencies: { compiler: '^1.0.0' },
};

function lock(packages: Record<string, LockEntry>) {
  return { name: 'natlens', version: '0.1.0', lockfileVersion: 3, requires: true, packages: { '': { name: 'natlens', version: '0.1.0' }, ...packages } };
}

const workspace = lock({
  'node_modules/core': {
    version: '1.2.0',
    dependencies: { util: '^2.0.0', tslib: '^2.0.0' },
    peerDependencies: { adapter: '*', microservices: '*', rx: '*' },
    peerDependenciesMeta: { adapter: { optional: true }, microservices: { optional: true } },
  },
  'node_modules/core/node_modules/util': { version: '2.0.0' }, // nested: core needs util 2, the top level has util 1
  'node_modules/util': { version: '1.0.0', dev: true },
  'node_modules/tslib': { version: '2.6.0' },
  'node_modules/rx': { version: '7.0.0', peer: true },
  'node_modules/adapter': { version: '1.0.0', dependencies: { util: '^1.0.0' }, optionalDependencies: { 'native-darwin': '1.0.0' } },
  'node_modules/native-darwin': { version: '1.0.0', optional: true, os: ['darwin'] },
  'node_modules/lonely': { version: '1.0.0' },
  'node_modules/compiler': { version: '9.0.0', dev: true },
});

describe('packageNameOf', () => {
  it.each([
    ['pino', 'pino'],
    ['@nestjs/core', '@nestjs/core'],
    ['@nestjs/websockets/socket-module', '@nestjs/websockets'],
    ['zod/v4', 'zod'],
    ['node:fs', undefined],
    ['fs', undefined],
    ['child_process', undefined],
    ['./lab-daemon.js', undefined],
    ['/abs/path', undefined],
  ])('%s → %s', (specifier, name) => {
    expect(packageNameOf(specifier)).toBe(name);
  });
});

describe('externalPackages', () => {
  it('lists imported packages once, ignoring bundled files, builtins and require.resolve() alone', () => {
    const metafile = {
      outputs: {
        'main.js': {
          imports: [
            { path: 'core', kind: 'require-call', external: true },
            { path: 'core/sub', kind: 'require-call', external: true },
            { path: 'node:fs', kind: 'require-call', external: true },
            { path: 'k8s-client', kind: 'dynamic-import', external: true },
            { path: 'swc-hook', kind: 'require-resolve', external: true },
            { path: 'libs/x.ts', kind: 'import-statement' },
          ],
        },
        'launch.js': { imports: [{ path: 'lonely', kind: 'import-statement', external: true }] },
      },
    };
    expect(externalPackages(metafile)).toEqual(['core', 'k8s-client', 'lonely']);
  });
});

describe('runtimeDependencies', () => {
  it('keeps the imported packages, the optional peers the workspace depends on, and what they need where Node finds it', () => {
    const sut = runtimeDependencies({ externals: ['core'], rootPackage, lock: workspace });
    expect(sut.packages).toEqual([
      'node_modules/adapter', // optional peer of core, a dependency of the workspace
      'node_modules/core',
      'node_modules/core/node_modules/util', // core's own util 2, not the top-level util 1
      'node_modules/native-darwin', // an optional dependency stays in the lockfile: npm skips it on other platforms
      'node_modules/rx', // a required peer
      'node_modules/tslib',
      'node_modules/util', // adapter's util 1
    ]);
    expect(sut.packageJson.dependencies).toEqual({ adapter: '1.0.0', core: '1.2.0' });
    expect(sut.packageLock.packages['']).toEqual({ name: 'natlens-runtime', version: '0.1.0', license: 'Apache-2.0', dependencies: { adapter: '1.0.0', core: '1.2.0' } });
  });

  it('leaves out what the bundle does not import, devDependencies, and optional peers the workspace does not have', () => {
    const sut = runtimeDependencies({ externals: ['core'], rootPackage, lock: workspace });
    for (const absent of ['node_modules/lonely', 'node_modules/compiler', 'node_modules/microservices']) expect(sut.packages).not.toContain(absent);
  });

  it('marks every kept package as a production one', () => {
    const sut = runtimeDependencies({ externals: ['core'], rootPackage, lock: workspace });
    for (const [path, entry] of Object.entries(sut.packageLock.packages)) {
      expect({ path, dev: entry.dev, peer: entry.peer, devOptional: entry.devOptional }).toEqual({ path, dev: undefined, peer: undefined, devOptional: undefined });
    }
  });

  it.each([
    ['an import that is only a devDependency', ['compiler'], workspace, /compiler is imported by the compiled CLI but is not in package.json's dependencies \(only in devDependencies\)/],
    ['an import the workspace does not declare', ['left-pad'], workspace, /left-pad is imported by the compiled CLI but is not in package.json's dependencies$/],
    ['a declared import missing from the lockfile', ['lonely'], lock({}), /lonely is not in package-lock.json: run npm install/],
    ['a required dependency missing from the lockfile', ['lonely'], lock({ 'node_modules/lonely': { version: '1.0.0', dependencies: { gone: '1' } } }), /node_modules\/lonely needs gone/],
    ['a lockfile without a packages section', ['lonely'], { lockfileVersion: 1, packages: undefined as never }, /lockfileVersion 2 or 3/],
  ])('refuses %s', (_case, externals, lockfile, message) => {
    expect(() => runtimeDependencies({ externals, rootPackage, lock: lockfile })).toThrow(message);
  });
});
