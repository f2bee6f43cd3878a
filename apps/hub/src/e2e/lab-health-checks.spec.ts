import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AlertState, ServiceEvidence } from '@natlens/shared-analysis';
import { labDown, labUp } from '@natlens/lab';
import { type AgentProcess, exampleTopology, readState, startLabAgent, stopAgent, uniqueLabName } from '@natlens/lab/testing';
import { startTestHub, TEST_INGEST_TOKEN, TEST_READ_TOKEN, type TestHub, waitFor } from '@natlens/hub-server/testing';

/*
 * Observed health checks end to end on the real kernel: examples/lb-local.yaml (default/web, Local-policy
 * LoadBalancer, healthCheckNodePort 32122; 2 pods on node1, 1 on node2, none on node3), one `natlens agent` per node
 * probing the health checks every 500 ms and reporting to a hub over its Unix socket. The lab's health-check server
 * answers like kube-proxy. Killing node2's server (by its PID, as lb-local.spec.ts does) must turn node2's observed
 * answer into "no answer" in the evidence within seconds, and fire HealthCheckMismatch after its `for` (2 s here, from
 * a rules file), having been pending first.
 */
const RULES = `
rules:
  HealthCheckMismatch: {for: 2s}
`;
const FOR_MS = 2000;

type Alerts = { alerts: (AlertState & { key: string })[]; history: { rule: string; service: { name: string }; transition: string; at: number }[] };

