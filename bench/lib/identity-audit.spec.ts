import fc from 'fast-check';
import { auditByIdentity, parseTupleLines, type StoredFlow } from './identity-audit';

const frontend = { address: '198.18.0.11', port: 30080 };
const stored = (src: string, sport: number, flowId: string, dst = frontend.address, dport = frontend.port): StoredFlow => ({
  flowId,
  node: 'node1',
  firstSeen: 1,
  original: { src, sport, dst, dport, proto: 'tcp' },
});

describe('parseTupleLines', () => {
  it.each([
    ['one tuple per line', '198.51.100.79:40000\n198.51.100.79:40001\n', ['198.51.100.79:40000', '198.51.100.79:40001']],
    ['blank lines and spaces ignored', '\n 198.51.100.79:1 \n\n', ['198.51.100.79:1']],
    ['an IPv6 source keeps its colons', '2001:db8::1:443\n', ['2001:db8::1:443']],
    ['empty file', '', []],
  ])('%s', (_name, text, expected) => {
    expect(parseTupleLines(text)).toEqual(expected);
  });

  it.each([
    ['no port', '198.51.100.79\n', /line 1: expected src:sport/],
    ['port 0', '198.51.100.79:0\n', /line 1/],
    ['port above 65535', '198.51.100.79:1\n198.51.100.79:70000\n', /line 2/],
    ['no address', ':80\n', /line 1/],
  ])('rejects %s with the line number', (_name, text, message) => {
    expect(() => parseTupleLines(text)).toThrow(message);
  });

  it('on any input, returns well-formed tuples or throws an Error naming the line', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        try {
          for (const t of parseTupleLines(text)) {
            const port = Number(t.slice(t.lastIndexOf(':') + 1));
            expect(Number.isInteger(port) && port >= 1 && port <= 65535 && t.lastIndexOf(':') > 0).toBe(true);
          }
        } catch (err) {
          expect((err as Error).message).toMatch(/^tuples line \d+: expected src:sport/);
        }
      }),
    );
  });
});

describe('auditByIdentity', () => {
  it('finds each connection by its client tuple; a reused tuple needs a record of its own per connection', () => {
    const made = ['198.51.100.79:1000', '198.51.100.79:1001', '198.51.100.79:1001', '198.51.100.79:1002'];
    const sut = auditByIdentity(made, [stored('198.51.100.79', 1000, 'a'), stored('198.51.100.79', 1001, 'b'), stored('198.51.100.79', 1001, 'b'), stored('198.51.100.79', 1003, 'x')], frontend);
    expect(sut).toEqual({
      made: 4,
      found: 2,
      missing: 2,
      missingExamples: ['198.51.100.79:1001', '198.51.100.79:1002'],
      storedForFrontend: 4,
      storedNotMade: 1,
      reusedTuples: 1,
      foundShare: 0.5,
    });
  });

  it('ignores records of other destinations', () => {
    const sut = auditByIdentity(['198.51.100.79:1000'], [stored('198.51.100.79', 1000, 'a', '198.18.0.12')], frontend);
    expect(sut).toMatchObject({ found: 0, missing: 1, storedForFrontend: 0 });
  });

  it('found + missing = made; every connection with its own record is found; one record fewer is one missing', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 200 }), (ports) => {
        const made = ports.map((p) => `198.51.100.79:${p}`);
        const records = ports.map((p, i) => stored('198.51.100.79', p, `conntrack:${i}`));
        const all = auditByIdentity(made, records, frontend);
        expect(all.found).toBe(made.length);
        expect(all.missing).toBe(0);
        const fewer = auditByIdentity(made, records.slice(1), frontend);
        expect(fewer.found + fewer.missing).toBe(made.length);
        expect(fewer.missing).toBe(1);
      }),
    );
  });
});
