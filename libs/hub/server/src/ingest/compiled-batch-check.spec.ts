import fc from 'fast-check';
import { type FlowRecord, flowBatchSchema } from '@natlens/shared-model';
import { flowRecord } from '../testing';
import { compileBatchCheck } from './compiled-batch-check';

/*
 * The compiled check must never accept what zod refuses, and what it accepts must become exactly zod's result: checked
 * on well-formed batches and on batches with one to three fields deleted, replaced by values of the wrong type, near
 * a limit (lengths of strings with astral characters, ports, safe integers, Kubernetes names with slashes, dots,
 * capitals) or joined by keys the schema does not know.
 */

const check = compileBatchCheck(flowBatchSchema);

const records: FlowRecord[] = [
  flowRecord(),
  { ...flowRecord({ client: '203.0.113.250', verdict: 'proxied' }), realClient: { ip: '198.51.100.9', port: 40000 } },
  { ...flowRecord({ verdict: 'dropped-nat-failure' }), natFailure: { reason: 'nat-port-exhausted', kernelReason: 'NETFILTER_DROP', observed: true }, zone: 7 },
  { ...flowRecord({ clientKind: 'pod' }), client: { ip: '198.19.1.12', kind: 'pod', name: 'default/web-2' }, counters: { original: { packets: 3, bytes: 180 } }, state: 'ESTABLISHED', ended: false },
  { ...flowRecord({ leg: 'forwarded' }), entryNode: 'node3', original: { src: '2001:db8::1', sport: 443, dst: '2001:db8::2', dport: 8443, proto: 'tcp' } },
];

/** Every path into a record where a value sits (objects included), to aim mutations at. */
function pathsOf(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (typeof value !== 'object' || value === null) return [prefix];
  const own = Object.entries(value as Record<string, unknown>).flatMap(([key, child]) => pathsOf(child, [...prefix, key]));
  return prefix.length === 0 ? own : [prefix, ...own];
}

const nameLike = (maxLength: number) => fc.string({ unit: fc.constantFrom('a', 'z', '0', '9', '-', '.', '/', 'A', '_'), maxLength });
const awkward: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(undefined), // deletes the key
  fc.constantFrom(null, true, 0, -1, 1.5, 65535, 65536, 2 ** 53 - 1, 2 ** 53, '', 'tcp', 'entry', 'nodePort', 'Local', '198.51.100.7', '::1', '300.1.1.1'),
  fc.integer({ min: -5, max: 70_000 }),
  fc.double(),
  nameLike(70),
  fc.constantFrom(63, 64, 127, 128, 129, 252, 253, 254, 316, 317, 318).chain((n) => fc.constantFrom('a'.repeat(n), `${'a'.repeat(Math.min(n, 63))}/${'b'.repeat(Math.max(1, n - 64))}`, `x.${'a'.repeat(n)}`)),
  fc.string({ unit: 'binary', maxLength: 140 }),
  fc.constantFrom(16, 32, 33, 64, 65, 127, 128, 129).map((n) => '😀'.repeat(Math.ceil(n / 2)).slice(0, n)),
  fc.oneof(fc.ipV4(), fc.ipV6(), fc.ipV4Extended()),
  fc.array(fc.integer(), { maxLength: 2 }),
  fc.dictionary(fc.constantFrom('src', 'ip', 'kind', 'extra'), fc.oneof(fc.string(), fc.integer()), { maxKeys: 3 }),
);

type Mutation = { record: number; path: number; value: unknown; unknownKey: boolean };
const mutation: fc.Arbitrary<Mutation> = fc.record({ record: fc.nat(), path: fc.nat(), value: awkward, unknownKey: fc.boolean() });

