// The dashboard's server: Next.js (the built app in apps/dashboard/.next) behind node's own HTTP or HTTPS server.
//
//   node apps/dashboard/server/serve.mjs [--port 3000] [--hostname 0.0.0.0]      (or PORT / HOSTNAME)
//   node dist/apps/dashboard/apps/dashboard/server/serve.mjs …                     (the compiled build: npm run build)
//
// It exists for what `next start` cannot do:
// - TLS from files: NATLENS_DASHBOARD_TLS_CERT_FILE + NATLENS_DASHBOARD_TLS_KEY_FILE (PEM; a kubernetes.io/tls
//   Secret's tls.crt and tls.key), read once at start;
// - telling the app who is connected: every request gets x-natlens-peer (the TCP peer's address) and x-natlens-tls,
//   with x-natlens-peer-key set to a random key made for this process (NATLENS_DASHBOARD_PEER_KEY in the app's
//   environment). Any such headers the client sent are removed first. The app believes an authenticating proxy's
//   user header only on connections from NATLENS_DASHBOARD_TRUSTED_PROXIES, which it learns this way;
// - a session secret when none is configured: a random one for this process (sessions end when it stops; every
//   replica needs the same NATLENS_DASHBOARD_SESSION_SECRET, so set one in production).
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CONNECTION_HEADERS = ['x-natlens-peer', 'x-natlens-peer-key', 'x-natlens-tls'];

const USAGE = `Usage: node server/serve.mjs [options]   (apps/dashboard/ in a checkout, dist/apps/dashboard/apps/dashboard/ built)

The natlens dashboard: Next.js behind node's HTTP or HTTPS server, with sessions and proxy trust.

Options:
  --port <n>       port to listen on (default PORT, else 3000)
  --hostname <a>   address to listen on (default HOSTNAME, else 0.0.0.0)
  --help           this text

Environment: NATLENS_HUB_URL, NATLENS_HUB_TOKEN, NATLENS_DASHBOARD_SESSION_SECRET, NATLENS_DASHBOARD_TLS_CERT_FILE,
NATLENS_DASHBOARD_TLS_KEY_FILE and the rest in apps/dashboard/README.md.
`;
if (process.argv.includes('--help')) {
  process.stdout.write(USAGE);
  process.exit(0);
}

function argument(name, fallback) {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 && process.argv[index + 1] !== undefined ? process.argv[index + 1] : fallback;
}

function fail(message) {
  process.stderr.write(`natlens dashboard: ${message}\n`);
  process.exit(2);
}

const port = Number(argument('port', process.env.PORT ?? '3000'));
const hostname = argument('hostname', process.env.HOSTNAME ?? '0.0.0.0');
if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`--port ${port} is not a port number`);

const certFile = process.env.NATLENS_DASHBOARD_TLS_CERT_FILE;
const keyFile = process.env.NATLENS_DASHBOARD_TLS_KEY_FILE;
if (Boolean(certFile) !== Boolean(keyFile)) fail('set both NATLENS_DASHBOARD_TLS_CERT_FILE and NATLENS_DASHBOARD_TLS_KEY_FILE, or neither');
let tls;
if (certFile && keyFile) {
  try {
    tls = { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
  } catch (err) {
    fail(`cannot read the TLS certificate or key: ${err.message}`);
  }
}

if (!process.env.NATLENS_DASHBOARD_SESSION_SECRET) {
  process.env.NATLENS_DASHBOARD_SESSION_SECRET = randomBytes(32).toString('base64url');
  process.stderr.write('natlens dashboard: NATLENS_DASHBOARD_SESSION_SECRET is not set; using a random one for this process (sessions end when it stops, and replicas do not share them)\n');
}
const peerKey = randomBytes(24).toString('base64url');
process.env.NATLENS_DASHBOARD_PEER_KEY = peerKey;
// set before Next is loaded: its modules read NODE_ENV when they load
process.env.NODE_ENV = 'production';
const dir = join(dirname(fileURLToPath(import.meta.url)), '..');
// The build is `output: 'standalone'` (next.config.mjs): Next then runs on the configuration the build recorded, as
// the standalone server.js does, rather than loading next.config.mjs (absent from the compiled dist/apps/dashboard).
const serverFiles = join(dir, '.next', 'required-server-files.json');
if (!existsSync(serverFiles)) fail(`${dir} has no build (.next/required-server-files.json): run \`npx nx run dashboard:build\` (or \`npm run build\`)`);
process.env.__NEXT_PRIVATE_STANDALONE_CONFIG = JSON.stringify(JSON.parse(readFileSync(serverFiles, 'utf8')).config);
const { default: next } = await import('next');

const app = next({ dev: false, dir, hostname, port });
await app.prepare();
const handle = app.getRequestHandler();

function withConnectionFacts(req) {
  for (const name of CONNECTION_HEADERS) delete req.headers[name];
  const raw = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if (!CONNECTION_HEADERS.includes(req.rawHeaders[i].toLowerCase())) raw.push(req.rawHeaders[i], req.rawHeaders[i + 1]);
  }
  const facts = { 'x-natlens-peer': req.socket.remoteAddress ?? '', 'x-natlens-peer-key': peerKey, 'x-natlens-tls': req.socket.encrypted ? '1' : '0' };
  for (const [name, value] of Object.entries(facts)) {
    req.headers[name] = value;
    raw.push(name, value);
  }
  req.rawHeaders = raw;
}

const listener = (req, res) => {
  withConnectionFacts(req);
  handle(req, res).catch((err) => {
    process.stderr.write(`natlens dashboard: ${req.method} ${req.url}: ${err?.stack ?? err}\n`);
    if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
    res.end('internal error; see the dashboard log');
  });
};
const server = tls ? createHttpsServer(tls, listener) : createHttpServer(listener);
server.listen(port, hostname, () => {
  const address = server.address();
  process.stdout.write(`natlens dashboard: listening on ${tls ? 'https' : 'http'}://${hostname}:${typeof address === 'object' && address ? address.port : port}\n`);
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    server.close();
    server.closeAllConnections?.();
    process.exit(0);
  });
}
