import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { CHART_DIR, helmTemplate } from './helm';
import { RULE_CASES, type RuleCase } from './rule-cases';

/*
 * natlens's own health rules (deploy/prometheus/natlens-rules.yaml): `promtool check rules` (Debian's prometheus
 * package), `promtool test rules` for every rule firing and not firing (rule-cases.ts), and the chart's
 * PrometheusRule carrying exactly these rules.
 */

const RULES_FILE = join(__dirname, '..', 'prometheus', 'natlens-rules.yaml');
const CHART_COPY = join(CHART_DIR, 'files', 'natlens-rules.yaml');

interface AlertingRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
const rulesDocument = () => parse(readFileSync(RULES_FILE, 'utf8')) as { groups: { name: string; rules: AlertingRule[] }[] };
const alertingRules = () => rulesDocument().groups.flatMap((g) => g.rules);

function promtool(args: string[], cwd?: string) {
  const result = spawnSync('promtool', args, { encoding: 'utf8', cwd });
  if (result.error) throw new Error(`promtool: ${result.error.message} (scripts/setup.sh installs Debian's prometheus package, which ships it)`);
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** One case as a promtool unit-test file (interval 1m), expecting the rule's runbook text as it stands. */
export function promtoolTest(rulesFile: string, c: RuleCase, runbook: string): string {
  return stringify({
    rule_files: [rulesFile],
    evaluation_interval: '1m',
    tests: [
      {
        interval: '1m',
        input_series: Object.entries(c.series).map(([series, values]) => ({ series, values })),
        alert_rule_test: [
          {
            eval_time: c.evalTime,
            alertname: c.alert,
            exp_alerts: c.firing.map((a) => ({ exp_labels: a.labels, exp_annotations: { summary: a.summary, description: a.description, runbook } })),
          },
        ],
      },
    ],
  });
}

describe('natlens health rules', () => {
  let workDir: string;
  beforeAll(() => {
    workDir = mkdtempSync(join(tmpdir(), 'natlens-rules-'));
  });
  afterAll(() => rmSync(workDir, { recursive: true, force: true }));

  it('pass promtool check rules', () => {
    const rules = alertingRules();
    expect(promtool(['check', 'rules', RULES_FILE])).toEqual({ status: 0, output: expect.stringContaining(`SUCCESS: ${rules.length} rules found`) });
  });

  it('each carry a severity, a summary, a description and a runbook', () => {
    for (const rule of alertingRules()) {
      expect({ alert: rule.alert, severity: rule.labels?.['severity'], annotations: Object.keys(rule.annotations ?? {}).sort() }).toEqual({
        alert: rule.alert,
        severity: expect.stringMatching(/^(critical|warning)$/),
        annotations: ['description', 'runbook', 'summary'],
      });
    }
  });

  it('each have a firing and a not-firing unit case', () => {
    const covered = (firing: boolean) => new Set(RULE_CASES.filter((c) => c.firing.length > 0 === firing).map((c) => c.alert));
    const alerts = alertingRules().map((r) => r.alert);
    expect({ firing: alerts.filter((a) => !covered(true).has(a)), notFiring: alerts.filter((a) => !covered(false).has(a)) }).toEqual({ firing: [], notFiring: [] });
  });

  it.each(RULE_CASES.map((c) => [c.alert, c.name, c] as const))('%s: %s (promtool test rules)', (_alert, _name, c) => {
    const rule = alertingRules().find((r) => r.alert === c.alert);
    if (!rule) throw new Error(`no rule ${c.alert} in ${RULES_FILE}`);
    const file = join(workDir, `${c.alert}-${c.firing.length > 0 ? 'firing' : 'quiet'}.test.yaml`);
    writeFileSync(file, promtoolTest(RULES_FILE, c, rule.annotations?.['runbook'] ?? ''));
    const result = promtool(['test', 'rules', file], workDir);
    expect({ status: result.status, output: result.status === 0 ? '' : result.output }).toEqual({ status: 0, output: '' });
  });

  it('the chart ships the same file and renders it into its PrometheusRule', () => {
    expect(readFileSync(CHART_COPY, 'utf8')).toBe(readFileSync(RULES_FILE, 'utf8'));
    const [rule] = helmTemplate({ monitoring: { prometheusRule: { enabled: true } } }).filter((o) => o.kind === 'PrometheusRule');
    expect((rule?.['spec'] as { groups: unknown }).groups).toEqual(rulesDocument().groups);
  });
});
