import type { AlertState } from '@natlens/shared-analysis';
import { alertmanagerBody, genericBody, receiversFrom, retryableStatus, retryDelayMs } from './alert-payloads';

const alert: AlertState = {
  rule: 'UnexpectedSNAT', service: { namespace: 'shop', name: 'web' }, state: 'firing', severity: 'critical', value: 4, threshold: 0, summary: '4 SNATed', activeSince: 1_700_000_000_000, firedAt: 1_700_000_001_000, updatedAt: 1_700_000_001_000,
};

describe('alert payloads', () => {
  it('names receivers by kind and URL; Alertmanager gets its v2 path', () => {
    expect(receiversFrom(['http://hook/x'], ['http://am:9093/'])).toEqual([
      { id: 'generic:http://hook/x', kind: 'generic', url: 'http://hook/x' },
      { id: 'alertmanager:http://am:9093/', kind: 'alertmanager', url: 'http://am:9093/api/v2/alerts' },
    ]);
  });

  it('generic: status, the alert, labels and a dashboard link', () => {
    expect(genericBody({ transition: 'firing', alert }, 'http://dash:3000/')).toEqual({
      version: 'natlens.alert.v1', status: 'firing', alert, labels: { alertname: 'UnexpectedSNAT', namespace: 'shop', service: 'web', severity: 'critical' }, link: 'http://dash:3000/services/shop/web',
    });
  });

  it('Alertmanager: a firing alert ends after the hold time; a resolved one when it resolved', () => {
    const resolved: AlertState = { ...alert, state: 'resolved', resolvedAt: 1_700_000_009_000 };
    const [f, r] = alertmanagerBody([alert, resolved], 1_700_000_002_000, 240_000);
    expect(f).toEqual({
      labels: { alertname: 'UnexpectedSNAT', namespace: 'shop', service: 'web', severity: 'critical' },
      annotations: { summary: '4 SNATed', value: '4', threshold: '0' },
      startsAt: '2023-11-14T22:13:21.000Z',
      endsAt: new Date(1_700_000_242_000).toISOString(),
    });
    expect(r?.endsAt).toBe(new Date(1_700_000_009_000).toISOString());
  });

  it.each([[500, true], [503, true], [408, true], [429, true], [400, false], [404, false], [422, false]])('status %p retryable: %p', (status, retry) => {
    expect(retryableStatus(status)).toBe(retry);
  });

  it.each([[0, 0, 800], [0, 0.999, 1200], [3, 0.5, 8000], [30, 0.5, 300_000]])('attempt %p (random %p) waits %p ms', (attempts, random, ms) => {
    expect(retryDelayMs(attempts, random)).toBeCloseTo(ms, -1);
  });
});
