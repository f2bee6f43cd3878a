import { BadRequestException, Controller, Get, Inject, Query, UseGuards } from '@nestjs/common';
import { verdictSchema } from '@natlens/shared-model';
import { z } from 'zod';
import { ReadTokenGuard } from '../auth/bearer.guard';
import { type FlowRepository, InvalidCursorError } from '../storage/flow-repository';
import type { HubConfig } from '../config/hub-config';
import { windowWidthProblem } from '../evidence/time-window';
import { type Clock, CLOCK, FLOW_REPOSITORY, HUB_CONFIG } from '../tokens';
import { parseQuery } from './query-validation';

const MAX_PAGE = 1000;

const flowsQuerySchema = z.strictObject({
  service: z.string().max(127, 'at most 127 characters (namespace/name)').regex(/^[^/\s]+\/[^/\s]+$/, 'expected namespace/name').optional(),
  node: z.string().min(1).max(253, 'at most 253 characters (a node name)').optional(),
  client: z.union([z.ipv4(), z.ipv6()]).optional(),
  verdict: verdictSchema.optional(),
  from: z.coerce.number().int().nonnegative().max(8.64e15).optional(),
  to: z.coerce.number().int().nonnegative().max(8.64e15).optional(),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE, `at most ${MAX_PAGE} per page; follow nextCursor for more`).default(100),
  cursor: z.string().min(1).max(1024, 'not a cursor this hub issued (too long)').optional(),
});

@Controller('api/flows')
@UseGuards(ReadTokenGuard)
export class FlowsController {
  constructor(
    @Inject(FLOW_REPOSITORY) private readonly repository: FlowRepository,
    @Inject(HUB_CONFIG) private readonly config: HubConfig,
    @Inject(CLOCK) private readonly now: Clock,
  ) {}

  /** Raw records, newest first: `{flows: FlowRecord[], nextCursor?}`; pass `cursor=nextCursor` for the next page. */
  @Get()
  async flows(@Query() query: unknown) {
    const q = parseQuery(flowsQuerySchema, query);
    // Without `from` a page walks back from the newest record through an index; with it, the window is capped.
    if (q.from !== undefined) {
      const problem = windowWidthProblem({ from: q.from, to: q.to ?? this.now() }, this.config.maxQueryWindowMs);
      if (problem) throw new BadRequestException({ code: 'invalid-window', message: problem });
    }
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
