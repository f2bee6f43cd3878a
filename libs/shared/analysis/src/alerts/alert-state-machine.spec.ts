import { DEFAULT_ALERT_RULES } from './alert-rules';
import { nextAlertState } from './alert-state-machine';
import type { AlertRule, AlertState, AlertTransition } from '@natlens/shared-api';

const service = { namespace: 'default', name: 'web' };
const rule: AlertRule = { ...DEFAULT_ALERT_RULES.LoadImbalance, threshold: 2, forMs: 1000 };
const at = (state: AlertState['state'], activeSince: number, extra: Partial<AlertState> = {}): AlertState => ({
  rule: 'LoadImbalance', service, state, severity: 'warning', value: 3, threshold: 2, summary: 's', activeSince, updatedAt: activeSince, ...extra,
});

describe('nextAlertState', () => {
  it.each<[string, AlertState | undefined, number | undefined, number, AlertState['state'] | undefined, AlertTransition | undefined]>([
    // name, previous, signal value (undefined: rule does not apply), now, next state, transition
    ['never active stays absent', undefined, 1, 100, undefined, undefined],
    ['not applying stays absent', undefined, undefined, 100, undefined, undefined],
    ['at the threshold is not above it', undefined, 2, 100, undefined, undefined],
    ['above the threshold starts pending', undefined, 3, 100, 'pending', 'pending'],
    ['pending before `for` stays pending, silently', at('pending', 100), 3, 1099, 'pending', undefined],
    ['pending held for `for` fires', at('pending', 100), 3, 1100, 'firing', 'firing'],
    ['pending that drops is cancelled', at('pending', 100), 1, 600, undefined, 'cancelled'],
    ['firing stays firing, silently', at('firing', 100, { firedAt: 1100 }), 5, 5000, 'firing', undefined],
    ['firing that drops resolves', at('firing', 100, { firedAt: 1100 }), 1, 5000, 'resolved', 'resolved'],
    ['firing whose rule stops applying resolves', at('firing', 100, { firedAt: 1100 }), undefined, 5000, 'resolved', 'resolved'],
    ['resolved stays resolved, silently', at('resolved', 100, { firedAt: 1100, resolvedAt: 5000 }), 1, 9000, 'resolved', undefined],
    ['resolved that comes back is pending again', at('resolved', 100, { firedAt: 1100, resolvedAt: 5000 }), 3, 9000, 'pending', 'pending'],
  ])('%s', (_name, previous, value, now, state, transition) => {
    const sut = nextAlertState(previous, { rule: 'LoadImbalance', service, settings: rule, signal: value === undefined ? undefined : { value, summary: `v=${value}` }, now });
    expect(sut.state?.state).toBe(state);
    expect(sut.transition).toBe(transition);
  });

  it('fires at once when `for` is 0', () => {
    const sut = nextAlertState(undefined, { rule: 'UnexpectedSNAT', service, settings: DEFAULT_ALERT_RULES.UnexpectedSNAT, signal: { value: 4, summary: '4 snatted' }, now: 42 });
    expect(sut).toEqual({ transition: 'firing', state: expect.objectContaining({ state: 'firing', activeSince: 42, firedAt: 42, value: 4, severity: 'critical' }) });
  });

  it('keeps when it fired and when it became active while firing', () => {
    const sut = nextAlertState(at('firing', 100, { firedAt: 1100 }), { rule: 'LoadImbalance', service, settings: rule, signal: { value: 7, summary: 'now 7' }, now: 9000 });
    expect(sut.state).toMatchObject({ activeSince: 100, firedAt: 1100, value: 7, summary: 'now 7', updatedAt: 9000 });
  });

  it('resolves with the measurement that resolved it, keeping when it fired', () => {
    const sut = nextAlertState(at('firing', 100, { firedAt: 1100 }), { rule: 'LoadImbalance', service, settings: rule, signal: { value: 1.2, summary: 'even again' }, now: 9000 });
    expect(sut.state).toMatchObject({ state: 'resolved', value: 1.2, summary: 'even again', firedAt: 1100, resolvedAt: 9000 });
  });

  it('a new episode after resolution forgets the old one', () => {
    const sut = nextAlertState(at('resolved', 100, { firedAt: 1100, resolvedAt: 5000 }), { rule: 'LoadImbalance', service, settings: { ...rule, forMs: 0 }, signal: { value: 3, summary: 's' }, now: 9000 });
    expect(sut.state).toMatchObject({ state: 'firing', activeSince: 9000, firedAt: 9000 });
    expect(sut.state?.resolvedAt).toBeUndefined();
  });

  it('is idempotent: the same input twice changes nothing the second time', () => {
    const input = { rule: 'LoadImbalance' as const, service, settings: rule, signal: { value: 3, summary: 's' }, now: 2000 };
    const first = nextAlertState(at('pending', 100), input);
    const second = nextAlertState(first.state, input);
    expect(first.transition).toBe('firing');
    expect(second.transition).toBeUndefined();
    expect(second.state).toEqual(first.state);
  });
});
