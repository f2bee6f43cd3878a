/*
 * The time range every page reads from its URL: `range=15m|1h|6h|24h|7d|30d` (relative to now) or a custom
 * `from`/`to` in milliseconds since the epoch, the unit the hub's API takes.
 */

export const RANGE_PRESETS = [
  { key: '15m', label: 'Last 15 minutes', ms: 15 * 60_000 },
  { key: '1h', label: 'Last hour', ms: 3600_000 },
  { key: '6h', label: 'Last 6 hours', ms: 6 * 3600_000 },
  { key: '24h', label: 'Last 24 hours', ms: 24 * 3600_000 },
  { key: '7d', label: 'Last 7 days', ms: 7 * 24 * 3600_000 },
  { key: '30d', label: 'Last 30 days', ms: 30 * 24 * 3600_000 },
] as const;

export type RangeKey = (typeof RANGE_PRESETS)[number]['key'];
export const DEFAULT_RANGE: RangeKey = '1h';

export type SearchParamsLike = { get(name: string): string | null };

export interface TimeRange {
  /** The preset, or `custom` for an absolute window. */
  key: RangeKey | 'custom';
  from: number;
  to: number;
  label: string;
}

/** Reads `range` or `from`/`to`; anything unreadable falls back to the default preset (and says so in `error`). */
export function parseTimeRange(params: SearchParamsLike, now: number): TimeRange & { error?: string } {
  const from = params.get('from');
  const to = params.get('to');
  if (from !== null || to !== null) {
    const f = Number(from);
    const t = to === null || to === '' ? now : Number(to);
    if (Number.isSafeInteger(f) && Number.isSafeInteger(t) && f >= 0 && f < t) return { key: 'custom', from: f, to: t, label: `${formatInstant(f)} → ${formatInstant(t)}` };
    return { ...preset(DEFAULT_RANGE, now), error: `ignored the custom range from=${from ?? ''} to=${to ?? ''}: expected milliseconds since the epoch with from before to` };
  }
  const key = params.get('range');
  if (key === null) return preset(DEFAULT_RANGE, now);
  const known = RANGE_PRESETS.find((p) => p.key === key);
  if (known) return preset(known.key, now);
  return { ...preset(DEFAULT_RANGE, now), error: `unknown range "${key}"; use one of ${RANGE_PRESETS.map((p) => p.key).join(', ')}` };
}

function preset(key: RangeKey, now: number): TimeRange {
  const p = RANGE_PRESETS.find((r) => r.key === key) ?? RANGE_PRESETS[1];
  return { key: p.key, from: now - p.ms, to: now, label: p.label };
}

/** The URL parameters that carry a range (what links between pages keep). */
export const RANGE_PARAMS = ['range', 'from', 'to'] as const;

export function rangeQuery(range: Pick<TimeRange, 'key' | 'from' | 'to'>): Record<string, string> {
  if (range.key === 'custom') return { from: String(range.from), to: String(range.to) };
  return range.key === DEFAULT_RANGE ? {} : { range: range.key };
}

/** Splits a window into `count` consecutive buckets (for series computed from one query per bucket). */
export function buckets(from: number, to: number, count: number): { from: number; to: number }[] {
  const n = Math.max(1, Math.floor(count));
  const step = (to - from) / n;
  return Array.from({ length: n }, (_, i) => ({ from: Math.round(from + i * step), to: i === n - 1 ? to : Math.round(from + (i + 1) * step) }));
}

/** `2026-11-22 03:00` in UTC: the hub's clock and the operator's logs agree on UTC. */
export function formatInstant(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
}

/** A bucket label short enough for a chart axis: time of day for windows under two days, else the date. */
export function bucketLabel(ms: number, spanMs: number): string {
  const iso = new Date(ms).toISOString();
  return spanMs <= 2 * 24 * 3600_000 ? iso.slice(11, 16) : iso.slice(5, 10);
}

/** Value for an `<input type="datetime-local">` (UTC) and back. */
export function toLocalInput(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16);
}

export function fromLocalInput(value: string): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(value)) return undefined;
  const ms = Date.parse(`${value}:00Z`);
  return Number.isFinite(ms) ? ms : undefined;
}
