import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AlertState } from '@natlens/shared-analysis';
import { labDown, labTraffic, labUp, parseTopology, type TrafficOptions } from '@natlens/lab';
import { type AgentProcess, readState, startLabAgent, stopAgent, uniqueLabName } from '@natlens/lab/testing';
import type { GenericNotificationBody } from '@natlens/hub-server/testing';
import { startTestReceiver, type TestReceiver, waitFor } from '@natlens/hub-server/testing';
import { startTestHub, TEST_INGEST_TOKEN, TEST_READ_TOKEN, type TestHub } from '@natlens/hub-server/testing';

/*
 * Alerts end to end on the real kernel: one lab, three Services, each with one cause, read by `natlens agent` per
 * node (conntrack) into the hub over its Unix socket:
 *   default/api  Cluster NodePort annotated natlens.io/expect-client-ip: entering node1 SNATs the client → UnexpectedSNAT
 *   default/web  Local LoadBalancer, 3 pods on node1 and 1 on node2 (examples/lb-local-imbalance.yaml) → LoadImbalance
 *                after its `for` (3 s here, by the rules file); its threshold 1.5 comes from a Service annotation,
 *                because this topology's expected max/mean is exactly the default 2 (50% over a mean of 25%)
 *   default/db   Cluster NodePort, its pod on node1, entered on node3 → TrafficToNodeWithoutEndpoints
 * Each cause is then removed (its traffic stops) and the alert resolves once the evaluation window has passed. The hub
 * is restarted while all three fire. A real HTTP receiver must get exactly one firing and one resolved per alert.
 */

const TOPOLOGY = `
name: alerts
nodes: [{name: node1}, {name: node2}, {name: node3}]
pods:
  - {name: web-1, node: node1, labels: {app: web}}
  - {name: web-2, node: node1, labels: {app: web}}
  - {name: web-3, node: node1, labels: {app: web}}
  - {name: web-4, node: node2, labels: {app: web}}
  - {name: api-1, node: node1, labels: {app: api}}
  - {name: db-1, node: node1, labels: {app: db}}
services:
  - name: web
    type: LoadBalancer
    selector: {app: web}
    ports: [{name: http, port: 80, targetPort: 8080, nodePort: 30080}]
    externalTrafficPolicy: Local
    healthCheckNodePort: 32122
    loadBalancer: {mode: forward}
    annotations: {natlens.io/alert.LoadImbalance.threshold: "1.5"}
  - name: api
    type: NodePort
    selector: {app: api}
    ports: [{name: http, port: 80, targetPort: 8080, nodePort: 30081}]
    annotations: {natlens.io/expect-client-ip: "true"}
  - name: db
    type: NodePort
    selector: {app: db}
    ports: [{name: http, port: 80, targetPort: 8080, nodePort: 30082}]
clients: [{name: alice, address: 198.51.100.79}]
`;

const RULES = `
rules:
  LoadImbalance: {for: 3s}
  TrafficToNodeWithoutEndpoints: {for: 1s}
`;

const WINDOW_MS = 8000;

