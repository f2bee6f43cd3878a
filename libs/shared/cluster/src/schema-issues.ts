import type { z } from 'zod';

/** `["items", 3, "spec", "ports", 0, "port"]` → `items[3].spec.ports[0].port`. */
export function formatIssuePath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else text += text === '' ? String(segment) : `.${String(segment)}`;
  }
  return text === '' ? '(top level)' : text;
}

/** The value found at a path of the input, as short JSON, for error messages ("got 0"). */
export function describeValueAt(input: unknown, path: readonly PropertyKey[]): string {
  let value: unknown = input;
  for (const segment of path) {
    if (value === null || typeof value !== 'object') return 'nothing';
    value = (value as Record<PropertyKey, unknown>)[segment];
  }
  if (value === undefined) return 'nothing';
  const json = JSON.stringify(value) ?? String(value);
  return json.length > 60 ? `${json.slice(0, 57)}...` : json;
}

export interface SchemaProblem {
  /** Where the first bad field is, e.g. `spec.ports[0].port`. */
  readonly path: string;
  /** What is wrong and what the field should hold, e.g. `expected number to be >=1, got 0`. */
  readonly problem: string;
}

/** The first issue of a failed validation, in words an operator can act on. */
export function firstProblem(error: z.ZodError, input: unknown): SchemaProblem {
  const issue = error.issues[0];
  if (issue === undefined) return { path: '(top level)', problem: 'invalid' };
  // zod prefixes its messages with the kind of failure ("Too small: "); the part after it says what was expected.
  const expectation = issue.message.replace(/^(Invalid input: |Too small: |Too big: |Invalid option: |Invalid discriminator value\. )/, '').replace(/^Expected/, 'expected');
  const problem = /received/.test(expectation) ? expectation : `${expectation}, got ${describeValueAt(input, issue.path)}`;
  return { path: formatIssuePath(issue.path), problem };
}
