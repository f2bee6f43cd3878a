import { type KubeObject, kubeObjectSchema } from '@natlens/shared-model';
import { firstProblem } from './schema-issues';

export type ConversionResult = { readonly ok: true; readonly object: KubeObject } | { readonly ok: false; readonly reason: string };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `Kind namespace/name` of a raw object, as far as it can be read, for logs. */
export function describeRawObject(kind: string, raw: unknown): string {
  const metadata = isRecord(raw) && isRecord(raw['metadata']) ? raw['metadata'] : {};
  const name = typeof metadata['name'] === 'string' ? metadata['name'] : '<no name>';
  return typeof metadata['namespace'] === 'string' ? `${kind} ${metadata['namespace']}/${name}` : `${kind} ${name}`;
}

/**
 * Validates an object from the API client as our model type. List items arrive without `kind` (the API server
 * leaves it out of list items) and as the client's model classes, watch events as plain JSON; both carry the API's
 * camelCase field names, so the zod schema reads either once `kind` is set from the collection.
 */
export function toKubeObject(kind: KubeObject['kind'], raw: unknown): ConversionResult {
  if (!isRecord(raw)) return { ok: false, reason: `${kind}: expected an object, got ${JSON.stringify(raw) ?? 'nothing'}` };
  if (raw['kind'] !== undefined && raw['kind'] !== kind) return { ok: false, reason: `${describeRawObject(kind, raw)}: kind is ${JSON.stringify(raw['kind'])}, expected ${kind}` };
  const candidate = { ...raw, kind };
  const result = kubeObjectSchema.safeParse(candidate);
  if (result.success) return { ok: true, object: result.data };
  const { path, problem } = firstProblem(result.error, candidate);
  return { ok: false, reason: `${describeRawObject(kind, raw)}: ${path}: ${problem}` };
}
