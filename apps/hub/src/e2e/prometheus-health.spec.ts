import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { type AgentProcess, startLabAgent, stopAgent, uniqueLabName } from '@natlens/lab/testing';
import { startTestHub, TEST_INGEST_TOKEN, type TestHub, waitFor } from '@natlens/hub-server/testing';
import { startTestNats, startTestPrometheus, type TestMonitoringServer } from './monitoring-servers';

/*
 * natlens's health rules (deploy/prometheus/natlens-rules.yaml) on a real Prometheus (Debian's) scraping a real hub and
 * a real `natlens agent`: the agent runs in a network namespace this test creates (its conntrack table, empty) and
 * exports to the hub over the hub's Unix socket; the hub also consumes a real NATS JetStream (Debian's nats-server),
 * so its bus metrics are there as in the Helm chart. Its local API is a Unix socket too, which the test relays byte for byte to
 * a TCP port on 127.0.0.1 for Prometheus (nothing of the host's network changes). Both targets must be up, every
 * rule loaded and evaluating, every metric the rules name known to Prometheus, nothing firing while all is well; then
 * the agent is stopped by its PID and NatlensAgentDown must fire. The `for` of every rule is cut to 1 s in this test's
 * copy of the rules (the durations themselves are unit-tested by promtool in deploy/src/rules.spec.ts).
 */

const RULES_FILE = join(__dirname, '..', '..', '..', '..', 'deploy', 'prometheus', 'natlens-rules.yaml');

interface PromRule {
  name: string;
  health: string;
  lastError?: string;
  state: string;
}
interface PromAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: string;
}
type PromResponse<T> = { status: string; data: T };

