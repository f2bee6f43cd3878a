import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ALERT_NAMES, ALERT_SEVERITIES, type AlertName, type AlertRule, type AlertRules } from '@natlens/shared-api';
import { parseDuration } from './duration';

/** Built-in rules: DESIGN.md "Alerts" and issue 20's NATInsertFailures. LoadImbalance is the common Prometheus rule (max/mean > 2 for 10m). */
export const DEFAULT_ALERT_RULES: AlertRules = {
  UnexpectedSNAT: { threshold: 0, forMs: 0, severity: 'critical', enabled: true, minConnections: 0 },
  LoadImbalance: { threshold: 2, forMs: 10 * 60_000, severity: 'warning', enabled: true, minConnections: 50 },
  TrafficToNodeWithoutEndpoints: { threshold: 0, forMs: 60_000, severity: 'warning', enabled: true, minConnections: 0 },
  HealthCheckMismatch: { threshold: 0, forMs: 60_000, severity: 'critical', enabled: true, minConnections: 0 },
  // Issue 20: the Service's connections dropped by conntrack or NAT, for 5 minutes (the Prometheus rule of the same
  // name fires per node on insert_failed and names the top Services; this one fires per Service on its own failures).
  NATInsertFailures: { threshold: 0, forMs: 5 * 60_000, severity: 'warning', enabled: true, minConnections: 0 },
};

/** A partial rule, as a rules file or a Service's annotations give it. */
export type AlertRuleOverride = Partial<AlertRule>;
export type AlertRuleOverrides = Partial<Record<AlertName, AlertRuleOverride>>;

export class AlertRulesError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`${source}: invalid alert rules; fix these and start again:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'AlertRulesError';
  }
}

const durationField = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const ms = parseDuration(value);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `"${value}" is not a duration; write e.g. 30s, 10m, 1h30m or milliseconds` });
    return z.NEVER;
  }
  return ms;
});

const ruleOverrideSchema = z.strictObject({
  threshold: z.number().finite().min(0).optional(),
  for: durationField.optional(),
  severity: z.enum(ALERT_SEVERITIES).optional(),
  enabled: z.boolean().optional(),
  minConnections: z.number().int().min(0).optional(),
});

const rulesFileSchema = z.strictObject({
  rules: z.strictObject(Object.fromEntries(ALERT_NAMES.map((name) => [name, ruleOverrideSchema.optional()])) as Record<AlertName, z.ZodOptional<typeof ruleOverrideSchema>>).default({} as never),
});

function toOverride(parsed: z.infer<typeof ruleOverrideSchema>): AlertRuleOverride {
  const { for: forMs, ...rest } = parsed;
  const override: { -readonly [K in keyof AlertRule]?: AlertRule[K] } = {};
  for (const [key, value] of Object.entries(rest)) if (value !== undefined) (override as Record<string, unknown>)[key] = value;
  if (forMs !== undefined) override.forMs = forMs;
  return override;
}

/**
 * The global rules file (`--alert-rules FILE`), YAML:
 * `rules: {LoadImbalance: {threshold: 2, for: 10m, severity: warning, enabled: true, minConnections: 50}}`.
 * Every problem is listed; unknown rules and fields are errors (a typo must not silently keep a default).
 */
export function parseAlertRulesFile(text: string, source = 'alert rules'): AlertRuleOverrides {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new AlertRulesError(source, [`not valid YAML: ${(err as Error).message}`]);
  }
  const result = rulesFileSchema.safeParse(raw ?? {});
  if (!result.success) {
    throw new AlertRulesError(source, result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`));
  }
  const overrides: AlertRuleOverrides = {};
  for (const name of ALERT_NAMES) {
    const rule = result.data.rules[name];
    if (rule) overrides[name] = toOverride(rule);
  }
  return overrides;
}

/** Annotation prefix: `natlens.io/alert.<RuleName>.<field>`, field one of threshold, for, severity, enabled, minConnections. */
export const ALERT_ANNOTATION_PREFIX = 'natlens.io/alert.';

export interface AnnotationOverrides {
  readonly overrides: AlertRuleOverrides;
  /** Annotations that could not be used, each saying why; the rule keeps its other settings. */
  readonly problems: string[];
}

/** Per-Service overrides from its annotations. A bad annotation is reported and ignored, never fatal. */
export function alertOverridesFromAnnotations(annotations: Readonly<Record<string, string>> | undefined): AnnotationOverrides {
  const overrides: Partial<Record<AlertName, { -readonly [K in keyof AlertRule]?: AlertRule[K] }>> = {};
  const problems: string[] = [];
  for (const [key, value] of Object.entries(annotations ?? {})) {
    if (!key.startsWith(ALERT_ANNOTATION_PREFIX)) continue;
    const [rule, field, ...extra] = key.slice(ALERT_ANNOTATION_PREFIX.length).split('.');
    if (!ALERT_NAMES.includes(rule as AlertName) || extra.length > 0) {
      problems.push(`${key}: unknown rule; expected ${ALERT_ANNOTATION_PREFIX}<${ALERT_NAMES.join('|')}>.<field>`);
      continue;
    }
    const name = rule as AlertName;
    const target = (overrides[name] ??= {});
    const text = value.trim();
    switch (field) {
      case 'threshold': {
        const n = Number(text);
        if (text === '' || !Number.isFinite(n) || n < 0) problems.push(`${key}: "${value}" is not a number ≥ 0`);
        else target.threshold = n;
        break;
      }
      case 'minConnections': {
        const n = Number(text);
        if (text === '' || !Number.isInteger(n) || n < 0) problems.push(`${key}: "${value}" is not a whole number ≥ 0`);
        else target.minConnections = n;
        break;
      }
      case 'for': {
        const ms = parseDuration(text);
        if (ms === undefined) problems.push(`${key}: "${value}" is not a duration; write e.g. 30s, 10m or 1h`);
        else target.forMs = ms;
        break;
      }
      case 'severity':
        if ((ALERT_SEVERITIES as readonly string[]).includes(text)) target.severity = text as AlertRule['severity'];
        else problems.push(`${key}: "${value}" is not one of ${ALERT_SEVERITIES.join(', ')}`);
        break;
      case 'enabled':
        if (text === 'true' || text === 'false') target.enabled = text === 'true';
        else problems.push(`${key}: "${value}" is not true or false`);
        break;
      default:
        problems.push(`${key}: unknown field "${field ?? ''}"; expected threshold, for, severity, enabled or minConnections`);
    }
  }
  return { overrides, problems };
}

/** Built-in defaults, then the rules file, then the Service's annotations: the most specific wins, field by field. */
export function effectiveAlertRules(...layers: readonly (AlertRuleOverrides | undefined)[]): AlertRules {
  const rules = { ...DEFAULT_ALERT_RULES } as Record<AlertName, AlertRule>;
  for (const layer of layers) {
    if (!layer) continue;
    for (const name of ALERT_NAMES) {
      const override = layer[name];
      if (override) rules[name] = { ...rules[name], ...override };
    }
  }
  return rules;
}
