import { BadRequestException } from '@nestjs/common';
import type { z } from 'zod';
import { fieldPath } from '../ingest/batch-validation';

/** Parses a query string with a strict schema: unknown parameters and bad values are a 400 that names them. */
export function parseQuery<S extends z.ZodType>(schema: S, query: unknown): z.infer<S> {
  const result = schema.safeParse(query);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${fieldPath(issue.path) || 'query'}: ${issue.message}`);
  throw new BadRequestException({ code: 'invalid-query', message: `fix the query string: ${problems.join('; ')}` });
}
