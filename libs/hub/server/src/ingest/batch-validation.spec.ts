import fc from 'fast-check';
import { dns1035LabelSchema, dns1123LabelSchema, dns1123SubdomainSchema, type FlowBatch } from '@natlens/shared-model';
import { flowRecord } from '../testing';
import { type ClockWindow, fieldPath, validateBatch } from './batch-validation';

const NOW = 1_700_000_100_000;
const window: ClockWindow = { notBefore: NOW - 30 * 24 * 3600_000, notAfter: NOW + 600_000, notBeforeSetting: 'NATLENS_ROLLUP_RETENTION_DAYS', notAfterSetting: 'NATLENS_HUB_MAX_CLOCK_SKEW' };

describe('validateBatch', () => {
  const good = flowRecord();
  const batch = (records: unknown[], extra: Record<string, unknown> = {}) => ({ node: 'node1', sentAt: NOW, records, ...extra });

  it('accepts a well-formed batch', () => {
    const sut = validateBatch(batch([good]), window);
    expect(sut).toEqual({ ok: true, batch: batch([good]), unknownFields: [], unknownFieldCount: 0 });
  });

  it.each([
    ['an array', [good], /must be a JSON object/],
    ['null', null, /must be a JSON object/],
    ['no node', { sentAt: NOW, records: [] }, /^field node:/],
    ['records not an array', { node: 'n', sentAt: NOW, records: {} }, /^field records:/],
    ['a bad address in record 2', batch([good, good, { ...good, original: { ...good.original, src: '300.1.1.1' } }]), /^record 2, field records\[2\]\.original\.src:/],
    ['a wrong type in record 0', batch([{ ...good, firstSeen: 'yesterday' }]), /^record 0, field records\[0\]\.firstSeen:/],
    ['an unknown verdict', batch([{ ...good, verdict: 'masqueraded' }]), /^record 0, field records\[0\]\.verdict:/],
    // issue 18, seen: all three were stored
    ['a 100,000-character Service name', batch([{ ...good, service: { ...good.service, name: 'a'.repeat(100_000) } }]), /^record 0, field records\[0\]\.service\.name: at most 63 characters/],
    ['a namespace containing /', batch([{ ...good, service: { ...good.service, namespace: 'default/x' } }]), /^record 0, field records\[0\]\.service\.namespace: a Kubernetes DNS-1123 label/],
    ['lastSeen = 2^53-1', batch([{ ...good, firstSeen: NOW, lastSeen: Number.MAX_SAFE_INTEGER }]), /^record 0, field records\[0\]\.lastSeen: 9007199254740991 is .*after the hub's clock.*NATLENS_HUB_MAX_CLOCK_SKEW/],
    ['a Service name starting with a digit', batch([{ ...good, service: { ...good.service, name: '1web' } }]), /service\.name: a Kubernetes Service name \(DNS-1035/],
    ['an upper-case pod name', batch([{ ...good, endpoint: { ...good.endpoint, pod: 'Web-1' } }]), /endpoint\.pod: a Kubernetes name \(DNS-1123 subdomain\)/],
    ['a node name of 254 characters', batch([{ ...good, node: 'a'.repeat(254) }], { node: 'a'.repeat(254) }), /^field node: at most 253 characters/],
    ['a client name with two slashes', batch([{ ...good, client: { ...good.client, name: 'a/b/c' } }]), /client\.name: a Kubernetes name, or namespace\/name/],
    ['a 33-character state', batch([{ ...good, state: 'S'.repeat(33) }]), /^record 0, field records\[0\]\.state:/],
    ['a record that ends before it begins', batch([{ ...good, firstSeen: NOW, lastSeen: NOW - 1 }]), /^record 0, field records\[0\]\.lastSeen: .* is before firstSeen/],
    ['a record older than the hub keeps', batch([{ ...good, firstSeen: NOW - 31 * 24 * 3600_000, lastSeen: NOW - 31 * 24 * 3600_000 }]), /firstSeen: .*older than the hub keeps anything.*NATLENS_ROLLUP_RETENTION_DAYS/],
    ['a batch sent from the future', batch([good], { sentAt: NOW + 3600_000 }), /^field sentAt: .*after the hub's clock/],
  ])('rejects %s', (_name, body, message) => {
    const sut = validateBatch(body, window);
    expect(sut.ok).toBe(false);
    if (!sut.ok) {
      expect(sut.message).toMatch(message);
      expect(sut.message).toMatch(/nothing of it was stored|JSON object/);
    }
  });

  it('takes an imported capture of any age, but not one from the future', () => {
    const old = { ...good, firstSeen: 1_500_000_000_000, lastSeen: 1_500_000_000_001 };
    const importWindow: ClockWindow = { notAfter: window.notAfter, notAfterSetting: window.notAfterSetting };
    expect(validateBatch(batch([old]), importWindow).ok).toBe(true);
    expect(validateBatch(batch([{ ...old, lastSeen: NOW + 3600_000 }]), importWindow).ok).toBe(false);
  });

  it('drops and lists fields it does not know, at every level, and keeps the rest', () => {
    const body = batch([{ ...good, colour: 'red', service: { ...good.service, sla: 'gold' } }, { ...good, counters: { original: { packets: 1, bytes: 2, drops: 0 } } }], { agentVersion: '9.9' });
    const sut = validateBatch(body, window);
    expect(sut).toEqual({
      ok: true,
      batch: batch([good, { ...good, counters: { original: { packets: 1, bytes: 2 } } }]),
      unknownFields: [
        { object: 'records[].service', key: 'sla' },
        { object: 'records[]', key: 'colour' },
        { object: 'records[].counters.original', key: 'drops' },
        { object: '(top)', key: 'agentVersion' },
      ],
      unknownFieldCount: 4,
    });
  });

  it('never throws, and whatever it accepts is bounded (fast-check over arbitrary JSON and mutated batches)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (body) => {
        const sut = validateBatch(body, window);
        expect(typeof sut.ok).toBe('boolean');
      }),
      { numRuns: 300 },
    );
    const nameField = fc.constantFrom('node', 'service.namespace', 'service.name', 'endpoint.pod', 'endpoint.node', 'endpoint.namespace', 'client.name', 'entryNode', 'flowId', 'state');
    fc.assert(
      fc.property(nameField, fc.oneof(fc.string({ maxLength: 300 }), fc.stringMatching(/^[a-z0-9./-]{0,300}$/)), (field, value) => {
        const record = structuredClone(good) as unknown as Record<string, Record<string, unknown>>;
        const [outer, inner] = field.split('.') as [string, string | undefined];
        if (inner) (record[outer] as Record<string, unknown>)[inner] = value;
        else (record as Record<string, unknown>)[outer] = value;
        const sut = validateBatch(batch([record], outer === 'node' && !inner ? { node: value } : {}), window);
        if (!sut.ok) return;
        const stored = sut.batch.records[0] as FlowBatch['records'][number];
        expect(JSON.stringify(stored).length).toBeLessThan(4096);
        expect(dns1123SubdomainSchema.safeParse(stored.node).success).toBe(true);
        expect(dns1123LabelSchema.safeParse(stored.service?.namespace).success).toBe(true);
        expect(dns1035LabelSchema.safeParse(stored.service?.name).success).toBe(true);
        expect(dns1123SubdomainSchema.safeParse(stored.endpoint?.pod).success).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it.each([
    [['records', 3, 'original', 'src'], 'records[3].original.src'],
    [['node'], 'node'],
    [[], ''],
  ])('fieldPath(%j) = %s', (path, expected) => {
    expect(fieldPath(path)).toBe(expected);
  });
});
