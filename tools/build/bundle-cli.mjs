// Compiles `natlens` (apps/cli and every library it reaches: the hub, the agent, the lab) to plain JavaScript in
// dist/apps/cli: one CommonJS bundle per entry, our TypeScript only (npm packages stay in node_modules, where the
// native ones must be anyway), plus the native addons and the BPF object the agent loads.
//
// TypeScript goes through SWC with the settings jest and `bin/natlens-dev` use (decorator metadata, which NestJS's
// dependency injection reads and esbuild does not emit), and esbuild joins the modules. A module the CLI reaches by
// `await import()` (the hub, the agent, the capture import) is wrapped by esbuild and runs only when imported, so
// `natlens --help` evaluates none of NestJS.
import { transform } from '@swc/core';
import { createRequire } from 'node:module';
import { build } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const outdir = join(root, 'dist', 'apps', 'cli');

/** SWC for every TypeScript file of ours: the same transform as jest.preset.js. */
const swcTypeScript = {
  name: 'swc-typescript',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, async (args) => {
      const source = readFileSync(args.path, 'utf8');
      const out = await transform(source, {
        filename: args.path,
        sourceMaps: 'inline',
        jsc: {
          parser: { syntax: 'typescript', decorators: true },
          transform: { legacyDecorator: true, decoratorMetadata: true },
          target: 'es2022',
          keepClassNames: true,
        },
        module: { type: 'es6' },
      });
      return { contents: out.code, loader: 'js', resolveDir: dirname(args.path) };
    });
  },
};

/** npm packages stay external (resolved from node_modules at run time); our `@natlens/*` libraries are bundled. */
const externalPackages = {
  name: 'external-packages',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('@natlens/')) return undefined; // tsconfig paths
      return { path: args.path, external: true };
    });
  },
};

rmSync(outdir, { recursive: true, force: true });
const result = await build({
  absWorkingDir: root,
  entryPoints: {
    main: 'apps/cli/src/main.ts',
    // The lab's processes in namespaces (echo pods, health checks, load balancer, traffic): `natlens lab`, the demo.
    'lab-daemon': 'libs/lab/src/daemons/main.ts',
    // bin/natlens's relaunch with the agent's Node flags (apps/cli/src/launch/node-flags.ts), loaded before main.js.
    launch: 'apps/cli/src/launch/node-flags.ts',
    // Worker threads (startModuleWorker in @natlens/agent-pcap finds them next to main.js): the conntrack dump reader.
    'conntrack-dump-worker': 'libs/agent/pcap/src/conntrack-dump/conntrack-dump.worker.ts',
  },
  outdir,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  tsconfig: join(root, 'tsconfig.base.json'),
  plugins: [externalPackages, swcTypeScript],
  sourcemap: 'linked',
  sourcesContent: false,
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
});

// The native addons and the BPF object, next to the bundle (libs/agent/*/src look in <bundle dir>/native first).
const nativeDir = join(outdir, 'native');
mkdirSync(nativeDir, { recursive: true });
const natives = [
  ['libs/agent/conntrack/native/build/Release/natlens_netlink.node', true],
  ['libs/agent/ebpf/native/build/Release/natlens_ebpf.node', false],
  ['libs/agent/ebpf/native/build/Release/natlens.bpf.o', false],
];
for (const [file, required] of natives) {
  const from = join(root, file);
  if (existsSync(from)) copyFileSync(from, join(nativeDir, file.split('/').pop()));
  else if (required) throw new Error(`${file} is missing: run \`npm install\` (node-gyp builds it; needs libmnl-dev, g++, make)`);
  else process.stderr.write(`natlens build: ${file} not built (the agent will use the conntrack source)\n`);
}

// The npm packages the bundle requires at run time, as their own package.json and pruned lockfile: `npm ci --omit=dev`
// in dist/apps/cli installs only them (the image's production dependencies).
const { externalPackages: bundleExternals, runtimeDependencies } = createRequire(import.meta.url)('./runtime-dependencies.cjs');
const runtime = runtimeDependencies({
  externals: bundleExternals(result.metafile),
  rootPackage: JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')),
  lock: JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')),
});
writeFileSync(join(outdir, 'package.json'), `${JSON.stringify(runtime.packageJson, null, 2)}\n`);
writeFileSync(join(outdir, 'package-lock.json'), `${JSON.stringify(runtime.packageLock, null, 2)}\n`);

const sizes = Object.entries(result.metafile.outputs)
  .filter(([file]) => file.endsWith('.js'))
  .map(([file, meta]) => `${relative(root, join(root, file))} ${(meta.bytes / 1024).toFixed(0)} KiB`);
writeFileSync(join(outdir, 'BUILD_INFO.json'), `${JSON.stringify({ outputs: sizes }, null, 2)}\n`);
process.stdout.write(`natlens build: ${sizes.join(', ')}; native: ${natives.filter(([f]) => existsSync(join(root, f))).length} files; runtime packages: ${runtime.packages.length} (dist/apps/cli/package-lock.json)\n`);
