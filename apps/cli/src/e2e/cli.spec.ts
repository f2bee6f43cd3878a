import { ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseTruthLines, readState, truthDir, truthFileName } from '@natlens/lab';

/*
 * The `natlens` command as a user runs it: the real binary, a real lab in the kernel, the JSON contracts of
 * DESIGN.md ("Command line"). Lab names are unique per run; every lab is removed even when an assertion fails.
 */
const ROOT = join(__dirname, '..', '..', '..', '..');
const BIN = join(ROOT, 'bin', 'natlens');
const exec = promisify(execFile);
const unique = (base: string) => `t${Math.random().toString(36).slice(2, 7)}-${base}`;

async function natlens(...args: string[]): Promise<unknown> {
  const { stdout } = await exec(process.execPath, [BIN, ...args], { cwd: ROOT, maxBuffer: 16 << 20 });
  return JSON.parse(stdout);
}

async function namespaces(prefix: string): Promise<string[]> {
  const { stdout } = await exec('ip', ['netns', 'list']);
  return stdout.split('\n').filter((l) => l.startsWith(`${prefix}-`));
}

describe('natlens lab --json', () => {
  const name = unique('cli');
  afterAll(async () => {
    await exec(process.execPath, [BIN, 'lab', 'down', name], { cwd: ROOT }).catch(() => undefined);
  }, 60_000);

  it('up, traffic, truth and down keep their JSON shapes', async () => {
    const up = (await natlens('lab', 'up', join(ROOT, 'examples', 'nodeport-cluster.yaml'), '--name', name, '--json')) as Record<string, unknown>;
    expect(up).toMatchObject({
      name,
      nodes: [
        { name: 'node1', netns: `${name}-node-node1`, addresses: ['198.18.0.11', '198.19.1.1'] },
        { name: 'node2', netns: `${name}-node-node2`, addresses: ['198.18.0.12', '198.19.2.1'] },
        { name: 'node3', netns: `${name}-node-node3`, addresses: ['198.18.0.13', '198.19.3.1'] },
      ],
      pods: [
        { namespace: 'default', name: 'web-1', node: 'node1', netns: `${name}-pod-default-web-1`, ip: '198.19.1.11' },
        { namespace: 'default', name: 'web-2', node: 'node2', netns: `${name}-pod-default-web-2`, ip: '198.19.2.11' },
      ],
    });
    expect(existsSync(up['inventory'] as string)).toBe(true);
    expect(existsSync(up['truth'] as string)).toBe(true);

    const traffic = await natlens('lab', 'traffic', name, '--service', 'default/web', '--via', 'node2', '--client', 'alice', '--connections', '40', '--json');
    expect(traffic).toMatchObject({ made: 40, succeeded: 40, failed: 0 });
    // all at once, held open before their requests (what exhausts SNAT ports where a node has few)
    const held = await natlens('lab', 'traffic', name, '--service', 'default/web', '--via', 'node2', '--client', 'alice', '--connections', '20', '--hold-ms', '500', '--json');
    expect(held).toMatchObject({ made: 20, succeeded: 20, failed: 0 });
    await expect(exec(process.execPath, [BIN, 'lab', 'traffic', name, '--service', 'default/web', '--via', 'node2', '--connections', '2', '--pairs'], { cwd: ROOT })).rejects.toMatchObject({
      stderr: expect.stringContaining('pairs of queries are for UDP ports; this one is TCP (try --hold-ms)'),
    });

    const truth = (await natlens('lab', 'truth', name, '--json')) as { pod: string; seen: Record<string, number> }[];
    expect(truth.map((p) => p.pod)).toEqual(['web-1', 'web-2']);
    expect(truth.reduce((sum, p) => sum + (p.seen['198.18.0.12'] ?? 0) + (p.seen['198.19.2.1'] ?? 0), 0)).toBe(60);

    expect(await natlens('lab', 'down', name, '--json')).toMatchObject({ removed: expect.arrayContaining([`${name}-edge`]) });
    expect(await namespaces(name)).toEqual([]);
  });

  it('says what is wrong with a bad request instead of crashing', async () => {
    await expect(exec(process.execPath, [BIN, 'lab', 'traffic', 'no-such-lab', '--service', 'a/b', '--via', 'lb'], { cwd: ROOT })).rejects.toMatchObject({
      stderr: expect.stringContaining('no lab named "no-such-lab"'),
    });
  });
});

