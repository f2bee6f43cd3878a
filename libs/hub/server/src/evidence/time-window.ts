import { z } from 'zod';
import { formatDuration, type TimeWindow } from '@natlens/shared-analysis';

export const DEFAULT_WINDOW_MS = 3600_000;

const millis = z.coerce.number().int('must be whole milliseconds since the epoch').nonnegative().max(8.64e15, 'must be a date (milliseconds since the epoch)');

export const windowQuerySchema = z.strictObject({ from: millis.optional(), to: millis.optional() });

/** Why a window is too wide, or undefined. Issue 18: a query's cost grows with its window, so the width has a cap. */
export function windowWidthProblem(window: TimeWindow, maxWidthMs: number): string | undefined {
  const width = window.to - window.from;
  if (width <= maxWidthMs) return undefined;
  return `the window from ${window.from} to ${window.to} is ${formatDuration(width)} wide; at most ${formatDuration(maxWidthMs)} (NATLENS_HUB_MAX_QUERY_WINDOW on the hub): ask for a shorter one`;
}

/**
 * `from`/`to` in ms since the epoch; defaults to the hour before now. A reason instead when it is not a window or is
 * wider than `maxWidthMs`.
 */
export function resolveWindow(query: { from?: number; to?: number }, now: number, maxWidthMs: number): TimeWindow | string {
  const to = query.to ?? now;
  const from = query.from ?? to - DEFAULT_WINDOW_MS;
  if (from >= to) return `from (${from}) must be before to (${to}); both are milliseconds since the epoch`;
  return windowWidthProblem({ from, to }, maxWidthMs) ?? { from, to };
}
