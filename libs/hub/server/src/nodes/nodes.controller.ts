import { BadRequestException, Body, Controller, Get, HttpCode, Inject, Post, Query, UseGuards } from '@nestjs/common';
import { z } from 'zod';
import { JsonBody } from '../api/json-body';
import { parseQuery } from '../api/query-validation';
import type { Principal } from '@natlens/shared-auth';
import { AuthPrincipal, IngestTokenGuard, ReadTokenGuard } from '../auth/bearer.guard';
import { resolveWindow } from '../evidence/time-window';
import type { HubConfig } from '../config/hub-config';
import { type Clock, CLOCK, HUB_CONFIG } from '../tokens';
import { CONNTRACK_RATE_WINDOW_MS, NodeReportService } from './node-report.service';
import type { ConntrackHistoryResponse, NodesResponse } from '@natlens/shared-api';

const millis = z.coerce.number().int('must be whole milliseconds since the epoch').nonnegative();
const historyQuerySchema = z.strictObject({
  service: z.string().max(127, 'at most 127 characters (namespace/name)').regex(/^[^/]+\/[^/]+$/, 'expected namespace/name'),
  from: millis.optional(),
  to: millis.optional(),
});

const conntrackQuerySchema = z.strictObject({
  node: z.string().min(1).max(253).optional(),
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

  /**
   * NodesResponse (@natlens/shared-api): each node's latest report, its conntrack entries against max with the rates
   * of insert_failed, drop, early_drop and clash_resolve over the last 5 minutes, and its busiest SNAT pairs.
   */
  @Get()
  @UseGuards(ReadTokenGuard)
  async list(): Promise<NodesResponse> {
    return { nodes: await this.reports.nodes(), rateWindowMs: CONNTRACK_RATE_WINDOW_MS };
  }

  /** ConntrackHistoryResponse: each node's table fill and failure rates over the window (default: the last hour), for charts. */
  @Get('conntrack')
  @UseGuards(ReadTokenGuard)
  async conntrackHistory(@Query() query: unknown): Promise<ConntrackHistoryResponse> {
    const q = parseQuery(conntrackQuerySchema, query);
    const window = resolveWindow(q, this.now(), this.config.maxQueryWindowMs);
    if (typeof window === 'string') throw new BadRequestException({ code: 'invalid-window', message: window });
    return this.reports.conntrackHistory(window, q.node);
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
