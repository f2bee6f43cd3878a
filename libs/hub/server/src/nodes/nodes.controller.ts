import { BadRequestException, Body, Controller, Get, HttpCode, Inject, Post, Query, UseGuards } from '@nestjs/common';
import { z } from 'zod';
import { JsonBody } from '../api/json-body';
import { parseQuery } from '../api/query-validation';
import type { Principal } from '@natlens/shared-auth';
import { AuthPrincipal, IngestTokenGuard, ReadTokenGuard } from '../auth/bearer.guard';
import { resolveWindow } from '../evidence/time-window';
import type { HubConfig } from '../config/hub-config';
import { type Clock, CLOCK, HUB_CONFIG } from '../tokens';
import { NodeReportService } from './node-report.service';

const millis = z.coerce.number().int('must be whole milliseconds since the epoch').nonnegative();
const historyQuerySchema = z.strictObject({
  service: z.string().max(127, 'at most 127 characters (namespace/name)').regex(/^[^/]+\/[^/]+$/, 'expected namespace/name'),
  from: millis.optional(),
  to: millis.optional(),
});

@Controller('api/nodes')
export class NodesController {
  constructor(
    @Inject(NodeReportService) private readonly reports: NodeReportService,
    @Inject(CLOCK) private readonly now: Clock,
    @Inject(HUB_CONFIG) private readonly config: HubConfig,
  ) {}

  /**
   * A NodeReport (libs/shared/model) from an agent; 200 `{stored, changed}` (stored: false for an outdated one). A
   * node token may report only its own node (403 node-not-allowed).
   */
  @Post('report')
  @HttpCode(200)
  @UseGuards(IngestTokenGuard)
  @JsonBody((config) => ({ bytes: config.maxReportBodyBytes, setting: 'NATLENS_HUB_MAX_REPORT_BODY_BYTES' }))
  report(@Body() body: unknown, @AuthPrincipal() principal: Principal) {
    return this.reports.store(body, { via: 'http', principal });
  }

  /** `{nodes: [{node, at, receivedAt, stale, intervalMs?, addresses, healthChecks, proxyHealth?}]}`: each node's latest report. */
  @Get()
  @UseGuards(ReadTokenGuard)
  async list() {
    return { nodes: await this.reports.nodes() };
  }

  /** `{window, changes: [...]}`: each change of answer of a Service's health check on any node within the window. */
  @Get('health-checks')
  @UseGuards(ReadTokenGuard)
  async healthCheckHistory(@Query() query: unknown) {
    const q = parseQuery(historyQuerySchema, query);
    const window = resolveWindow(q, this.now(), this.config.maxQueryWindowMs);
    if (typeof window === 'string') throw new BadRequestException({ code: 'invalid-window', message: window });
    const [namespace = '', name = ''] = q.service.split('/');
    return { window, changes: await this.reports.healthCheckHistory({ namespace, name }, window) };
  }
}
