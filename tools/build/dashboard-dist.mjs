// After `next build` (output: 'standalone'): lays the dashboard's server out in dist/apps/dashboard as it runs in
// the image: the traced server and its node_modules, the static assets it serves, and apps/dashboard/server (the
// dashboard's own server, which runs Next with sessions, TLS and proxy trust; and the exit-with-parent preload).
//   node dist/apps/dashboard/apps/dashboard/server/serve.mjs [--port 3000]   (NATLENS_HUB_URL, NATLENS_HUB_TOKEN, …)
// Next's own standalone server.js is there too but is not how natlens runs: it knows no TLS and tells the app no peer.
import { cpSync, existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const app = join(root, 'apps', 'dashboard');
const out = join(root, 'dist', 'apps', 'dashboard');
const standalone = join(app, '.next', 'standalone');
if (!existsSync(join(standalone, 'apps', 'dashboard', 'server.js'))) throw new Error(`${standalone} has no apps/dashboard/server.js: run next build with output: 'standalone'`);
rmSync(out, { recursive: true, force: true });
cpSync(standalone, out, { recursive: true, verbatimSymlinks: true });
cpSync(join(app, '.next', 'static'), join(out, 'apps', 'dashboard', '.next', 'static'), { recursive: true });
if (existsSync(join(app, 'public'))) cpSync(join(app, 'public'), join(out, 'apps', 'dashboard', 'public'), { recursive: true });
cpSync(join(app, 'server'), join(out, 'apps', 'dashboard', 'server'), { recursive: true });
process.stdout.write(`natlens build: dist/apps/dashboard (node dist/apps/dashboard/apps/dashboard/server/serve.mjs)\n`);
