import type { AlertName, AlertRule, AlertServiceRef, AlertSignal, AlertState, AlertTransition } from '@natlens/shared-api';

export interface AlertStep {
  /** The state to store; `undefined` when there is nothing to keep (never active, or pending then cancelled). */
  readonly state: AlertState | undefined;
  /** Set when the state changed; `firing` and `resolved` are what receivers are told. */
  readonly transition?: AlertTransition;
}

export interface AlertStepInput {
  readonly rule: AlertName;
  readonly service: AlertServiceRef;
  readonly settings: AlertRule;
  /** `undefined`: the rule does not apply now (disabled, too little traffic): the same as below the threshold. */
  readonly signal: AlertSignal | undefined;
  readonly now: number;
}

/**
 * One evaluation of one alert. Pure, and idempotent for a steady signal: evaluating twice with the same input
 * changes nothing the second time, which is what makes a restart neither lose nor repeat a notification.
 *
 *   inactive/resolved ─(above threshold)→ pending ─(held for `for`)→ firing ─(not above)→ resolved
 *                     └─(above, for = 0)─────────────────────────→ firing
 *   pending ─(not above)→ cancelled (dropped; it never fired, so nobody was told)
 */
export function nextAlertState(previous: AlertState | undefined, input: AlertStepInput): AlertStep {
  const { signal, settings, now } = input;
  const active = signal !== undefined && signal.value > settings.threshold;
  const live = previous && previous.state !== 'resolved' ? previous : undefined;

  if (!active) {
    if (!live) return { state: previous };
    if (live.state === 'pending') return { state: undefined, transition: 'cancelled' };
    return {
      // the measurement that resolved it, so value and summary always describe the same evaluation
      state: { ...live, state: 'resolved', resolvedAt: now, updatedAt: now, ...(signal ? { value: signal.value, summary: signal.summary } : {}) },
      transition: 'resolved',
    };
  }

  const base = { rule: input.rule, service: input.service, severity: settings.severity, threshold: settings.threshold, value: signal.value, summary: signal.summary, updatedAt: now };
  if (!live) {
    if (settings.forMs === 0) return { state: { ...base, state: 'firing', activeSince: now, firedAt: now }, transition: 'firing' };
    return { state: { ...base, state: 'pending', activeSince: now }, transition: 'pending' };
  }
  if (live.state === 'pending' && now - live.activeSince >= settings.forMs) {
    return { state: { ...base, state: 'firing', activeSince: live.activeSince, firedAt: now }, transition: 'firing' };
  }
  return { state: { ...live, ...base, state: live.state } };
}
