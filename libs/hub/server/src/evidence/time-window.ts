import { z } from 'zod';
import type { TimeWindow } from '@natlens/shared-analysis';

export const DEFAULT_WINDOW_MS = 3600_000;

const millis = z.coerce.number().int('must be whole milliseconds since the epoch').nonnegative();

export const windowQuerySchema = z.strictObject({ from: millis.optional(), to: millis.optional() });

/** `from`/`to` in ms since the epoch; defaults to the hour before now. Undefined with a reason when it is not a window. */
export function resolveWindow(query: { from?: number; to?: number }, now: number): TimeWindow | string {
  const to = query.to ?? now;
  const from = query.from ?? to - DEFAULT_WINDOW_MS;
  if (from >= to) return `from (${from}) must be before to (${to}); both are milliseconds since the epoch`;
  return { from, to };
}
