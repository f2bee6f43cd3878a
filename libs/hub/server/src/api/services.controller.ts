import { BadRequestException, Controller, Get, Inject, Param, Query, UseGuards } from '@nestjs/common';
import { ReadTokenGuard } from '../auth/bearer.guard';
import { EvidenceService } from '../evidence/evidence.service';
import { resolveWindow, windowQuerySchema } from '../evidence/time-window';
import type { HubConfig } from '../config/hub-config';
import { type Clock, CLOCK, HUB_CONFIG } from '../tokens';
import { parseQuery } from './query-validation';

@Controller('api/services')
@UseGuards(ReadTokenGuard)
export class ServicesController {
  constructor(
    @Inject(EvidenceService) private readonly evidenceService: EvidenceService,
    @Inject(CLOCK) private readonly now: Clock,
    @Inject(HUB_CONFIG) private readonly config: HubConfig,
  ) {}

  /** `{window, services: [{namespace, name, type, externalTrafficPolicy, connections, external, snatted, snatRatio, byVerdict, lastSeen?}]}` */
  @Get()
  async list(@Query() query: unknown) {
    const window = this.window(query);
    return { window, services: await this.evidenceService.services(window) };
  }

  /** DESIGN.md "Per-Service evidence". */
  @Get(':namespace/:name/evidence')
  evidence(@Param('namespace') namespace: string, @Param('name') name: string, @Query() query: unknown) {
    return this.evidenceService.evidence({ namespace, name }, this.window(query));
  }

  private window(query: unknown) {
    const window = resolveWindow(parseQuery(windowQuerySchema, query), this.now(), this.config.maxQueryWindowMs);
    if (typeof window === 'string') throw new BadRequestException({ code: 'invalid-window', message: window });
    return window;
  }
}
