import { NODE_REPORT_VERSION, type NodeReport, nodeReportSchema } from '@natlens/shared-model';
import { fieldPath } from '../ingest/batch-validation';

export type NodeReportValidation = { ok: true; report: NodeReport } | { ok: false; message: string };

/**
 * A node report is checked whole before anything is stored. Fields this hub does not know are dropped (a newer agent
 * may send more); a version above the hub's means a change of meaning it cannot read, so the hub says to upgrade it.
 * Pure.
 */
export function validateNodeReport(body: unknown): NodeReportValidation {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ok: false, message: 'the body must be a JSON object {version, node, at, addresses, healthChecks} sent with Content-Type: application/json' };
  }
  const version = (body as { version?: unknown }).version;
  if (typeof version === 'number' && version > NODE_REPORT_VERSION) {
    return { ok: false, message: `node report version ${version} is newer than this hub reads (up to ${NODE_REPORT_VERSION}); upgrade the hub (the agent's records are stored regardless)` };
  }
  const result = nodeReportSchema.safeParse(body);
  if (result.success) return { ok: true, report: result.data };
  const issue = result.error.issues[0];
  const more = result.error.issues.length > 1 ? ` (${result.error.issues.length - 1} more problem(s) after this one)` : '';
  return { ok: false, message: `field ${issue ? fieldPath(issue.path) || '(body)' : '(body)'}: ${issue?.message ?? 'invalid'}${more}; nothing of the report was stored` };
}
