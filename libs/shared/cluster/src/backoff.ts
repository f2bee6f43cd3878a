export interface BackoffPolicy {
  /** Delay before the first retry (ms). */
  readonly initialMs: number;
  /** Ceiling of the delay (ms). */
  readonly maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 1000, maxMs: 30_000 };

/**
 * Delay before retry number `failures` (1 for the first): doubling from `initialMs` up to `maxMs`, drawn from
 * [half, full] of that, so the agents of a whole DaemonSet do not reconnect to a restarted API server in step.
 */
export function backoffDelay(failures: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(failures - 1, 0), 30);
  const ceiling = Math.min(policy.maxMs, policy.initialMs * 2 ** exponent);
  return Math.round(ceiling * (0.5 + random() / 2));
}
