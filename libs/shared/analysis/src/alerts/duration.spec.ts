import fc from 'fast-check';
import { formatDuration, parseDuration } from './duration';

describe('parseDuration', () => {
  it.each([
    ['0', 0],
    ['1500', 1500],
    ['500ms', 500],
    ['30s', 30_000],
    ['10m', 600_000],
    ['1h30m', 5_400_000],
    ['1.5s', 1500],
    ['2d', 172_800_000],
    [' 5s ', 5000],
    [250, 250],
  ] as const)('%p → %p ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', 'm', '10x', '5 m', '-5s', 's5', '1h 30m', 'ten minutes'])('%p is not a duration', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY])('number %p is not a duration', (n) => {
    expect(parseDuration(n)).toBeUndefined();
  });

  it('round-trips every whole number of milliseconds through formatDuration', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 10 * 86_400_000 }), (ms) => parseDuration(formatDuration(ms)) === ms));
  });

  it('never throws and never returns a negative or fractional number for any text', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        const ms = parseDuration(text);
        return ms === undefined || (Number.isInteger(ms) && ms >= 0);
      }),
    );
  });
});
