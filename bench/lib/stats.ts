/*
 * Figures over repeated runs: min, median and max (the shared machines are noisy, so benches quote the median and
 * the spread rather than one run).
 */
export interface Spread {
  min: number;
  median: number;
  max: number;
  runs: number;
}

export function spread(values: readonly number[], digits = 4): Spread {
  if (values.length === 0) throw new Error('spread: no values');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  const r = (n: number) => Number(n.toFixed(digits));
  return { min: r(sorted[0] as number), median: r(median), max: r(sorted[sorted.length - 1] as number), runs: sorted.length };
}

/** `0.41 / 0.45 / 0.62` (min / median / max) with a unit and a number of digits. */
export function showSpread(s: Spread, digits: number, unit = ''): string {
  return `${s.min.toFixed(digits)} / ${s.median.toFixed(digits)} / ${s.max.toFixed(digits)}${unit}`;
}
