import fc from 'fast-check';
import { z } from 'zod';
import { flowBatchSchema } from '@natlens/shared-model';
import { flowRecord } from '../testing';
import { MAX_UNKNOWN_FIELDS_LISTED, unknownFields } from './unknown-fields';

const schema = z.object({
  name: z.string(),
  spec: z.object({ ports: z.array(z.object({ port: z.number() })), selector: z.record(z.string(), z.string()).optional() }).optional(),
  matrix: z.array(z.array(z.object({ x: z.number() }))),
  either: z.union([z.object({ a: z.number() }), z.object({ b: z.number() })]).nullable(),
});

describe('unknownFields', () => {
  it.each<[string, unknown, { object: string; key: string }[]]>([
    ['nothing unknown', { name: 'a', matrix: [], either: null }, []],
    ['a key at the top', { name: 'a', matrix: [], either: null, colour: 1 }, [{ object: '(top)', key: 'colour' }]],
    ['keys in an optional object and in array items', { name: 'a', spec: { ports: [{ port: 1, tls: true }, { port: 2 }], extra: 1 }, matrix: [], either: null }, [
      { object: 'spec.ports[]', key: 'tls' },
      { object: 'spec', key: 'extra' },
    ]],
    ['items of nested arrays', { name: 'a', matrix: [[{ x: 1, y: 2 }]], either: null }, [{ object: 'matrix[][]', key: 'y' }]],
    // A record's keys are its data and a union's branches are not looked into: the walk stops there, as zod's strip does not reach them either.
    ['a record and a union are leaves', { name: 'a', spec: { ports: [], selector: { app: 'web' } }, matrix: [], either: { a: 1, z: 2 } }, []],
    ['keys that are Object.prototype names', JSON.parse('{"name":"a","matrix":[],"either":null,"__proto__":1,"constructor":2,"toString":3}'), [
      { object: '(top)', key: '__proto__' },
      { object: '(top)', key: 'constructor' },
      { object: '(top)', key: 'toString' },
    ]],
    ['a value of an unexpected shape is not walked', { name: 'a', spec: [{ ports: 1 }], matrix: { x: 1 }, either: null }, []],
  ])('%s', (_, value, expected) => {
    expect(unknownFields(schema, value)).toEqual({ fields: expected, total: expected.length });
  });

  it(`lists at most ${MAX_UNKNOWN_FIELDS_LISTED} and counts them all`, () => {
    const value: Record<string, unknown> = { name: 'a', matrix: [], either: null };
    for (let i = 0; i < 250; i++) value[`k${i}`] = i;
    const sut = unknownFields(schema, value);
    expect(sut.fields).toHaveLength(MAX_UNKNOWN_FIELDS_LISTED);
    expect(sut.total).toBe(250);
  });

  it('finds exactly the keys added anywhere in a flow batch (fast-check)', () => {
    // Objects of a flow batch and where they sit: [path from the batch, path as reported].
    const places: [string[], string][] = [
      [[], '(top)'],
      [['records', '0'], 'records[]'],
      [['records', '1', 'service'], 'records[].service'],
      [['records', '0', 'original'], 'records[].original'],
      [['records', '1', 'translated'], 'records[].translated'],
      [['records', '0', 'client'], 'records[].client'],
      [['records', '1', 'endpoint'], 'records[].endpoint'],
    ];
    const addition = fc.record({ place: fc.integer({ min: 0, max: places.length - 1 }), key: fc.string({ minLength: 1, maxLength: 12 }).map((k) => `x-${k}`) });
    fc.assert(
      fc.property(fc.uniqueArray(addition, { maxLength: 20, selector: (a) => `${a.place}\u0000${a.key}` }), (additions) => {
        const batch = { node: 'node1', sentAt: 1, records: [flowRecord(), flowRecord()] } as unknown as Record<string, unknown>;
        for (const { place, key } of additions) {
          const [path] = places[place] as [string[], string];
          const target = path.reduce<Record<string, unknown>>((object, step) => object[step] as Record<string, unknown>, batch);
          target[key] = 'new';
        }
        const sut = unknownFields(flowBatchSchema, batch);
        const expected = additions.map(({ place, key }) => `${(places[place] as [string[], string])[1]} ${key}`).sort();
        expect(sut.fields.map((f) => `${f.object} ${f.key}`).sort()).toEqual(expected);
        expect(sut.total).toBe(additions.length);
      }),
      { numRuns: 300 },
    );
  });
});