/** A TCP port on 127.0.0.1 whose connections are piped to a Unix socket. */
async function relayToUnixSocket(socketPath: string): Promise<{ address: string; server: Server }> {
  const server = createServer((client) => {
    const upstream = createConnection(socketPath);
    client.pipe(upstream).pipe(client);
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return { address: `127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`, server };
}

describe('natlens health rules on a real Prometheus scraping a hub and an agent', () => {
  const netns = `${uniqueLabName('prom')}-node1`;
  const workDir = mkdtempSync(join(tmpdir(), 'natlens-prometheus-'));
  const rulesText = readFileSync(RULES_FILE, 'utf8');
  const rules = parse(rulesText) as { groups: { name: string; rules: { alert: string; expr: string; for?: string }[] }[] };
  let hub: TestHub | undefined;
  let agent: AgentProcess | undefined;
  let relay: { address: string; server: Server } | undefined;
  let prometheus: TestMonitoringServer | undefined;
  let nats: Awaited<ReturnType<typeof startTestNats>> | undefined;
  let hubAddress = '';

  const prom = async <T>(path: string): Promise<T> => {
    const body = await (prometheus as TestMonitoringServer).api<PromResponse<T>>(path);
    if (body.status !== 'success') throw new Error(`${path}: ${JSON.stringify(body)}`);
    return body.data;
  };
  const activeAlerts = async () => (await prom<{ alerts: PromAlert[] }>('/api/v1/alerts')).alerts;

  beforeAll(async () => {
    execFileSync('ip', ['netns', 'add', netns]);
    execFileSync('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
    const inventory = join(workDir, 'inventory.json');
    writeFileSync(inventory, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [{ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node1' }, status: { addresses: [{ type: 'InternalIP', address: '198.18.0.11' }] } }] }));
    const tokenFile = join(workDir, 'token');
    writeFileSync(tokenFile, TEST_INGEST_TOKEN);
    nats = await startTestNats();
    hub = await startTestHub({ socket: join(workDir, 'hub.sock'), bus: nats.natsUrl });
    hubAddress = new URL(hub.hub.url).host;
    agent = await startLabAgent({ netns, node: 'node1', inventory, hub: `unix:${join(workDir, 'hub.sock')}`, workDir, extraArgs: ['--hub-token-file', tokenFile, '--source', 'conntrack'] });
    relay = await relayToUnixSocket(agent.apiSocket);
    const quickRules = { groups: rules.groups.map((g) => ({ ...g, rules: g.rules.map((r) => (r.for ? { ...r, for: '1s' } : r)) })) };
    prometheus = await startTestPrometheus({
      targets: { 'natlens-agent': [relay.address], 'natlens-hub': [hubAddress] },
      rules: stringify(quickRules),
      scrapeInterval: '1s',
      evaluationInterval: '1s',
    });
  }, 90_000);

  afterAll(async () => {
    await prometheus?.dispose();
    await new Promise<void>((resolve) => (relay ? relay.server.close(() => resolve()) : resolve()));
    if (agent) await stopAgent(agent);
    await hub?.close();
    await nats?.dispose();
    execFileSync('ip', ['netns', 'del', netns], { stdio: 'ignore' });
    rmSync(workDir, { recursive: true, force: true });
  }, 60_000);

  it('scrapes both, evaluates every rule, fires nothing while all is well, and fires NatlensAgentDown once the agent stops', async () => {
    // both targets up
    const targets = await waitFor('both targets up', async () => {
      const { activeTargets } = await prom<{ activeTargets: { labels: Record<string, string>; health: string; lastError: string }[] }>('/api/v1/targets');
      return activeTargets.length === 2 && activeTargets.every((t) => t.health === 'up') ? activeTargets : undefined;
    }, 30_000);
    expect(targets.map((t) => `${t.labels['job']} ${t.labels['instance']}`).sort()).toEqual([`natlens-agent ${relay?.address}`, `natlens-hub ${hubAddress}`]);

    // every rule loaded and evaluated without error
    const ruleNames = rules.groups.flatMap((g) => g.rules.map((r) => r.alert)).sort();
    const loaded = await waitFor('every rule evaluated', async () => {
      const { groups } = await prom<{ groups: { rules: PromRule[] }[] }>('/api/v1/rules');
      const all = groups.flatMap((g) => g.rules);
      return all.length === ruleNames.length && all.every((r) => r.health !== 'unknown') ? all : undefined;
    }, 30_000);
    expect(loaded.map((r) => ({ name: r.name, health: r.health, lastError: r.lastError ?? '' })).sort((a, b) => a.name.localeCompare(b.name))).toEqual(ruleNames.map((name) => ({ name, health: 'ok', lastError: '' })));

    // every metric the rules name is one the agent or the hub exposes (from their # HELP/# TYPE lines)
    const metadata = await waitFor('metric metadata of both targets', async () => {
      const known = await prom<Record<string, unknown>>('/api/v1/metadata');
      return 'natlens_agent_spool_max_bytes' in known && 'natlens_hub_ingest_batches_total' in known ? known : undefined;
    }, 30_000);
    const named = [...new Set([...rulesText.matchAll(/\bnatlens_[a-z_]+/g)].map((m) => m[0].replace(/_bucket$/, '')))].sort();
    expect(named.filter((metric) => !(metric in metadata))).toEqual([]);
    // the spool rule's ratio evaluates on the agent's real series (an empty spool: 0 of 256 MiB)
    const ratio = await prom<{ result: { value: [number, string] }[] }>(`/api/v1/query?query=${encodeURIComponent('natlens_agent_spool_bytes / natlens_agent_spool_max_bytes')}`);
    expect(ratio.result.map((r) => Number(r.value[1]))).toEqual([0]);

    // a healthy agent and hub: no rule active, after a few more evaluations
    await new Promise((r) => setTimeout(r, 3000));
    expect((await activeAlerts()).map((a) => a.labels['alertname'])).toEqual([]);

    // the agent stops (by its PID): its target goes down and NatlensAgentDown fires for it, nothing else
    await stopAgent(agent as AgentProcess);
    const down = await waitFor('NatlensAgentDown firing', async () => (await activeAlerts()).find((a) => a.labels['alertname'] === 'NatlensAgentDown' && a.state === 'firing'), 30_000);
    expect({ labels: down.labels, summary: down.annotations['summary'] }).toEqual({
      labels: { alertname: 'NatlensAgentDown', job: 'natlens-agent', instance: relay?.address, severity: 'critical' },
      summary: `natlens agent ${relay?.address} is down`,
    });
    expect((await activeAlerts()).map((a) => a.labels['alertname'])).toEqual(['NatlensAgentDown']);
    const firing = await prom<{ result: { metric: Record<string, string> }[] }>(`/api/v1/query?query=${encodeURIComponent('ALERTS{alertstate="firing"}')}`);
    expect(firing.result.map((r) => r.metric['alertname'])).toEqual(['NatlensAgentDown']);
  }, 120_000);
});