describe('observed health checks and HealthCheckMismatch on the real kernel (lab → agents → hub)', () => {
  const topology = exampleTopology('lb-local.yaml');
  const name = uniqueLabName('hc');
  const workDir = mkdtempSync(join(tmpdir(), 'natlens-hub-hc-'));
  const agents: AgentProcess[] = [];
  let hub: TestHub | undefined;

  const evidence = async (): Promise<ServiceEvidence> => {
    const res = await (hub as TestHub).request('GET', '/api/services/default/web/evidence', { token: TEST_READ_TOKEN });
    expect(res.status).toBe(200);
    return res.body as ServiceEvidence;
  };
  const observed = async (node: string) => (await evidence()).nodes.find((n) => n.node === node)?.healthCheck?.observed;
  const alerts = async (): Promise<Alerts> => (await (hub as TestHub).request('GET', '/api/alerts?service=default/web&limit=100', { token: TEST_READ_TOKEN })).body as Alerts;
  const mismatch = async () => (await alerts()).alerts.find((a) => a.rule === 'HealthCheckMismatch');

  beforeAll(async () => {
    const summary = await labUp({ ...topology, name }, { healthCheckIntervalMs: 500 });
    const { loadHubConfig } = await import('@natlens/hub-server');
    const rulesFile = join(workDir, 'rules.yaml');
    writeFileSync(rulesFile, RULES);
    const { alertRules } = loadHubConfig({ alertRules: rulesFile }, { NATLENS_HUB_TOKENS: TEST_INGEST_TOKEN }, (p) => readFileSync(p, 'utf8'));
    hub = await startTestHub({ store: `sqlite://${join(workDir, 'natlens.db')}`, socket: join(workDir, 'hub.sock'), inventory: summary.inventory, alertRules, alertIntervalMs: 500, alertWindowMs: 10_000 });
    const tokenFile = join(workDir, 'token');
    writeFileSync(tokenFile, TEST_INGEST_TOKEN);
    const state = readState(name);
    agents.push(
      ...(await Promise.all(
        state.lab.nodes.map((n) =>
          startLabAgent({
            netns: state.netns.nodes[n.name] as string,
            node: n.name,
            inventory: summary.inventory,
            hub: `unix:${join(workDir, 'hub.sock')}`,
            workDir,
            extraArgs: ['--hub-token-file', tokenFile, '--health-check-interval-ms', '500', '--health-check-timeout-ms', '500', '--node-report-interval-ms', '500'],
          }),
        ),
      )),
    );
  }, 120_000);

  afterAll(async () => {
    await Promise.all(agents.map(stopAgent));
    await hub?.close();
    await labDown(name);
    rmSync(workDir, { recursive: true, force: true });
  }, 60_000);

  it('shows each node\'s observed answer beside its endpoints: 200/2, 200/1, 503/0, and no mismatch', async () => {
    const answers = async () => {
      const e = await evidence();
      const byNode = e.nodes.map((n) => [n.node, n.localEndpoints, n.healthCheck?.observed?.httpStatus, n.healthCheck?.observed?.localEndpoints]);
      return byNode.every(([, , status]) => status !== undefined) ? byNode : undefined;
    };
    expect(await waitFor('every node\'s observed health check in the evidence', answers, 20_000)).toEqual([
      ['node1', 2, 200, 2],
      ['node2', 1, 200, 1],
      ['node3', 0, 503, 0],
    ]);
    const e = await evidence();
    expect(e.findings.map((f) => f.code)).not.toContain('health-check-mismatch');
    // probed on each node's own address, as the lab's load balancer does
    const nodes = (await (hub as TestHub).request('GET', '/api/nodes', { token: TEST_READ_TOKEN })).body as { nodes: { node: string; addresses: { address: string }[]; healthChecks: { address: string }[]; proxyHealth?: { httpStatus: number | null } }[] };
    expect(nodes.nodes.map((n) => [n.node, n.healthChecks[0]?.address, n.proxyHealth?.httpStatus, n.addresses.some((a) => a.address === n.healthChecks[0]?.address)])).toEqual([
      ['node1', '198.18.0.11', 200, true],
      ['node2', '198.18.0.12', 200, true],
      ['node3', '198.18.0.13', 200, true],
    ]);
    await new Promise((r) => setTimeout(r, FOR_MS + 1000)); // longer than the rule's `for`: nothing may fire on agreeing answers
    expect(await mismatch()).toBeUndefined();
  });

  it('sees node2 stop answering within seconds of its health-check server dying, and fires HealthCheckMismatch after its `for`', async () => {
    const health = readState(name).processes.find((p) => p.role === 'health' && p.subject === 'node2');
    expect(health?.pid).toBeGreaterThan(0);
    const killedAt = Date.now();
    process.kill(health?.pid as number, 'SIGKILL');

    const failed = await waitFor('node2\'s observed answer to fail', async () => {
      const answer = await observed('node2');
      return answer && answer.httpStatus === null && answer.at > killedAt ? answer : undefined;
    }, 10_000);
    expect(Date.now() - killedAt).toBeLessThan(5000);
    expect(failed).toMatchObject({ httpStatus: null, localEndpoints: null, error: expect.stringMatching(/ECONNREFUSED 198\.18\.0\.12:32122/) });
    expect(await observed('node1')).toMatchObject({ httpStatus: 200, localEndpoints: 2 });
    expect((await evidence()).findings).toContainEqual(expect.objectContaining({ code: 'health-check-mismatch', message: expect.stringMatching(/node2 runs 1 ready endpoint\(s\) but its health check does not answer/) }));

    const firing = await waitFor('HealthCheckMismatch firing for default/web', async () => {
      const alert = await mismatch();
      return alert?.state === 'firing' ? alert : undefined;
    }, 20_000);
    expect(firing.summary).toMatch(/observed: node2 runs 1 ready endpoint\(s\) but its health check does not answer/);
    const history = (await alerts()).history.filter((h) => h.rule === 'HealthCheckMismatch');
    const pendingAt = history.find((h) => h.transition === 'pending')?.at ?? Infinity;
    const firedAt = history.find((h) => h.transition === 'firing')?.at ?? 0;
    expect(pendingAt).toBeGreaterThanOrEqual(killedAt);
    expect(firedAt - pendingAt).toBeGreaterThanOrEqual(FOR_MS);
  });
});