/** Makes connections in a loop until stopped; counts failures (there must be none). */
class TrafficLoop {
  private running = true;
  failed = 0;
  made = 0;
  readonly done: Promise<void>;
  constructor(lab: string, options: TrafficOptions) {
    this.done = (async () => {
      while (this.running) {
        const result = await labTraffic(lab, options);
        this.made += result.made;
        this.failed += result.failed;
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
  }
  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }
}

type Alerts = { alerts: (AlertState & { key: string })[]; history: { rule: string; service: { name: string }; transition: string; at: number }[] };

describe('alerts on the real kernel (lab → agents → hub → webhook)', () => {
  const topology = parseTopology(TOPOLOGY, 'lab-alerts');
  const name = uniqueLabName('alerts');
  const workDir = mkdtempSync(join(tmpdir(), 'natlens-hub-alerts-'));
  const agents: AgentProcess[] = [];
  const loops: TrafficLoop[] = [];
  let receiver: TestReceiver;
  let hub: TestHub | undefined;
  let inventory = '';

  const hubConfig = () => ({
    store: `sqlite://${join(workDir, 'natlens.db')}`,
    socket: join(workDir, 'hub.sock'),
    inventory,
    alertWebhooks: [`${receiver.url}/hook`],
    alertIntervalMs: 500,
    alertWindowMs: WINDOW_MS,
  });
  const startHub = async () => {
    const { loadHubConfig } = await import('@natlens/hub-server');
    // the rules file goes through the same loading and validation as `natlens hub --alert-rules`
    const rulesFile = join(workDir, 'rules.yaml');
    writeFileSync(rulesFile, RULES);
    const { alertRules } = loadHubConfig({ alertRules: rulesFile }, { NATLENS_HUB_TOKENS: TEST_INGEST_TOKEN }, (p) => readFileSync(p, 'utf8'));
    return startTestHub({ ...hubConfig(), alertRules });
  };
  const notifications = () => receiver.received.filter((r) => r.path === '/hook').map((r) => r.body as GenericNotificationBody);
  const told = (rule: string, service: string, status: 'firing' | 'resolved') => notifications().filter((n) => n.alert.rule === rule && n.alert.service.name === service && n.status === status);
  const alerts = async (): Promise<Alerts> => {
    const res = await (hub as TestHub).request('GET', '/api/alerts?limit=1000', { token: TEST_READ_TOKEN });
    expect(res.status).toBe(200);
    return res.body as Alerts;
  };
  const stateOf = async (rule: string, service: string) => (await alerts()).alerts.find((a) => a.rule === rule && a.service.name === service)?.state;

  beforeAll(async () => {
    receiver = await startTestReceiver();
    const summary = await labUp({ ...topology, name });
    inventory = summary.inventory;
    hub = await startHub();
    const tokenFile = join(workDir, 'token');
    writeFileSync(tokenFile, TEST_INGEST_TOKEN);
    const state = readState(name);
    agents.push(
      ...(await Promise.all(
        state.lab.nodes.map((n) =>
          startLabAgent({ netns: state.netns.nodes[n.name] as string, node: n.name, inventory, hub: `unix:${join(workDir, 'hub.sock')}`, workDir, extraArgs: ['--hub-token-file', tokenFile] }),
        ),
      )),
    );
  }, 120_000);

  afterAll(async () => {
    await Promise.all(loops.map((l) => l.stop()));
    await Promise.all(agents.map(stopAgent));
    await hub?.close();
    await receiver?.close();
    await labDown(name);
    rmSync(workDir, { recursive: true, force: true });
  }, 60_000);

  it('fires each alert once, keeps it across a hub restart, and resolves it once its cause is gone', async () => {
    const web = new TrafficLoop(name, { service: 'default/web', via: { kind: 'lb' }, client: 'alice', connections: 60, concurrency: 8 });
    const api = new TrafficLoop(name, { service: 'default/api', via: { kind: 'node', node: 'node1' }, client: 'alice', connections: 10 });
    const db = new TrafficLoop(name, { service: 'default/db', via: { kind: 'node', node: 'node3' }, client: 'alice', connections: 10 });
    loops.push(web, api, db);

    const expected: [rule: string, service: string, cause: TrafficLoop][] = [['UnexpectedSNAT', 'api', api], ['TrafficToNodeWithoutEndpoints', 'db', db], ['LoadImbalance', 'web', web]];
    for (const [rule, service] of expected) await waitFor(`${rule} firing for default/${service}`, () => told(rule, service, 'firing').length > 0 || undefined, 60_000);

    // LoadImbalance waited its `for` in pending before it fired
    const history = (await alerts()).history.filter((h) => h.rule === 'LoadImbalance' && h.service.name === 'web');
    const pendingAt = history.find((h) => h.transition === 'pending')?.at ?? Infinity;
    const firedAt = history.find((h) => h.transition === 'firing')?.at ?? 0;
    expect(firedAt - pendingAt).toBeGreaterThanOrEqual(3000);

    // restart while all three fire: still firing afterwards, nobody told twice
    await (hub as TestHub).close();
    hub = await startHub();
    await new Promise((r) => setTimeout(r, 3000));
    for (const [rule, service] of expected) expect(await stateOf(rule, service)).toBe('firing');

    // remove each cause in turn: only that alert resolves
    for (const [rule, service, cause] of expected) {
      await cause.stop();
      await waitFor(`${rule} resolved for default/${service}`, () => told(rule, service, 'resolved').length > 0 || undefined, WINDOW_MS + 15_000);
      expect(await stateOf(rule, service)).toBe('resolved');
      for (const [other, otherService, otherCause] of expected) if (otherCause !== cause && !told(other, otherService, 'resolved').length) expect(await stateOf(other, otherService)).toBe('firing');
    }
    for (const loop of [web, api, db]) expect([loop.made > 0, loop.failed]).toEqual([true, 0]);

    await new Promise((r) => setTimeout(r, 2000)); // a late duplicate would arrive now
    const byAlert = new Map<string, string[]>();
    for (const n of notifications()) byAlert.set(`${n.alert.rule} ${n.alert.service.namespace}/${n.alert.service.name}`, [...(byAlert.get(`${n.alert.rule} ${n.alert.service.namespace}/${n.alert.service.name}`) ?? []), n.status]);
    expect(Object.fromEntries(byAlert)).toEqual({
      'UnexpectedSNAT default/api': ['firing', 'resolved'],
      'LoadImbalance default/web': ['firing', 'resolved'],
      'TrafficToNodeWithoutEndpoints default/db': ['firing', 'resolved'],
    });
  }, 240_000);
});
