import { z } from 'zod';

/** Where a dropped key sat: the object's path with array indices folded (`records[].service`), and the key. */
export interface UnknownField {
  readonly object: string;
  readonly key: string;
}

/** At most this many are listed per body: a sender cannot make the hub build an unbounded list. */
export const MAX_UNKNOWN_FIELDS_LISTED = 100;

function unwrapped(schema: z.ZodType): z.ZodType {
  let current = schema;
  for (;;) {
    if (current instanceof z.ZodOptional || current instanceof z.ZodNullable || current instanceof z.ZodDefault) current = current.unwrap() as z.ZodType;
    else return current;
  }
}

/**
 * The keys of `value` that `schema`'s objects do not declare (zod drops them when parsing a non-strict object; this
 * says which, so the hub can count them). Walks objects and arrays; stops at anything else. Pure; call it on a
 * value the schema accepted, so every level has the shape the schema expects. Also counts beyond the listed cap.
 */
export function unknownFields(schema: z.ZodType, value: unknown): { fields: UnknownField[]; total: number } {
  const fields: UnknownField[] = [];
  let total = 0;
  const walk = (s: z.ZodType, v: unknown, path: string) => {
    const inner = unwrapped(s);
    if (inner instanceof z.ZodObject && typeof v === 'object' && v !== null && !Array.isArray(v)) {
      const shape = inner.shape as Record<string, z.ZodType>;
      for (const [key, child] of Object.entries(v)) {
        const declared = Object.hasOwn(shape, key) ? shape[key] : undefined;
        if (declared) walk(declared, child, path === '' ? key : `${path}.${key}`);
        else {
          total += 1;
          if (fields.length < MAX_UNKNOWN_FIELDS_LISTED) fields.push({ object: path === '' ? '(top)' : path, key });
        }
      }
    } else if (inner instanceof z.ZodArray && Array.isArray(v)) {
      for (const item of v) walk(inner.element as z.ZodType, item, `${path}[]`);
    }
  };
  walk(schema, value, '');
  return { fields, total };
}
