import fc from 'fast-check';
import { parseImportQuery } from './import-query';

describe('parseImportQuery', () => {
  it.each([
    [{ node: 'node1' }, { node: 'node1', format: 'auto', name: 'upload' }],
    [{ node: 'ip-10-0-1-7.eu-west-1.compute.internal', format: 'pcapng', name: 'cap.pcapng' }, { node: 'ip-10-0-1-7.eu-west-1.compute.internal', format: 'pcapng', name: 'cap.pcapng' }],
    [{ node: 'node3', format: 'conntrack', name: '/etc/../secret\u0000.txt' }, { node: 'node3', format: 'conntrack', name: 'secret.txt' }],
  ])('accepts %j', (query, value) => {
    expect(parseImportQuery(query)).toEqual({ ok: true, value });
  });

  it.each([
    [{}, [/node is missing/]],
    [{ node: 'Node_1', format: 'tar' }, [/not a Kubernetes node name/, /format "tar" is not one of auto, pcap, pcapng, conntrack/]],
    [{ node: ['a', 'b'] }, [/node is missing/]],
  ])('names every problem of %j', (query, expected) => {
    const result = parseImportQuery(query);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problems).toEqual(expected.map((re) => expect.stringMatching(re)));
  });

  it('never throws and never lets a bad node through', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom('node', 'format', 'name', 'x'), fc.oneof(fc.string(), fc.constant(undefined), fc.array(fc.string()))), (query) => {
        const result = parseImportQuery(query);
        if (result.ok) {
          expect(result.value.node).toMatch(/^[a-z0-9][-a-z0-9.]*$/);
          expect([...result.value.name].every((c) => c.charCodeAt(0) >= 0x20 && c !== '/' && c !== '\\')).toBe(true);
        }
      }),
    );
  });
});
