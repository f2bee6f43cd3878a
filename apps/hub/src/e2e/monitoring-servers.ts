import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/*
 * Real servers for the hub's end-to-end tests, from Debian's packages: Alertmanager (prometheus-alertmanager),
 * Prometheus (prometheus) and NATS with JetStream (nats-server). Each on free ports of 127.0.0.1, with its
 * configuration and data in a temporary directory, ready once its HTTP readiness path answers, stopped by its PID.
 */

export interface TestMonitoringServer {
  /** The HTTP API (for NATS: its monitoring port). */
  readonly url: string;
  readonly pid: number | undefined;
  readonly dir: string;
  /** What the server printed, for failure messages. */
  log(): string;
  /** GET or POST JSON on the server's API; throws on a non-2xx answer. */
  api<T = unknown>(path: string, body?: unknown): Promise<T>;
  /** Stops the server (SIGTERM, then SIGKILL after 10 s) and deletes its directory; safe to call twice. */
  dispose(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function startServer(program: string, what: string, files: Record<string, string>, args: (dir: string, address: string) => string[], readyPath = '/-/ready'): Promise<TestMonitoringServer> {
  const dir = mkdtempSync(join(tmpdir(), `natlens-${what}-`));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const address = `127.0.0.1:${await freePort()}`;
  const url = `http://${address}`;
  let output = '';
  let child: ChildProcess | undefined = spawn(program, args(dir, address), { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const proc = child;
  proc.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  proc.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  proc.once('error', (err) => (output += `\n${program}: ${err.message} (scripts/setup.sh installs it with apt)`));

  const dispose = async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    child = undefined;
    rmSync(dir, { recursive: true, force: true });
  };
  const api = async <T>(path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${url}${path}`, body === undefined ? {} : { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    const text = await res.text();
    if (!res.ok) throw new Error(`${what} ${path}: HTTP ${res.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  };

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      await dispose();
      throw new Error(`${what} exited at start:\n${output.slice(-3000)}`);
    }
    const ready = await fetch(`${url}${readyPath}`).then((r) => r.ok, () => false);
    if (ready) break;
    if (Date.now() > deadline) {
      await dispose();
      throw new Error(`${what} did not answer ${url}${readyPath} within 30 s:\n${output.slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, pid: proc.pid, dir, log: () => output, api, dispose };
}

/**
 * Alertmanager 0.25 with one route grouping by `groupBy` (no receiver integrations: the test reads Alertmanager's
 * own API). Gossip is off (`--cluster.listen-address=`), so it binds nothing but its web port.
 */
export function startTestAlertmanager(options: { groupBy: string[] }): Promise<TestMonitoringServer> {
  const config = [
    'route:',
    '  receiver: tests',
    `  group_by: [${options.groupBy.join(', ')}]`,
    '  group_wait: 1s',
    '  group_interval: 1s',
    '  repeat_interval: 1h',
    'receivers:',
    '  - name: tests',
    '',
  ].join('\n');
  return startServer('prometheus-alertmanager', 'alertmanager', { 'alertmanager.yml': config }, (dir, address) => [
    `--config.file=${join(dir, 'alertmanager.yml')}`,
    `--storage.path=${join(dir, 'data')}`,
    `--web.listen-address=${address}`,
    '--cluster.listen-address=',
    '--log.level=warn',
  ]);
}

/** Prometheus scraping `targets` (job name → host:port list) every `scrapeInterval`, evaluating `rules` (file text). */
export function startTestPrometheus(options: { targets: Record<string, string[]>; rules: string; scrapeInterval: string; evaluationInterval: string }): Promise<TestMonitoringServer> {
  const config = [
    'global:',
    `  scrape_interval: ${options.scrapeInterval}`,
    `  scrape_timeout: ${options.scrapeInterval}`,
    `  evaluation_interval: ${options.evaluationInterval}`,
    'rule_files: [rules.yaml]',
    'scrape_configs:',
    ...Object.entries(options.targets).flatMap(([job, targets]) => [`  - job_name: ${job}`, '    static_configs:', `      - targets: [${targets.map((t) => `'${t}'`).join(', ')}]`]),
    '',
  ].join('\n');
  return startServer('prometheus', 'prometheus', { 'prometheus.yml': config, 'rules.yaml': options.rules }, (dir, address) => [
    `--config.file=${join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=${address}`,
    '--log.level=warn',
  ]);
}

/** nats-server with JetStream (its store in the temporary directory); `natsUrl` for clients, `url` its monitoring. */
export async function startTestNats(): Promise<TestMonitoringServer & { natsUrl: string }> {
  const clientPort = await freePort();
  const server = await startServer(
    'nats-server',
    'nats',
    {},
    (dir, address) => ['-js', '-a', '127.0.0.1', '-p', String(clientPort), '-m', address.split(':')[1] as string, '-sd', dir, '-n', `natlens-test-${clientPort}`],
    '/healthz?js-enabled-only=true',
  );
  return Object.assign(server, { natsUrl: `nats://127.0.0.1:${clientPort}` });
}