function mutated(base: FlowRecord[], mutations: Mutation[]): unknown {
  const batch = JSON.parse(JSON.stringify({ node: 'node1', sentAt: 1_700_000_000_000, records: base })) as { records: Record<string, unknown>[] };
  for (const m of mutations) {
    const record = batch.records[m.record % batch.records.length] as Record<string, unknown>;
    const paths = pathsOf(record);
    const path = paths[m.path % paths.length] as (string | number)[];
    let holder: Record<string | number, unknown> = record;
    for (const key of path.slice(0, -1)) holder = holder[key] as Record<string | number, unknown>;
    const last = path[path.length - 1] as string | number;
    if (m.unknownKey && typeof holder[last] === 'object' && holder[last] !== null && !Array.isArray(holder[last])) (holder[last] as Record<string, unknown>).fromTheFuture = m.value ?? 1;
    else if (m.value === undefined) delete holder[last];
    else holder[last] = m.value;
  }
  return batch;
}

function agrees(body: unknown): void {
  const forCheck = structuredClone(body);
  const parsed = flowBatchSchema.safeParse(structuredClone(body));
  const accepted = check(forCheck);
  expect({ accepted, issues: parsed.success ? [] : parsed.error.issues.slice(0, 1) }).toEqual({ accepted: parsed.success, issues: accepted ? [] : expect.anything() });
  if (accepted && parsed.success) expect(forCheck).toEqual(parsed.data);
}

describe('compileBatchCheck (the flow batch)', () => {
  it('accepts well-formed batches and leaves them as zod returns them (defaults filled in)', () => {
    const body = JSON.parse(JSON.stringify({ node: 'node1', sentAt: 1_700_000_000_000, records }));
    const { zone: _zone, ...noZone } = records[0] as FlowRecord;
    body.records.push(noZone);
    agrees(body);
    expect(check(body)).toBe(true);
    expect(body.records.at(-1).zone).toBe(0);
  });

  it('removes keys the schema does not declare, at every level', () => {
    const body = { node: 'node1', sentAt: 1, records: [{ ...records[1], later: 1, service: { ...records[1]?.service, tier: 'gold' }, realClient: { ip: '198.51.100.9', via: 'xff' } }], v: 2 };
    agrees(body);
    expect(check(body)).toBe(true);
    expect(JSON.stringify(body)).not.toMatch(/later|tier|via|"v"/);
  });

  it('counts string lengths in code points, as zod does', () => {
    const body = (state: string) => ({ node: 'node1', sentAt: 1, records: [{ ...records[0], state }] });
    for (const n of [16, 17, 32, 33]) agrees(body('😀'.repeat(n))); // 2 UTF-16 units each
    expect(check(body('😀'.repeat(32)))).toBe(true);
    expect(check(body('😀'.repeat(33)))).toBe(false);
  });

  it.each([
    ['default/web-2', true],
    ['web-2', true],
    ['node1.example', true],
    ['a/b/c', false],
    ['/web', false],
    ['Default/web', false],
    [`${'a'.repeat(63)}/${'b'.repeat(253)}`, true],
    [`${'a'.repeat(64)}/b`, false],
    [`a/${'b'.repeat(254)}`, false],
    ['a'.repeat(253), true],
    ['a'.repeat(254), false],
  ])('a client name %s: accepted %s, as zod says', (name, expected) => {
    const body = { node: 'node1', sentAt: 1, records: [{ ...records[3], client: { ip: '198.19.1.12', kind: 'pod', name } }] };
    agrees(body);
    expect(check(structuredClone(body))).toBe(expected);
  });

  it('agrees with zod on batches with one to three fields changed, deleted or added', () => {
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), (mutations) => agrees(mutated(records, mutations))),
      { numRuns: 4000 },
    );
  });

  it('agrees with zod on bodies that are not batches at all', () => {
    fc.assert(fc.property(fc.jsonValue(), (value) => agrees({ node: 'node1', sentAt: 1, records: [value] })), { numRuns: 500 });
    fc.assert(fc.property(fc.jsonValue(), (value) => agrees(value)), { numRuns: 500 });
  });
});
