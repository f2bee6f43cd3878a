import type { AlertState } from '@natlens/shared-analysis';
import { LATEST_SCHEMA_VERSION } from '../storage/migrations';
import { alertKey, type AlertRepository } from './alert-repository';

/*
 * The behaviour every AlertRepository must have; run by sqlite-alert.repository.spec.ts and
 * postgres-alert.repository.spec.ts against real databases. `open` returns a fresh, migrated, empty store.
 */

const web = { namespace: 'default', name: 'web' };
const api = { namespace: 'default', name: 'api' };
const firing = (service = web, at = 1000): AlertState => ({
  rule: 'UnexpectedSNAT', service, state: 'firing', severity: 'critical', value: 4, threshold: 0, summary: '4 connections SNATed', activeSince: at, firedAt: at, updatedAt: at,
});

export function alertRepositoryContract(open: () => Promise<AlertRepository>): void {
  let sut: AlertRepository;
  beforeEach(async () => {
    sut = await open();
  });
  afterEach(async () => {
    await sut.close();
  });

  it('migrates idempotently', async () => {
    expect(await sut.migrate()).toBe(LATEST_SCHEMA_VERSION);
    expect(await sut.migrate()).toBe(LATEST_SCHEMA_VERSION);
  });

  it('keeps states exactly as given, optional times included', async () => {
    const pending: AlertState = { rule: 'LoadImbalance', service: api, state: 'pending', severity: 'warning', value: 2.25, threshold: 2, summary: 'uneven', activeSince: 1_700_000_000_123, updatedAt: 1_700_000_000_456 };
    await sut.apply([{ key: alertKey('UnexpectedSNAT', web), state: firing(), transition: 'firing', previousUpdatedAt: null }, { key: alertKey('LoadImbalance', api), state: pending, transition: 'pending', previousUpdatedAt: null }], [], 1000);
    expect(await sut.states()).toEqual([pending, firing()]);
  });

  it('writes history for transitions only, newest first, filtered by Service', async () => {
    const key = alertKey('UnexpectedSNAT', web);
    await sut.apply([{ key, state: firing(), transition: 'firing', previousUpdatedAt: null }], [], 1000);
    await sut.apply([{ key, state: { ...firing(), value: 9, updatedAt: 2000 }, previousUpdatedAt: 1000 }], [], 2000);
    await sut.apply([{ key, state: { ...firing(), state: 'resolved', resolvedAt: 3000, updatedAt: 3000 }, transition: 'resolved', previousUpdatedAt: 2000 }], [], 3000);
    await sut.apply([{ key: alertKey('UnexpectedSNAT', api), state: firing(api, 4000), transition: 'firing', previousUpdatedAt: null }], [], 4000);
    const all = await sut.history({ limit: 10 });
    expect(all.map((h) => [h.service.name, h.transition, h.at])).toEqual([['api', 'firing', 4000], ['web', 'resolved', 3000], ['web', 'firing', 1000]]);
    expect((await sut.history({ limit: 10, service: web })).map((h) => h.transition)).toEqual(['resolved', 'firing']);
    const firstPage = await sut.history({ limit: 2 });
    expect((await sut.history({ limit: 2, beforeId: firstPage[1]?.id })).map((h) => h.at)).toEqual([1000]);
  });

  it('expires old history and long-resolved states, never a firing alert', async () => {
    const key = alertKey('UnexpectedSNAT', web);
    await sut.apply([{ key, state: firing(), transition: 'firing', previousUpdatedAt: null }], [], 1000);
    await sut.apply([{ key, state: { ...firing(), state: 'resolved', resolvedAt: 3000, updatedAt: 3000 }, transition: 'resolved', previousUpdatedAt: 1000 }], [], 3000);
    await sut.apply([{ key: alertKey('UnexpectedSNAT', api), state: firing(api, 2000), transition: 'firing', previousUpdatedAt: null }], [], 2000);
    expect(await sut.deleteExpired(2500)).toEqual({ history: 2, states: 0 });
    expect((await sut.history({ limit: 10 })).map((h) => [h.service.name, h.transition])).toEqual([['web', 'resolved']]);
    expect(await sut.deleteExpired(5000)).toEqual({ history: 1, states: 1 });
    expect((await sut.states()).map((s) => [s.service.name, s.state])).toEqual([['api', 'firing']]);
  });

  it('deletes a cancelled pending alert and records the cancellation', async () => {
    const key = alertKey('LoadImbalance', web);
    const pending: AlertState = { ...firing(), rule: 'LoadImbalance', state: 'pending' };
    delete (pending as { firedAt?: number }).firedAt;
    await sut.apply([{ key, state: pending, transition: 'pending', previousUpdatedAt: null }], ['r1'], 1000);
    await sut.apply([{ key, state: undefined, transition: 'cancelled', previousUpdatedAt: 1000 }], ['r1'], 2000);
    expect(await sut.states()).toEqual([]);
    expect((await sut.history({ limit: 5 })).map((h) => [h.rule, h.transition])).toEqual([['LoadImbalance', 'cancelled'], ['LoadImbalance', 'pending']]);
    expect(await sut.countNotifications()).toBe(0);
  });

  it('hands out each receiver\'s notifications in order: the next once the head has left the queue', async () => {
    const key = alertKey('UnexpectedSNAT', web);
    await sut.apply([{ key, state: firing(), transition: 'firing', previousUpdatedAt: null }], ['generic:http://a'], 1000);
    await sut.apply([{ key, state: { ...firing(), state: 'resolved', resolvedAt: 2000, updatedAt: 2000 }, transition: 'resolved', previousUpdatedAt: 1000 }], ['generic:http://a'], 2000);
    const [head] = await sut.dueNotifications(2000, 10);
    expect(head?.notification.transition).toBe('firing');
    await sut.retryNotification(head?.id ?? -1, 9000, 'HTTP 503');
    expect(await sut.dueNotifications(5000, 10)).toEqual([]); // resolved waits behind its firing
    expect((await sut.dueNotifications(9000, 10)).map((d) => d.notification.transition)).toEqual(['firing']);
    await sut.removeNotification(head?.id ?? -1);
    expect((await sut.dueNotifications(9000, 10)).map((d) => d.notification.transition)).toEqual(['resolved']);
  });

  it('queues firing and resolved notifications once per receiver, and retries them with a later due time', async () => {
    const key = alertKey('UnexpectedSNAT', web);
    await sut.apply([{ key, state: firing(), transition: 'firing', previousUpdatedAt: null }], ['generic:http://a', 'alertmanager:http://b'], 1000);
    const due = await sut.dueNotifications(1000, 10);
    expect(due.map((d) => [d.receiver, d.notification.transition, d.attempts])).toEqual([['generic:http://a', 'firing', 0], ['alertmanager:http://b', 'firing', 0]]);
    expect(due[0]?.notification.alert).toEqual(firing());
    await sut.retryNotification(due[0]?.id ?? -1, 5000, 'connection refused');
    expect((await sut.dueNotifications(4999, 10)).map((d) => d.receiver)).toEqual(['alertmanager:http://b']);
    await sut.removeNotification(due[1]?.id ?? -1);
    expect(await sut.dueNotifications(4999, 10)).toEqual([]);
    expect((await sut.dueNotifications(5000, 10)).map((d) => [d.receiver, d.attempts])).toEqual([['generic:http://a', 1]]);
    expect(await sut.countNotifications()).toBe(1);
  });

  it('skips a change computed from a state that has moved since (another replica evaluated first)', async () => {
    const key = alertKey('UnexpectedSNAT', web);
    // two evaluators both saw no alert and both decided it fires
    const first = await sut.apply([{ key, state: firing(web, 1000), transition: 'firing', previousUpdatedAt: null }], ['generic:http://a'], 1000);
    const second = await sut.apply([{ key, state: firing(web, 1001), transition: 'firing', previousUpdatedAt: null }], ['generic:http://a'], 1001);
    expect([first.length, second.length]).toEqual([1, 0]);
    expect(await sut.states()).toEqual([firing(web, 1000)]);
    expect((await sut.history({ limit: 5 })).length).toBe(1);
    expect(await sut.countNotifications()).toBe(1);
    // and a change from the current state goes through
    const resolved = { ...firing(web, 1000), state: 'resolved' as const, resolvedAt: 5000, updatedAt: 5000 };
    expect(await sut.apply([{ key, state: resolved, transition: 'resolved', previousUpdatedAt: 1000 }], ['generic:http://a'], 5000)).toHaveLength(1);
  });

  it('writes nothing for an empty change list', async () => {
    await sut.apply([], ['r'], 1);
    expect(await sut.history({ limit: 5 })).toEqual([]);
  });
}
