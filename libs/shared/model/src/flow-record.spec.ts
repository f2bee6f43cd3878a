import { flowRecordSchema } from './flow-record';
import { aFlowRecord } from './testing';

describe('flowRecordSchema zone', () => {
  it('reads a record without a zone (an agent from before zones) as the default zone 0', () => {
    const { zone: _zone, ...withoutZone } = aFlowRecord({ zone: 3 });
    expect(flowRecordSchema.parse(withoutZone).zone).toBe(0);
  });

  it.each([
    [0, true],
    [7, true],
    [65535, true],
    [65536, false],
    [-1, false],
    [1.5, false],
    ['7', false],
  ])('zone %j is %s (a u16, as CTA_ZONE carries it)', (zone, valid) => {
    expect(flowRecordSchema.safeParse({ ...aFlowRecord(), zone }).success).toBe(valid);
  });
});
