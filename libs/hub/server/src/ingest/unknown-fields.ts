import { z } from 'zod';

/** Where a dropped key sat: the object's path with array indices folded (`records[].service`), and the key. */
export interface UnknownField {
  readonly object: string;
  readonly key: string;
}

/** At most this many are listed per body: a sender cannot make the hub build an unbounded list. */
export const MAX_UNKNOWN_FIELDS_LISTED = 100;

/**
 * What a schema declares, as the walk needs it: an object's keys with their children's plans, an array's element
 * plan, or nothing to look into (a leaf). Paths depend only on the schema, so each node carries its own, built once.
 */
type KeyPlan = ObjectPlan | ArrayPlan | undefined;
interface ObjectPlan {
  readonly kind: 'object';
  readonly path: string;
  readonly keys: ReadonlyMap<string, KeyPlan>;
}
interface ArrayPlan {
  readonly kind: 'array';
  readonly element: KeyPlan;
}

function unwrapped(schema: z.ZodType): z.ZodType {
  let current = schema;
  for (;;) {
    if (current instanceof z.ZodOptional || current instanceof z.ZodNullable || current instanceof z.ZodDefault) current = current.unwrap() as z.ZodType;
    else return current;
  }
}

function compile(schema: z.ZodType, path: string): KeyPlan {
  const inner = unwrapped(schema);
  if (inner instanceof z.ZodObject) {
    const keys = new Map<string, KeyPlan>();
    for (const [key, child] of Object.entries(inner.shape as Record<string, z.ZodType>)) keys.set(key, compile(child, path === '' ? key : `${path}.${key}`));
    return { kind: 'object', path: path === '' ? '(top)' : path, keys };
  }
  if (inner instanceof z.ZodArray) return { kind: 'array', element: compile(inner.element as z.ZodType, `${path}[]`) };
  return undefined;
}

// The ingest path calls this for every batch with the same schema: walking zod's schema objects per field (instanceof
// chains, path strings per key) was a fifth of the hub's ingest CPU; the plan is built once per schema.
const plans = new WeakMap<z.ZodType, KeyPlan>();

function planOf(schema: z.ZodType): KeyPlan {
  if (plans.has(schema)) return plans.get(schema);
  const plan = compile(schema, '');
  plans.set(schema, plan);
  return plan;
}

/**
 * The keys of `value` that `schema`'s objects do not declare (zod drops them when parsing a non-strict object; this
 * says which, so the hub can count them). Walks objects and arrays; stops at anything else. Pure; call it on a
 * value the schema accepted, so every level has the shape the schema expects. Also counts beyond the listed cap.
 */
export function unknownFields(schema: z.ZodType, value: unknown): { fields: UnknownField[]; total: number } {
  const fields: UnknownField[] = [];
  let total = 0;
  const walk = (plan: KeyPlan, v: unknown): void => {
    if (plan === undefined || typeof v !== 'object' || v === null) return;
    if (plan.kind === 'array') {
      if (!Array.isArray(v) || plan.element === undefined) return;
      for (const item of v) walk(plan.element, item);
      return;
    }
    if (Array.isArray(v)) return;
    const record = v as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      if (plan.keys.has(key)) walk(plan.keys.get(key), record[key]);
      else {
        total += 1;
        if (fields.length < MAX_UNKNOWN_FIELDS_LISTED) fields.push({ object: plan.path, key });
      }
    }
  };
  walk(planOf(schema), value);
  return { fields, total };
}
