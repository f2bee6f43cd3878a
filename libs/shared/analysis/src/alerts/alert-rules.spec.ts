import fc from 'fast-check';
import { AlertRulesError, alertOverridesFromAnnotations, DEFAULT_ALERT_RULES, effectiveAlertRules, parseAlertRulesFile } from './alert-rules';

describe('parseAlertRulesFile', () => {
  it('reads overrides with Prometheus durations', () => {
    const sut = parseAlertRulesFile('rules:\n  LoadImbalance: {threshold: 1.5, for: 2m, severity: critical}\n  UnexpectedSNAT: {enabled: false}\n');
    expect(sut).toEqual({ LoadImbalance: { threshold: 1.5, forMs: 120_000, severity: 'critical' }, UnexpectedSNAT: { enabled: false } });
  });

  it('takes an empty file as no overrides', () => {
    expect(parseAlertRulesFile('')).toEqual({});
  });

  it('lists every problem, not only the first', () => {
    let error: AlertRulesError | undefined;
    try {
      parseAlertRulesFile('rules:\n  LoadImbalance: {threshold: -1, for: soon}\n  Bogus: {}\n  UnexpectedSNAT: {severity: page, colour: red}\n', 'rules.yaml');
    } catch (err) {
      error = err as AlertRulesError;
    }
    expect(error).toBeInstanceOf(AlertRulesError);
    const text = error?.problems.join('\n') ?? '';
    expect(error?.problems.length).toBeGreaterThanOrEqual(5);
    for (const part of ['rules.LoadImbalance.threshold', 'rules.LoadImbalance.for', 'Bogus', 'rules.UnexpectedSNAT.severity', 'colour']) expect(text).toContain(part);
    expect(error?.message).toContain('rules.yaml');
  });

  it('rejects text that is not YAML with a clear error', () => {
    expect(() => parseAlertRulesFile('rules: {LoadImbalance: [', 'f.yaml')).toThrow(/f\.yaml: invalid alert rules[\s\S]*not valid YAML/);
  });

  it('either parses or throws AlertRulesError for any text', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        try {
          parseAlertRulesFile(text);
          return true;
        } catch (err) {
          return err instanceof AlertRulesError;
        }
      }),
    );
  });
});

describe('alertOverridesFromAnnotations', () => {
  it.each([
    [{ 'natlens.io/alert.LoadImbalance.threshold': '1.5' }, { LoadImbalance: { threshold: 1.5 } }, 0],
    [{ 'natlens.io/alert.LoadImbalance.for': '30s' }, { LoadImbalance: { forMs: 30_000 } }, 0],
    [{ 'natlens.io/alert.UnexpectedSNAT.enabled': 'false' }, { UnexpectedSNAT: { enabled: false } }, 0],
    [{ 'natlens.io/alert.HealthCheckMismatch.severity': 'info' }, { HealthCheckMismatch: { severity: 'info' } }, 0],
    [{ 'natlens.io/alert.LoadImbalance.minConnections': '10' }, { LoadImbalance: { minConnections: 10 } }, 0],
    [{ 'natlens.io/expect-client-ip': 'true', 'app.kubernetes.io/name': 'web' }, {}, 0],
    [{ 'natlens.io/alert.LoadImbalance.threshold': 'high' }, { LoadImbalance: {} }, 1],
    [{ 'natlens.io/alert.LoadImbalance.for': 'a while' }, { LoadImbalance: {} }, 1],
    [{ 'natlens.io/alert.Nope.threshold': '1' }, {}, 1],
    [{ 'natlens.io/alert.LoadImbalance.colour': 'red' }, { LoadImbalance: {} }, 1],
    [{ 'natlens.io/alert.UnexpectedSNAT.enabled': 'yes' }, { UnexpectedSNAT: {} }, 1],
  ])('%p → %p with %p problem(s)', (annotations, overrides, problems) => {
    const sut = alertOverridesFromAnnotations(annotations);
    expect(sut.overrides).toEqual(overrides);
    expect(sut.problems).toHaveLength(problems);
  });

  it('never throws, whatever the annotations', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.oneof(fc.string(), fc.constantFrom('natlens.io/alert.LoadImbalance.threshold', 'natlens.io/alert.LoadImbalance.for', 'natlens.io/alert.x')), fc.string()), (annotations) => {
        const sut = alertOverridesFromAnnotations(annotations);
        return Array.isArray(sut.problems);
      }),
    );
  });
});

describe('effectiveAlertRules', () => {
  it('applies defaults, then the file, then the annotations, field by field', () => {
    const sut = effectiveAlertRules({ LoadImbalance: { threshold: 3, forMs: 60_000 } }, { LoadImbalance: { threshold: 1.5 } });
    expect(sut.LoadImbalance).toEqual({ ...DEFAULT_ALERT_RULES.LoadImbalance, threshold: 1.5, forMs: 60_000 });
    expect(sut.UnexpectedSNAT).toEqual(DEFAULT_ALERT_RULES.UnexpectedSNAT);
  });

  it('has the DESIGN.md defaults', () => {
    expect(DEFAULT_ALERT_RULES.LoadImbalance).toMatchObject({ threshold: 2, forMs: 600_000 });
    expect(DEFAULT_ALERT_RULES.UnexpectedSNAT).toMatchObject({ threshold: 0, forMs: 0 });
  });
});
