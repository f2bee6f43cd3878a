import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flowRecord, startTestHub, type TestHub, TEST_READ_TOKEN } from '../testing';
import type { GenericNotificationBody, PostableAlert } from './alert-payloads';
import { startTestReceiver, type TestReceiver, waitFor } from './testing-receiver';

/*
 * Alerts through a real hub (SQLite file), real ingest and a real HTTP receiver: fire, restart, resolve, deliver
 * exactly once, retry with backoff, Alertmanager's shape, the gauge on /metrics and GET /api/alerts.
 */

const web = { namespace: 'default', name: 'web', policy: 'Local' as const, type: 'LoadBalancer' as const, entry: 'loadBalancer' as const };

function unexpectedSnat(n: number, at = Date.now()) {
  return Array.from({ length: n }, (_, i) => flowRecord({ service: web, seenAs: '198.18.0.11', verdict: 'snat-unexpected', firstSeen: at - i }));
}

describe('alerts (real hub, real receiver)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'natlens-alerts-'));
  let receiver: TestReceiver;
  let hub: TestHub | undefined;
  let cause: NodeJS.Timeout | undefined;
  const config = () => ({
    store: `sqlite://${join(dir, 'natlens.db')}`,
    alertWebhooks: [`${receiver.url}/hook`],
    alertmanagers: [`${receiver.url}/am`],
    alertIntervalMs: 200,
    alertWindowMs: 2000,
    alertResendMs: 60_000,
    dashboardUrl: 'http://dash.example:3000',
  });
  const generic = () => receiver.received.filter((r) => r.path === '/hook').map((r) => r.body as GenericNotificationBody);
  const alertmanager = () => receiver.received.filter((r) => r.path === '/am/api/v2/alerts').map((r) => r.body as PostableAlert[]);
  const read = (path: string) => (hub as TestHub).request('GET', path, { token: TEST_READ_TOKEN });

  beforeAll(async () => {
    receiver = await startTestReceiver();
  });
  afterAll(async () => {
    clearInterval(cause);
    await hub?.close();
    await receiver.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('fires, survives a restart without re-notifying, resolves, and tells each receiver exactly once per transition', async () => {
    hub = await startTestHub(config());
    receiver.failNext(1); // the first delivery fails: the outbox retries it with backoff
    expect((await hub.ingest(unexpectedSnat(5))).status).toBe(200);
    // the cause stays: one more SNAT'd connection every 300 ms (sent to whichever hub is up) until it is removed
    cause = setInterval(() => void hub?.ingest(unexpectedSnat(1)).catch(() => undefined), 300);

    const firing = await waitFor('the firing notification', () => generic().find((b) => b.status === 'firing'));
    expect(receiver.rejected).toBe(1);
    expect(firing).toMatchObject({
      version: 'natlens.alert.v1',
      labels: { alertname: 'UnexpectedSNAT', namespace: 'default', service: 'web', severity: 'critical' },
      alert: { rule: 'UnexpectedSNAT', state: 'firing' },
      link: 'http://dash.example:3000/services/default/web',
    });
    expect(firing.alert.value).toBeGreaterThanOrEqual(5);
    const am = await waitFor('the Alertmanager notification', () => alertmanager()[0]);
    expect(am).toEqual([expect.objectContaining({ labels: firing.labels, startsAt: new Date(firing.alert.firedAt ?? 0).toISOString(), generatorURL: 'http://dash.example:3000/services/default/web' })]);
    expect(Date.parse(am[0]?.endsAt ?? '')).toBeGreaterThan(Date.now() + 60_000);

    const listed = await read('/api/alerts');
    expect(listed.status).toBe(200);
    expect(listed.body.alerts).toEqual([expect.objectContaining({ key: 'UnexpectedSNAT|default/web', state: 'firing', severity: 'critical' })]);
    expect(listed.body.history.map((h: { transition: string }) => h.transition)).toEqual(['firing']);
    expect(listed.body.rules.LoadImbalance).toMatchObject({ threshold: 2, for: '10m' });
    expect((await read('/metrics')).body).toMatch(/natlens_alerts\{alertname="UnexpectedSNAT",namespace="default",service="web",severity="critical",alertstate="firing"\} 1/);

    // restart while firing, traffic still in the window: still firing, nobody told again
    await hub.close();
    hub = await startTestHub(config());
    await new Promise((r) => setTimeout(r, 1500));
    expect((await read('/api/alerts')).body.alerts[0]).toMatchObject({ state: 'firing' });
    expect(generic()).toHaveLength(1);

    // the cause goes away: no new SNAT'd connection for longer than the window
    clearInterval(cause);
    const resolved = await waitFor('the resolved notification', () => generic().find((b) => b.status === 'resolved'));
    expect(resolved.alert).toMatchObject({ state: 'resolved', firedAt: firing.alert.firedAt });
    const amResolved = await waitFor('Alertmanager resolution', () => alertmanager().find((a) => Date.parse(a[0]?.endsAt ?? '') <= Date.now()));
    expect(amResolved[0]?.labels).toEqual(firing.labels);
    await new Promise((r) => setTimeout(r, 1000));
    expect(generic().map((b) => b.status)).toEqual(['firing', 'resolved']);
    expect(alertmanager()).toHaveLength(2);
    expect((await read('/metrics')).body).not.toMatch(/natlens_alerts\{alertname="UnexpectedSNAT"/);
    const after = await read('/api/alerts?service=default/web');
    expect(after.body.alerts).toEqual([expect.objectContaining({ state: 'resolved' })]);
    expect(after.body.history.map((h: { transition: string }) => h.transition)).toEqual(['resolved', 'firing']);
  }, 60_000);

  it('holds a rule with a `for` in pending, and cancels it silently if the cause goes before `for` is over', async () => {
    await hub?.close();
    hub = await startTestHub({ ...config(), store: `sqlite://${join(dir, 'pending.db')}`, alertRules: { UnexpectedSNAT: { forMs: 60_000 } } });
    const before = receiver.received.length;
    await hub.ingest(unexpectedSnat(2));
    const pending = await waitFor('pending', async () => (await read('/api/alerts')).body.alerts.find((a: { state: string }) => a.state === 'pending'));
    expect(pending).toMatchObject({ rule: 'UnexpectedSNAT', state: 'pending' });
    await waitFor('cancellation', async () => ((await read('/api/alerts')).body.alerts.length === 0 ? true : undefined));
    expect((await read('/api/alerts')).body.history.map((h: { transition: string }) => h.transition)).toEqual(['cancelled', 'pending']);
    expect(receiver.received.length).toBe(before);
  }, 30_000);

  it('expires alert history with the rollups (retention)', async () => {
    await hub?.close();
    hub = await startTestHub({ ...config(), store: `sqlite://${join(dir, 'retention.db')}`, alertRules: { UnexpectedSNAT: { forMs: 60_000 } }, retentionIntervalMs: 1000 });
    await hub.ingest(unexpectedSnat(2));
    await waitFor('a pending alert in the history', async () => ((await read('/api/alerts')).body.history.length > 0 ? true : undefined));
    await hub.close();
    // the same store, restarted with a retention the history is already past
    hub = await startTestHub({ ...config(), store: `sqlite://${join(dir, 'retention.db')}`, rollupRetentionMs: 1, retentionIntervalMs: 1000 });
    await waitFor('the history expired', async () => ((await read('/api/alerts')).body.history.length === 0 ? true : undefined));
    expect((await read('/metrics')).body).toMatch(/natlens_hub_retention_deleted_total\{kind="alert-history"\} [1-9]/);
  }, 30_000);

  it('delivers a notification queued before a restart once the receiver is back, and only once', async () => {
    await hub?.close();
    receiver.received.length = 0;
    receiver.rejected = 0;
    const store = { ...config(), store: `sqlite://${join(dir, 'outbox.db')}`, alertmanagers: [] };
    hub = await startTestHub(store);
    receiver.failNext(1000); // the receiver is down
    await hub.ingest(unexpectedSnat(1));
    await waitFor('a failed attempt', () => (receiver.rejected > 0 ? true : undefined));
    await hub.close();
    receiver.failNext(0);
    hub = await startTestHub(store);
    await waitFor('the queued notification', () => generic()[0], 20_000);
    // the one connection leaves the 2 s window meanwhile: resolved follows, after firing, each once
    await waitFor('the resolution', () => generic().find((b) => b.status === 'resolved'), 20_000);
    await new Promise((r) => setTimeout(r, 1000));
    expect(generic().map((b) => [b.alert.rule, b.status])).toEqual([['UnexpectedSNAT', 'firing'], ['UnexpectedSNAT', 'resolved']]);
  }, 40_000);

  it('rejects a bad query with a sentence that names the field', async () => {
    const res = await read('/api/alerts?service=web&limit=0');
    expect(res.status).toBe(400);
    expect(res.body.message).toMatch(/service: expected namespace\/name/);
  });
});
