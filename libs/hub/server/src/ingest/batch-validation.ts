import { type FlowBatch, flowBatchSchema } from '@natlens/shared-model';
import { compileBatchCheck } from './compiled-batch-check';
import { type UnknownField, unknownFields } from './unknown-fields';

/** The time window a batch's timestamps must lie in, from the hub's clock (ms since the epoch). */
export interface ClockWindow {
  /** Earliest acceptable timestamp; undefined: no lower bound (an imported capture is history by nature). */
  readonly notBefore?: number;
  /** Latest acceptable timestamp: the hub's clock plus the clock skew it tolerates. */
  readonly notAfter: number;
  /** Says how to move the window, for the error message. */
  readonly notBeforeSetting?: string;
  readonly notAfterSetting: string;
}

export type BatchValidation =
  | { ok: true; batch: FlowBatch; unknownFields: readonly UnknownField[]; unknownFieldCount: number }
  | { ok: false; message: string };

/** `['records', 3, 'original', 'src']` → `records[3].original.src`. */
export function fieldPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((text, key) => (typeof key === 'number' ? `${text}[${key}]` : text === '' ? String(key) : `${text}.${String(key)}`), '');
}

const NOTHING_STORED = 'fix it and re-send the batch — nothing of it was stored';

/** The first timestamp outside the window, or a record that ends before it begins; undefined when all are fine. */
function clockProblem(batch: FlowBatch, window: ClockWindow): string | undefined {
  const check = (value: number, where: string): string | undefined => {
    if (value > window.notAfter) {
      return `${where}: ${value} is ${new Date(Math.min(value, 8.64e15)).toISOString()}, after the hub's clock plus the skew it tolerates (${new Date(window.notAfter).toISOString()}); check the sender's clock (NTP) or raise ${window.notAfterSetting} on the hub`;
    }
    if (window.notBefore !== undefined && value < window.notBefore) {
      return `${where}: ${value} is ${new Date(value).toISOString()}, older than the hub keeps anything (${new Date(window.notBefore).toISOString()}, ${window.notBeforeSetting ?? 'retention'})`;
    }
    return undefined;
  };
  const sent = check(batch.sentAt, 'field sentAt');
  if (sent) return sent;
  for (const [index, record] of batch.records.entries()) {
    const problem = check(record.firstSeen, `record ${index}, field records[${index}].firstSeen`) ?? check(record.lastSeen, `record ${index}, field records[${index}].lastSeen`);
    if (problem) return problem;
    if (record.lastSeen < record.firstSeen) return `record ${index}, field records[${index}].lastSeen: ${record.lastSeen} is before firstSeen ${record.firstSeen}`;
  }
  return undefined;
}

const acceptsBatch = compileBatchCheck(flowBatchSchema);

/**
 * The whole batch is checked before anything is stored: one bad record rejects the batch, and the message names
 * the first bad record and field so the sender can find it. Keys the hub does not know are dropped and listed, not
 * refused (flow-record.ts "Versioning"). `body` is changed in place (unknown keys removed, defaults filled in): the
 * accepted batch is `body` itself, with no copy of every record (compiled-batch-check.ts).
 */
export function validateBatch(body: unknown, window: ClockWindow): BatchValidation {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ok: false, message: 'the body must be a JSON object {node, sentAt, records: [...]} sent with Content-Type: application/json' };
  }
  // Counted before the check removes them.
  const unknown = unknownFields(flowBatchSchema, body);
  const accepted = (batch: FlowBatch): BatchValidation => {
    const problem = clockProblem(batch, window);
    if (problem) return { ok: false, message: `${problem}; ${NOTHING_STORED}` };
    return { ok: true, batch, unknownFields: unknown.fields, unknownFieldCount: unknown.total };
  };
  if (acceptsBatch(body)) return accepted(body as FlowBatch);
  // zod words the error (and has the last word: what it accepts is stored).
  const result = flowBatchSchema.safeParse(body);
  if (result.success) return accepted(result.data);
  const issue = result.error.issues[0];
  const path = issue ? fieldPath(issue.path) : '';
  const recordIndex = issue?.path[0] === 'records' && typeof issue.path[1] === 'number' ? issue.path[1] : undefined;
  const where = recordIndex === undefined ? `field ${path || '(body)'}` : `record ${recordIndex}, field ${path}`;
  const more = result.error.issues.length > 1 ? ` (${result.error.issues.length - 1} more problem(s) after this one)` : '';
  return { ok: false, message: `${where}: ${issue?.message ?? 'invalid'}${more}; ${NOTHING_STORED}` };
}
