import { NODE_REPORT_VERSION, type NodeReport, nodeReportSchema } from '@natlens/shared-model';
import { fieldPath } from '../ingest/batch-validation';

export type NodeReportValidation = { ok: true; report: NodeReport } | { ok: false; message: string };

/** The first time in the report later than `notAfter` (the hub's clock plus the skew it tolerates), if any. */
function futureTime(report: NodeReport, notAfter: number): string | undefined {
  const times: [string, number][] = [
    ['at', report.at],
    ...report.healthChecks.map((check, i): [string, number] => [`healthChecks[${i}].at`, check.at]),
    ...(report.proxyHealth ? [['proxyHealth.at', report.proxyHealth.at] as [string, number]] : []),
    ...(report.conntrack ? [['conntrack.at', report.conntrack.at] as [string, number]] : []),
  ];
  const late = times.find(([, at]) => at > notAfter);
  if (!late) return undefined;
  return `field ${late[0]}: ${late[1]} is after the hub's clock plus the skew it tolerates (${new Date(notAfter).toISOString()}); check the agent's clock (NTP) or raise NATLENS_HUB_MAX_CLOCK_SKEW on the hub; nothing of the report was stored`;
}

/**
 * A node report is checked whole before anything is stored. Fields this hub does not know are dropped (a newer agent
 * may send more); a version above the hub's means a change of meaning it cannot read, so the hub says to upgrade it.
 * No time may lie after `notAfter`: the hub keeps each node's newest report by `at`, so one stamped in the future
 * would hide every later one. Pure.
 */
export function validateNodeReport(body: unknown, notAfter: number): NodeReportValidation {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ok: false, message: 'the body must be a JSON object {version, node, at, addresses, healthChecks} sent with Content-Type: application/json' };
  }
  const version = (body as { version?: unknown }).version;
  if (typeof version === 'number' && version > NODE_REPORT_VERSION) {
    return { ok: false, message: `node report version ${version} is newer than this hub reads (up to ${NODE_REPORT_VERSION}); upgrade the hub (the agent's records are stored regardless)` };
  }
  const result = nodeReportSchema.safeParse(body);
  if (result.success) {
    const problem = futureTime(result.data, notAfter);
    return problem ? { ok: false, message: problem } : { ok: true, report: result.data };
  }
  const issue = result.error.issues[0];
  const more = result.error.issues.length > 1 ? ` (${result.error.issues.length - 1} more problem(s) after this one)` : '';
  return { ok: false, message: `field ${issue ? fieldPath(issue.path) || '(body)' : '(body)'}: ${issue?.message ?? 'invalid'}${more}; nothing of the report was stored` };
}
