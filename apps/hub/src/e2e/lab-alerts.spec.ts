import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AlertState } from '@natlens/shared-analysis';
import { labDown, labTraffic, labUp, parseTopology, type TrafficOptions } from '@natlens/lab';
import { type AgentProcess, readState, startLabAgent, stopAgent, uniqueLabName } from '@natlens/lab/testing';
import type { GenericNotificationBody } from '@natlens/hub-server/testing';
import { startTestReceiver, type TestReceiver, waitFor } from '@natlens/hub-server/testing';
import { startTestHub, TEST_INGEST_TOKEN, TEST_READ_TOKEN, type TestHub } from '@natlens/hub-server/testing';
import { startTestAlertmanager, type TestMonitoringServer } from './monitoring-servers';

/*
 * Alerts end to end on the real kernel: one lab, three Services, each with one cause (its traffic), read by
 * `natlens agent` per node (conntrack) into the hub over its Unix socket:
 *   default/api  Cluster NodePort annotated natlens.io/expect-client-ip: entering node1 SNATs the client → UnexpectedSNAT
 *   default/web  Local LoadBalancer, 3 pods on node1 and 1 on node2 (examples/lb-local-imbalance.yaml) → LoadImbalance
 *                after its `for` (3 s here, by the rules file); its threshold 1.5 comes from a Service annotation,
 *                because this topology's expected max/mean is exactly the default 2 (50% over a mean of 25%)
 *   default/db   Cluster NodePort annotated natlens.io/expect-client-ip, its pod on node1, entered on node3 →
 *                TrafficToNodeWithoutEndpoints and UnexpectedSNAT: two alerts of one Service
 * Each cause is then removed (its traffic stops) and its alerts resolve once the evaluation window has passed. The hub
 * is restarted while all four fire. A real HTTP receiver must get exactly one firing and one resolved per alert; a real
 * Alertmanager (Debian's prometheus-alertmanager, grouping by namespace and service) must list the firing alerts with
 * natlens's labels and annotations, group them per Service, take a silence of one, and drop each once it resolved.
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
    annotations: {natlens.io/expect-client-ip: "true"}
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

/** Alertmanager API v2 `gettableAlert`, the fields checked here. */
interface AmAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  status: { state: string; silencedBy: string[] };
}
interface AmGroup {
  labels: Record<string, string>;
  alerts: AmAlert[];
}

type Alerts = { alerts: (AlertState & { key: string })[]; history: { rule: string; service: { name: string }; transition: string; at: number }[] };

