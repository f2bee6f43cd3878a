import { flowRecord } from '../testing';
import { fieldPath, validateBatch } from './batch-validation';

describe('validateBatch', () => {
  const good = flowRecord();

  it('accepts a well-formed batch', () => {
    const sut = validateBatch({ node: 'node1', sentAt: 1, records: [good] });
    expect(sut).toEqual({ ok: true, batch: { node: 'node1', sentAt: 1, records: [good] } });
  });

  it.each([
    ['an array', [good], /must be a JSON object/],
    ['null', null, /must be a JSON object/],
    ['no node', { sentAt: 1, records: [] }, /^field node:/],
    ['records not an array', { node: 'n', sentAt: 1, records: {} }, /^field records:/],
    ['a bad address in record 2', { node: 'n', sentAt: 1, records: [good, good, { ...good, original: { ...good.original, src: '300.1.1.1' } }] }, /^record 2, field records\[2\]\.original\.src:/],
    ['a wrong type in record 0', { node: 'n', sentAt: 1, records: [{ ...good, firstSeen: 'yesterday' }] }, /^record 0, field records\[0\]\.firstSeen:/],
    ['an unknown verdict', { node: 'n', sentAt: 1, records: [{ ...good, verdict: 'masqueraded' }] }, /^record 0, field records\[0\]\.verdict:/],
    ['an unknown field', { node: 'n', sentAt: 1, records: [{ ...good, colour: 'red' }] }, /^record 0, field records\[0\]:.*colour/],
  ])('rejects %s', (_name, body, message) => {
    const sut = validateBatch(body);
    expect(sut.ok).toBe(false);
    if (!sut.ok) {
      expect(sut.message).toMatch(message);
      expect(sut.message).toMatch(/nothing of it was stored|JSON object/);
    }
  });

  it.each([
    [['records', 3, 'original', 'src'], 'records[3].original.src'],
    [['node'], 'node'],
    [[], ''],
  ])('fieldPath(%j) = %s', (path, expected) => {
    expect(fieldPath(path)).toBe(expected);
  });
});
