import { RANGE_PARAMS } from './time-range';

type Params = { get(name: string): string | null; forEach?(cb: (value: string, key: string) => void): void };

/** A link to `path` that keeps the current time range (and nothing else) from `params`. */
export function withRange(path: string, params: Params, extra: Record<string, string | undefined> = {}): string {
  const out = new URLSearchParams();
  for (const key of RANGE_PARAMS) {
    const value = params.get(key);
    if (value !== null && value !== '') out.set(key, value);
  }
  for (const [key, value] of Object.entries(extra)) if (value !== undefined && value !== '') out.set(key, value);
  const query = out.toString();
  return query ? `${path}?${query}` : path;
}

/** The current parameters with some replaced or (undefined/empty) removed. */
export function replaceParams(current: URLSearchParams | { toString(): string }, changes: Record<string, string | undefined>): string {
  const out = new URLSearchParams(current.toString());
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined || value === '') out.delete(key);
    else out.set(key, value);
  }
  const query = out.toString();
  return query ? `?${query}` : '';
}