describe('alerts on the real kernel (lab → agents → hub → webhook and Alertmanager)', () => {
  const topology = parseTopology(TOPOLOGY, 'lab-alerts');
  const name = uniqueLabName('alerts');
  const workDir = mkdtempSync(join(tmpdir(), 'natlens-hub-alerts-'));
  const agents: AgentProcess[] = [];
  const loops: TrafficLoop[] = [];
  let receiver: TestReceiver;
  let alertmanager: TestMonitoringServer | undefined;
  let hub: TestHub | undefined;
  let inventory = '';

  const hubConfig = () => ({
    store: `sqlite://${join(workDir, 'natlens.db')}`,
    socket: join(workDir, 'hub.sock'),
    inventory,
    alertWebhooks: [`${receiver.url}/hook`],
    alertmanagers: [(alertmanager as TestMonitoringServer).url],
    alertIntervalMs: 500,
    alertWindowMs: WINDOW_MS,
    // no periodic re-send during the test: Alertmanager holds exactly what each transition sent (endsAt 40 min ahead)
    alertResendMs: 600_000,
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
  /** The alert's transitions with their times relative to now, oldest first: what a failure message needs. */
  const transitions = async (rule: string, service: string) => {
    const now = Date.now();
    return (await alerts()).history.filter((h) => h.rule === rule && h.service.name === service).map((h) => `${h.transition} ${now - h.at} ms ago`).reverse();
  };
  const stateOf = async (rule: string, service: string) => (await alerts()).alerts.find((a) => a.rule === rule && a.service.name === service)?.state;

  const amAlerts = async () => (alertmanager as TestMonitoringServer).api<AmAlert[]>('/api/v2/alerts');
  const amAlert = async (rule: string, service: string) => (await amAlerts()).find((a) => a.labels['alertname'] === rule && a.labels['service'] === service);

  beforeAll(async () => {
    receiver = await startTestReceiver();
    alertmanager = await startTestAlertmanager({ groupBy: ['namespace', 'service'] });
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
    await alertmanager?.dispose();
    await labDown(name);
    rmSync(workDir, { recursive: true, force: true });
  }, 60_000);

  it('fires each alert once, keeps it across a hub restart, and resolves it once its cause is gone', async () => {
    const web = new TrafficLoop(name, { service: 'default/web', via: { kind: 'lb' }, client: 'alice', connections: 60, concurrency: 8 });
    const api = new TrafficLoop(name, { service: 'default/api', via: { kind: 'node', node: 'node1' }, client: 'alice', connections: 10 });
    const db = new TrafficLoop(name, { service: 'default/db', via: { kind: 'node', node: 'node3' }, client: 'alice', connections: 10 });
    loops.push(web, api, db);

    const expected: [rule: string, service: string, cause: TrafficLoop][] = [
      ['UnexpectedSNAT', 'api', api],
      ['TrafficToNodeWithoutEndpoints', 'db', db],
      ['UnexpectedSNAT', 'db', db],
      ['LoadImbalance', 'web', web],
    ];
    for (const [rule, service] of expected) await waitFor(`${rule} firing for default/${service}`, () => told(rule, service, 'firing').length > 0 || undefined, 60_000);

    // LoadImbalance waited its `for` in pending before it fired
    const history = (await alerts()).history.filter((h) => h.rule === 'LoadImbalance' && h.service.name === 'web');
    const pendingAt = history.find((h) => h.transition === 'pending')?.at ?? Infinity;
    const firedAt = history.find((h) => h.transition === 'firing')?.at ?? 0;
    expect(firedAt - pendingAt).toBeGreaterThanOrEqual(3000);

    // Alertmanager lists each firing alert with natlens's labels and the annotations of the same notification
    for (const [rule, service] of expected) {
      const sent = told(rule, service, 'firing')[0] as GenericNotificationBody;
      const listed = await waitFor(`Alertmanager listing ${rule} default/${service} as active`, async () => {
        const alert = await amAlert(rule, service);
        return alert?.status.state === 'active' ? alert : undefined; // 'unprocessed' until its dispatcher has it
      }, 10_000);
      expect({ labels: listed.labels, annotations: listed.annotations, state: listed.status.state }).toEqual({
        labels: { alertname: rule, namespace: 'default', service, severity: sent.alert.severity },
        annotations: { summary: sent.alert.summary, value: String(sent.alert.value), threshold: String(sent.alert.threshold) },
        state: 'active',
      });
      expect(Date.parse(listed.startsAt)).toBe(sent.alert.firedAt);
    }
    expect((await amAlerts()).length).toBe(expected.length);

    // grouped by Service (route group_by: [namespace, service]): db's two alerts share a group
    const groups = await waitFor('Alertmanager groups', async () => {
      const all = await (alertmanager as TestMonitoringServer).api<AmGroup[]>('/api/v2/alerts/groups');
      return all.reduce((n, g) => n + g.alerts.length, 0) === expected.length ? all : undefined;
    });
    expect(groups.map((g) => ({ labels: g.labels, alerts: g.alerts.map((a) => a.labels['alertname']).sort() })).sort((a, b) => String(a.labels['service']).localeCompare(String(b.labels['service'])))).toEqual([
      { labels: { namespace: 'default', service: 'api' }, alerts: ['UnexpectedSNAT'] },
      { labels: { namespace: 'default', service: 'db' }, alerts: ['TrafficToNodeWithoutEndpoints', 'UnexpectedSNAT'] },
      { labels: { namespace: 'default', service: 'web' }, alerts: ['LoadImbalance'] },
    ]);

    // a silence made in Alertmanager (its API, as amtool or the UI would) silences natlens's alert, and only that one
    const now = Date.now();
    const { silenceID } = await (alertmanager as TestMonitoringServer).api<{ silenceID: string }>('/api/v2/silences', {
      matchers: [
        { name: 'alertname', value: 'UnexpectedSNAT', isRegex: false, isEqual: true },
        { name: 'namespace', value: 'default', isRegex: false, isEqual: true },
        { name: 'service', value: 'api', isRegex: false, isEqual: true },
      ],
      startsAt: new Date(now).toISOString(),
      endsAt: new Date(now + 3600_000).toISOString(),
      createdBy: 'natlens lab-alerts test',
      comment: 'known: default/api is entered on a Cluster-policy node port',
    });
    const silenced = await waitFor('the silence applied', async () => ((await amAlert('UnexpectedSNAT', 'api'))?.status.state === 'suppressed' ? amAlert('UnexpectedSNAT', 'api') : undefined));
    expect(silenced?.status).toEqual(expect.objectContaining({ state: 'suppressed', silencedBy: [silenceID] }));
    expect((await amAlerts()).filter((a) => a.status.state === 'suppressed').map((a) => `${a.labels['alertname']} ${a.labels['service']}`)).toEqual(['UnexpectedSNAT api']);
    expect((await (alertmanager as TestMonitoringServer).api<AmAlert[]>('/api/v2/alerts?silenced=false')).map((a) => `${a.labels['alertname']} ${a.labels['service']}`).sort()).toEqual([
      'LoadImbalance web',
      'TrafficToNodeWithoutEndpoints db',
      'UnexpectedSNAT db',
    ]);

    // restart while all four fire: still firing afterwards, nobody told twice
    await (hub as TestHub).close();
    hub = await startHub();
    await new Promise((r) => setTimeout(r, 3000));
    for (const [rule, service] of expected) expect({ alert: `${rule} default/${service}`, state: await stateOf(rule, service), history: await transitions(rule, service) }).toEqual({ alert: `${rule} default/${service}`, state: 'firing', history: expect.any(Array) });

    // remove each cause in turn: only its alerts resolve, and leave Alertmanager's list
    for (const cause of [api, db, web]) {
      await cause.stop();
      const resolving = expected.filter(([, , c]) => c === cause);
      for (const [rule, service] of resolving) {
        await waitFor(`${rule} resolved for default/${service}`, () => told(rule, service, 'resolved').length > 0 || undefined, WINDOW_MS + 15_000);
        expect({ alert: `${rule} default/${service}`, state: await stateOf(rule, service), history: await transitions(rule, service) }).toEqual({ alert: `${rule} default/${service}`, state: 'resolved', history: expect.any(Array) });
        await waitFor(`${rule} default/${service} gone from Alertmanager's alerts`, async () => (await amAlert(rule, service)) === undefined || undefined, 10_000);
      }
      for (const [other, otherService, otherCause] of expected) if (otherCause !== cause && !told(other, otherService, 'resolved').length) expect(await stateOf(other, otherService)).toBe('firing');
    }
    for (const loop of [web, api, db]) expect([loop.made > 0, loop.failed]).toEqual([true, 0]);
    expect(await amAlerts()).toEqual([]);

    await new Promise((r) => setTimeout(r, 2000)); // a late duplicate would arrive now
    const byAlert = new Map<string, string[]>();
    for (const n of notifications()) byAlert.set(`${n.alert.rule} ${n.alert.service.namespace}/${n.alert.service.name}`, [...(byAlert.get(`${n.alert.rule} ${n.alert.service.namespace}/${n.alert.service.name}`) ?? []), n.status]);
    expect(Object.fromEntries(byAlert)).toEqual({
      'UnexpectedSNAT default/api': ['firing', 'resolved'],
      'LoadImbalance default/web': ['firing', 'resolved'],
      'TrafficToNodeWithoutEndpoints default/db': ['firing', 'resolved'],
      'UnexpectedSNAT default/db': ['firing', 'resolved'],
    });
  }, 300_000);
});
