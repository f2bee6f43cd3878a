import { BadRequestException, Controller, Get, Inject, Query, UseGuards } from '@nestjs/common';
import { verdictSchema } from '@natlens/shared-model';
import { z } from 'zod';
import { RecentFlows } from '../pipeline/recent-flows';
import { ReadTokenGuard } from './read-access';

const flowQuerySchema = z.strictObject({
  service: z.string().regex(/^[^/]+\/[^/]+$/, 'expected namespace/name').optional(),
  node: z.string().optional(),
  client: z.string().optional(),
  verdict: verdictSchema.optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(100),
});

@Controller('api')
@UseGuards(ReadTokenGuard)
export class FlowsController {
  constructor(@Inject(RecentFlows) private readonly recent: RecentFlows) {}

  /** The most recent records, newest first, filtered: GET /api/flows?service=ns/name&node=&client=&verdict=&limit= */
  @Get('flows')
  list(@Query() query: Record<string, string>) {
    const parsed = flowQuerySchema.safeParse(query);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new BadRequestException({ code: 'bad-query', message: `${issue?.path.join('.') || 'query'}: ${issue?.message}` });
    }
    return { records: this.recent.query(parsed.data) };
  }
}
