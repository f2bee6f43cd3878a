import Ajv from 'ajv';
import { z } from 'zod';
import { flowBatchSchema, qualifiedNameSchema } from '@natlens/shared-model';

/*
 * The accepting half of batch validation, compiled: zod walks its schema objects for every field of every record
 * (≈ 5 ms of hub CPU per batch of 1,000, the largest JavaScript cost of ingest after the SQL), while Ajv compiles the
 * same rules, written out by zod itself (z.toJSONSchema), into one function (≈ 1.3 ms). zod stays the definition of
 * the record and words every error: a batch this check refuses is parsed again by zod (batch-validation.ts), and a
 * batch zod accepts is stored even if this check refused it. What must hold is the other way round — anything this
 * check accepts, zod accepts with the same result — and compiled-batch-check.spec.ts checks it over malformed input.
 *
 * Two rules zod's JSON Schema does not say exactly: qualifiedNameSchema's refine (a name, or namespace/name), written
 * here as one pattern with the same DNS-1123 rules and lengths; and an IPv6 address, which zod checks by parsing it
 * (so `::ffff:192.0.2.1` passes) while its JSON Schema gives a hex-only pattern: the check asks zod's own ipv6 schema.
 * (String lengths are code points in both.)
 */

const LABEL_63 = '[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?';
const SUBDOMAIN_LABEL = '[a-z0-9](?:[-a-z0-9]*[a-z0-9])?';
/** A DNS-1123 subdomain (≤ 253 characters), optionally after a DNS-1123 label (≤ 63) and a slash. */
const QUALIFIED_NAME_PATTERN = `^(?:${LABEL_63}/)?(?=[^/]{1,253}$)${SUBDOMAIN_LABEL}(?:\\.${SUBDOMAIN_LABEL})*$`;

type JsonSchemaNode = Record<string, unknown>;

function jsonSchemaOf(schema: z.ZodType): JsonSchemaNode {
  const json = z.toJSONSchema(schema, {
    target: 'draft-7',
    io: 'input',
    unrepresentable: 'throw',
    override: ({ zodSchema, jsonSchema }) => {
      const node = jsonSchema as JsonSchemaNode;
      if (zodSchema === qualifiedNameSchema) node.pattern = QUALIFIED_NAME_PATTERN;
      if (node.format === 'ipv6') delete node.pattern;
    },
  }) as JsonSchemaNode;
  delete json.$schema;
  return json;
}

export type BatchCheck = (body: unknown) => boolean;

/**
 * Compiles `schema` (the flow batch by default) into a check that, when it returns true, has also made `body` what
 * zod's parse would return: keys the schema does not declare removed (count them before: unknown-fields.ts) and
 * defaults filled in. It changes `body` in place, also when it returns false.
 */
export function compileBatchCheck(schema: z.ZodType = flowBatchSchema): BatchCheck {
  const ipv6 = z.ipv6();
  const ajv = new Ajv({
    formats: { ipv4: true, ipv6: (value: string) => ipv6.safeParse(value).success },
    strict: false,
    unicodeRegExp: false,
    useDefaults: true,
    removeAdditional: 'all',
    allErrors: false,
  });
  const check = ajv.compile(jsonSchemaOf(schema));
  return (body) => check(body) === true;
}
