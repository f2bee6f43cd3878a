import type { ApiError } from '@natlens/shared-api';
import type { ImportResult } from '@natlens/shared-model';

export type { ImportResult };

export type ImportError = ApiError;

/** The hub's (or the dashboard route's) answer, read defensively: a proxy in between may answer anything. */
export function readImportAnswer(status: number, text: string): { result: ImportResult } | { error: ImportError } {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { error: { status, code: 'bad-response', message: `the server answered ${status} with something that is not JSON: ${text.slice(0, 200)}` } };
  }
  if (status >= 200 && status < 300 && typeof body === 'object' && body !== null && 'records' in body) return { result: body as ImportResult };
  const err = (typeof body === 'object' && body !== null ? body : {}) as Partial<ImportError>;
  return { error: { status, code: err.code ?? 'import-failed', message: err.message ?? `the server answered ${status}` } };
}