describe('natlens lab up --proxy-mode nftables', () => {
  const name = unique('nft');
  const dir = mkdtempSync(join(tmpdir(), 'natlens-cli-'));
  afterAll(async () => {
    await exec(process.execPath, [BIN, 'lab', 'down', name], { cwd: ROOT }).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('builds the lab with kube-proxy in nftables mode (the flag over the file) and no KUBE- iptables chains', async () => {
    // the topology asks for iptables; the flag wins
    const topology = join(dir, 'lb-local.yaml');
    writeFileSync(topology, `${readFileSync(join(ROOT, 'examples', 'lb-local.yaml'), 'utf8')}\nkubeProxy: {mode: iptables}\n`);
    const up = (await natlens('lab', 'up', topology, '--name', name, '--proxy-mode', 'nftables', '--json')) as { kubeProxy: { mode: string }; nodes: { netns: string }[] };
    expect(up.kubeProxy).toEqual({ mode: 'nftables' });
    expect(up.nodes).toHaveLength(3);
    for (const node of up.nodes) {
      const { stdout: nat } = await exec('ip', ['netns', 'exec', node.netns, 'iptables-save', '-t', 'nat']);
      expect(nat).not.toMatch(/KUBE-/);
      const { stdout: table } = await exec('ip', ['netns', 'exec', node.netns, 'nft', 'list', 'table', 'ip', 'kube-proxy']);
      expect(table).toMatch(/map service-ips \{/);
    }
    expect(((await natlens('lab', 'list', '--json')) as { name: string; kubeProxy: { mode: string } }[]).find((l) => l.name === name)?.kubeProxy).toEqual({ mode: 'nftables' });
    // the load balancer's health checks, the Local policy and the client address behave as in iptables mode
    const traffic = await natlens('lab', 'traffic', name, '--service', 'default/web', '--via', 'lb', '--client', 'alice', '--connections', '30', '--json');
    expect(traffic).toMatchObject({ made: 30, succeeded: 30, failed: 0, seen: { '198.51.100.79': 30 } });
  });

  it('refuses a mode it does not know', async () => {
    await expect(exec(process.execPath, [BIN, 'lab', 'up', join(ROOT, 'examples', 'lb-local.yaml'), '--proxy-mode', 'ipvs'], { cwd: ROOT })).rejects.toMatchObject({
      stderr: expect.stringContaining('expected iptables or nftables'),
    });
  });
});

describe('natlens demo', () => {
  jest.setTimeout(240_000);
  const name = unique('demo');
  let demo: ChildProcess | undefined;
  afterAll(async () => {
    demo?.kill('SIGKILL');
    await exec(process.execPath, [BIN, 'lab', 'down', name], { cwd: ROOT }).catch(() => undefined);
  }, 60_000);

  it('builds the seed lab with agents and a hub, prints live per-pod counts and the API, and cleans up on Ctrl-C', async () => {
    demo = spawn(process.execPath, [BIN, 'demo', '--name', name, '--hub-port', '0', '--dashboard-port', '0'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    demo.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    demo.stderr?.on('data', () => undefined);
    const deadline = Date.now() + 60_000;
    // wait until web-3 (LB, Local policy) has answered alice's connections with her own address
    while (!/default\/web-3\s+node2\s+198\.51\.100\.79\s+[1-9]/.test(output)) {
      if (Date.now() > deadline) throw new Error(`no live counts after 60 s; output so far:\n${output}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(output).toMatch(/default\/api-\d\s+node\d\s+198\.(18\.0\.1\d|19\.\d\.1)\s+[1-9]/);

    // the hub the demo printed has the agents' evidence, and `natlens explain` shows it
    const hubUrl = /hub API:\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1] as string;
    const token = /NATLENS_HUB_TOKEN=([0-9a-f]+)/.exec(output)?.[1] as string;
    expect(hubUrl).toBeDefined();
    const evidenceOf = async (service: string) =>
      (await (await fetch(`${hubUrl}/api/services/default/${service}/evidence`, { headers: { Authorization: `Bearer ${token}` } })).json()) as { connections: number; snat: { snatted: number }; byVerdict: Record<string, number> };
    const waitUntil = Date.now() + 30_000;
    while ((await evidenceOf('api')).connections === 0 || (await evidenceOf('web')).connections === 0) {
      if (Date.now() > waitUntil) throw new Error('the demo hub got no evidence within 30 s');
      await new Promise((r) => setTimeout(r, 500));
    }
    expect((await evidenceOf('api')).snat.snatted).toBeGreaterThan(0); // Cluster policy: SNAT to the entry node

    // the demo announced its agents ready before its first connection, so every connection the pods saw is recorded:
    // the records that began before T are at least the connections the pods saw before T (a record begins at the
    // SYN, a few ms before the pod notes the request) and at most those seen before T plus one traffic round
    const announced = output.indexOf('agents ready on node1, node2, node3');
    expect(announced).toBeGreaterThanOrEqual(0);
    expect(announced).toBeLessThan(output.indexOf('what each pod saw'));
    const T = Date.now() - 5000;
    // one read of the web pods' ground-truth lines (each request's time `t`), so both bounds come from one snapshot
    const times = readState(name)
      .lab.pods.filter((p) => p.name.startsWith('web-'))
      .flatMap((p) => parseTruthLines(readFileSync(join(truthDir(name), truthFileName(p.namespace, p.name)), 'utf8')).map((line) => line.t));
    const recorded = (await (await fetch(`${hubUrl}/api/services/default/web/evidence?from=${T - 24 * 3_600_000}&to=${T}`, { headers: { Authorization: `Bearer ${token}` } })).json()) as { connections: number };
    expect(recorded.connections).toBeGreaterThanOrEqual(times.filter((t) => t < T).length);
    expect(recorded.connections).toBeLessThanOrEqual(times.filter((t) => t < T + 1500).length);
    expect((await evidenceOf('web')).snat.snatted).toBe(0); // Local policy: the client's address is kept
    // and the dashboard it printed serves the Services page (its first build can take a while on 2 cores)
    const dashboardDeadline = Date.now() + 120_000;
    while (!/dashboard:\s+http:\/\/127\.0\.0\.1:\d+/.test(output)) {
      if (Date.now() > dashboardDeadline) throw new Error(`no dashboard URL within 120 s; output so far:\n${output}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    const dashboardUrl = /dashboard:\s+(http:\/\/127\.0\.0\.1:\d+\S*)/.exec(output)?.[1] as string;
    // anonymous: sent to sign in; with the read token the demo printed: the Services page
    const anonymous = await fetch(dashboardUrl, { redirect: 'manual' });
    expect([anonymous.status, anonymous.headers.get('location')]).toEqual([303, '/signin?next=%2Fservices']);
    const readToken = /read token \(dashboard sign-in\): (\w+)/.exec(output)?.[1] as string;
    const signin = await fetch(new URL('/api/auth/signin', dashboardUrl), { method: 'POST', body: new URLSearchParams({ token: readToken, next: '/services' }), redirect: 'manual' });
    const cookie = /natlens_session=[^;]+/.exec(signin.headers.get('set-cookie') ?? '')?.[0] as string;
    const page = await fetch(dashboardUrl, { headers: { Cookie: cookie }, redirect: 'manual' });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Services');

    const explained = await exec(process.execPath, [BIN, 'explain', 'default/api', '--hub', hubUrl], { cwd: ROOT, env: { ...process.env, NATLENS_HUB_TOKEN: token } });
    expect(explained.stdout).toMatch(/default\/api/);

    const exited = new Promise<number | null>((resolve) => demo?.on('exit', (code) => resolve(code)));
    demo.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(output).toContain(`lab ${name} removed`);
    expect(await namespaces(name)).toEqual([]);
  });
});

describe('natlens import (the compiled build)', () => {
  it('reads a conntrack XML dump past 1 MiB in its worker thread: every flow, and the unclosed tail counted', async () => {
    // A real table (libs/agent/pcap/src/fixtures/README.md) repeated past the worker threshold, then ten unclosed <flow>.
    const fixture = readFileSync(join(ROOT, 'libs', 'agent', 'pcap', 'src', 'fixtures', 'acct-zone-lo.conntrack.xml'), 'utf8');
    const flows = fixture.slice(fixture.indexOf('<flow>'), fixture.lastIndexOf('</conntrack>'));
    const dir = mkdtempSync(join(tmpdir(), 'natlens-import-'));
    try {
      const file = join(dir, 'node3.conntrack.xml');
      writeFileSync(file, `<?xml version="1.0" encoding="utf-8"?>\n<conntrack>\n${flows.repeat(1000)}${'<flow>'.repeat(10)}`);
      const summary = (await natlens('import', file, '--node', 'node3', '--dry-run', '--json')) as Record<string, unknown>;
      expect(summary).toMatchObject({ format: 'conntrack-xml', connections: 3000, records: 3000, invalid: 0, errorCount: 10 });
      expect(summary['bytes']).toBeGreaterThan(1 << 20);
      expect((summary['errors'] as { message: string }[]).at(-1)?.message).toMatch(/<\/flow> before the end of the input/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

