import type { NodeSummary } from './api-types';

/*
 * How the Nodes page words and flags a node's conntrack health (pure, so it is unit-tested). The thresholds are the
 * alerting rules' (deploy/prometheus/natlens-rules.yaml): table fill above 0.9, a SNAT pair above 0.8 of its range,
 * any insert_failed or drop.
 */
export const TABLE_FILL_WARN = 0.9;
export const SNAT_USAGE_WARN = 0.8;

/** `1.25/s`; `0/s`; `–` when there is no rate yet (fewer than two reports in the span). */
export function ratePerSecond(rate: number | null | undefined): string {
  if (rate === null || rate === undefined) return '–';
  if (rate === 0) return '0/s';
  return rate >= 0.01 ? `${Number(rate.toFixed(2))}/s` : '<0.01/s';
}

/** What is wrong with a node now, in the words of the alert it would raise; empty when nothing is. */
export function nodeProblems(node: NodeSummary): string[] {
  const problems: string[] = [];
  const ct = node.conntrack;
  if (ct?.fill !== null && ct?.fill !== undefined && ct.fill > TABLE_FILL_WARN) problems.push('conntrack table nearly full');
  if ((ct?.rates.insertFailed ?? 0) > 0) problems.push('insert failures');
  if ((ct?.rates.drop ?? 0) > 0) problems.push('drops');
  const fullest = node.snatPorts[0];
  if (fullest && fullest.usage > SNAT_USAGE_WARN) problems.push('SNAT ports nearly exhausted');
  if (node.stale) problems.push('agent overdue');
  return problems;
}
