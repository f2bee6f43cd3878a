import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/*
 * The dashboard served over TLS from certificate files (a CA made in the test with openssl), reading a hub that is
 * itself on TLS (the dashboard trusts its CA through NODE_EXTRA_CA_CERTS), and an authenticating proxy's user header
 * believed only on connections from the configured proxy addresses. The hub runs in this process; each dashboard is
 * its own server process (server/serve.mjs), as in production.
 */
jest.setTimeout(300_000);

type DemoStackModule = typeof import('@natlens/dashboard-launcher');
type RunningHub = import('@natlens/hub-server').RunningHub;
type Pki = ReturnType<typeof import('@natlens/shared-auth/testing').makeTestPki>;

const readToken = randomBytes(24).toString('hex');
const ingestToken = randomBytes(24).toString('hex');
let workDir: string;
let pki: Pki;
let hub: RunningHub;
const dashboards: InstanceType<DemoStackModule['DashboardProcess']>[] = [];

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTPS request, the CA given (or none: Node's default roots only). */
function send(url: string, options: { method?: string; headers?: Record<string, string>; body?: string; ca?: string; firstChunkOnly?: boolean } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { method: options.method ?? 'GET', headers: options.headers ?? {}, ...(options.ca ? { ca: options.ca } : {}) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
        if (options.firstChunkOnly && /event: status/.test(body)) {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
          res.destroy();
        }
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

async function startDashboard(env: Record<string, string>): Promise<string> {
  const stack = await import('@natlens/dashboard-launcher');
  const pino = (await import('pino')).default;
  const dashboard = new stack.DashboardProcess(workDir, pino({ level: 'warn' }));
  dashboards.push(dashboard);
  return dashboard.start({ port: 0, hubUrl: hub.url, hubToken: readToken, env });
}

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'natlens-dashboard-tls-'));
  const testing = await import('@natlens/shared-auth/testing');
  pki = testing.makeTestPki();
  const hubCert = pki.issue('hub');
  const hubApp = await import('@natlens/hub-server');
  hub = await hubApp.startHub(
    hubApp.hubConfigSchema.parse({ store: 'sqlite::memory:', port: 0, host: '127.0.0.1', ingestTokens: [ingestToken], readTokens: [readToken], tls: { cert: hubCert.cert, key: hubCert.key }, logLevel: 'warn' }),
  );
}, 300_000);

afterAll(async () => {
  for (const dashboard of dashboards) await dashboard.stop();
  await hub?.close();
  pki?.dispose();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
}, 60_000);

describe('the dashboard over TLS, reading a hub over TLS, behind a trusted proxy', () => {
  let url: string;
  beforeAll(async () => {
    const cert = pki.issue('dashboard');
    url = await startDashboard({
      NATLENS_DASHBOARD_TLS_CERT_FILE: cert.certFile,
      NATLENS_DASHBOARD_TLS_KEY_FILE: cert.keyFile,
      NODE_EXTRA_CA_CERTS: pki.caFile,
      NATLENS_DASHBOARD_PROXY_USER_HEADER: 'X-Forwarded-User',
      NATLENS_DASHBOARD_TRUSTED_PROXIES: '127.0.0.1/32, ::1',
    });
  }, 300_000);

  it('serves https, to clients that trust its CA only', async () => {
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect((await send(`${url}/api/healthz`, { ca: pki.ca })).status).toBe(200);
    await expect(send(`${url}/api/healthz`)).rejects.toThrow(/certificate/i);
    await expect(send(`${url}/api/healthz`, { ca: readFileSync(pki.otherCaFile, 'utf8') })).rejects.toThrow(/certificate/i);
  });

  it('signs in over TLS with a Secure session cookie, checking the token with the TLS hub', async () => {
    const signin = await send(`${url}/api/auth/signin`, { method: 'POST', ca: pki.ca, headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token: readToken, next: '/services' }).toString() });
    expect(signin.status).toBe(303);
    expect(signin.headers['location']).toBe('/services');
    const cookie = String(signin.headers['set-cookie']);
    expect(cookie).toMatch(/^natlens_session=[A-Za-z0-9_-]+; Path=\/; HttpOnly; SameSite=Strict; Secure$/);
    const services = await send(`${url}/api/hub/services`, { ca: pki.ca, headers: { Cookie: cookie.split(';')[0] as string } });
    expect(services.status).toBe(200);
    expect(JSON.parse(services.body)).toMatchObject({ services: [] });
  });

  it("takes the proxy's user from a trusted proxy address, and reads the hub with its own token for them", async () => {
    const asAlice = { 'X-Forwarded-User': 'alice@example.com' };
    expect((await send(`${url}/api/hub/services`, { ca: pki.ca, headers: asAlice })).status).toBe(200);
    const page = await send(`${url}/services`, { ca: pki.ca, headers: asAlice });
    expect(page.status).toBe(200);
    expect(page.body).toContain('alice@example.com');
    // the live relay reaches the TLS hub over wss
    const live = await send(`${url}/api/live`, { ca: pki.ca, headers: asAlice, firstChunkOnly: true });
    expect(live.status).toBe(200);
    expect(live.body).toMatch(/event: status\ndata: \{"connected":true/);
    // no header: anonymous
    expect((await send(`${url}/api/hub/services`, { ca: pki.ca })).status).toBe(401);
  });
});

describe('a proxy header from anyone but the trusted proxies', () => {
  it('is ignored', async () => {
    const url = await startDashboard({ NATLENS_DASHBOARD_PROXY_USER_HEADER: 'X-Forwarded-User', NATLENS_DASHBOARD_TRUSTED_PROXIES: '10.9.9.9', NODE_EXTRA_CA_CERTS: pki.caFile });
    expect(url).toMatch(/^http:\/\//);
    const res = await fetch(`${url}/api/hub/services`, { headers: { 'X-Forwarded-User': 'alice@example.com', 'X-Natlens-Peer': '10.9.9.9' } });
    expect(res.status).toBe(401);
    const page = await fetch(`${url}/services`, { headers: { 'X-Forwarded-User': 'alice@example.com' }, redirect: 'manual' });
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toMatch(/^\/signin\?next=/);
  });
});
