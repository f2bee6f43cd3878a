import { BadRequestException, Controller, Get, Inject, Query, UseGuards } from '@nestjs/common';
import { verdictSchema } from '@natlens/shared-model';
import { z } from 'zod';
import { ReadTokenGuard } from '../auth/bearer.guard';
import { type FlowRepository, InvalidCursorError } from '../storage/flow-repository';
import { FLOW_REPOSITORY } from '../tokens';
import { parseQuery } from './query-validation';

const MAX_PAGE = 1000;

const flowsQuerySchema = z.strictObject({
  service: z.string().regex(/^[^/\s]+\/[^/\s]+$/, 'expected namespace/name').optional(),
  node: z.string().min(1).optional(),
  client: z.union([z.ipv4(), z.ipv6()]).optional(),
  verdict: verdictSchema.optional(),
  from: z.coerce.number().int().nonnegative().optional(),
  to: z.coerce.number().int().nonnegative().optional(),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE, `at most ${MAX_PAGE} per page; follow nextCursor for more`).default(100),
  cursor: z.string().min(1).optional(),
});

@Controller('api/flows')
@UseGuards(ReadTokenGuard)
export class FlowsController {
  constructor(@Inject(FLOW_REPOSITORY) private readonly repository: FlowRepository) {}

  /** Raw records, newest first: `{flows: FlowRecord[], nextCursor?}`; pass `cursor=nextCursor` for the next page. */
  @Get()
  async flows(@Query() query: unknown) {
    const q = parseQuery(flowsQuerySchema, query);
    const [namespace, name] = q.service?.split('/') ?? [];
    try {
      return await this.repository.flows({
        ...(namespace && name ? { service: { namespace, name } } : {}),
        ...(q.node ? { node: q.node } : {}),
        ...(q.client ? { client: q.client } : {}),
        ...(q.verdict ? { verdict: q.verdict } : {}),
        ...(q.from !== undefined ? { from: q.from } : {}),
        ...(q.to !== undefined ? { to: q.to } : {}),
        ...(q.cursor ? { cursor: q.cursor } : {}),
        limit: q.limit,
      });
    } catch (err) {
      if (err instanceof InvalidCursorError) throw new BadRequestException({ code: 'invalid-cursor', message: err.message });
      throw err;
    }
  }
}
