import { type FlowBatch, flowBatchSchema } from '@natlens/shared-model';

export type BatchValidation = { ok: true; batch: FlowBatch } | { ok: false; message: string };

/** `['records', 3, 'original', 'src']` → `records[3].original.src`. */
export function fieldPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((text, key) => (typeof key === 'number' ? `${text}[${key}]` : text === '' ? String(key) : `${text}.${String(key)}`), '');
}

/**
 * The whole batch is checked before anything is stored: one bad record rejects the batch, and the message names
 * the first bad record and field so the sender can find it. Pure.
 */
export function validateBatch(body: unknown): BatchValidation {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ok: false, message: 'the body must be a JSON object {node, sentAt, records: [...]} sent with Content-Type: application/json' };
  }
  const result = flowBatchSchema.safeParse(body);
  if (result.success) return { ok: true, batch: result.data };
  const issue = result.error.issues[0];
  const path = issue ? fieldPath(issue.path) : '';
  const recordIndex = issue?.path[0] === 'records' && typeof issue.path[1] === 'number' ? issue.path[1] : undefined;
  const where = recordIndex === undefined ? `field ${path || '(body)'}` : `record ${recordIndex}, field ${path}`;
  const more = result.error.issues.length > 1 ? ` (${result.error.issues.length - 1} more problem(s) after this one)` : '';
  return { ok: false, message: `${where}: ${issue?.message ?? 'invalid'}${more}; fix it and re-send the batch — nothing of it was stored` };
}
