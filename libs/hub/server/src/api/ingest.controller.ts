import { Body, Controller, HttpCode, Inject, Post, UseGuards } from '@nestjs/common';
import type { Principal } from '@natlens/shared-auth';
import { AuthPrincipal, IngestTokenGuard } from '../auth/bearer.guard';
import { IngestService } from '../ingest/ingest.service';
import { JsonBody } from './json-body';

@Controller('api')
export class IngestController {
  constructor(@Inject(IngestService) private readonly ingestService: IngestService) {}

  /**
   * A FlowBatch (libs/shared/model); 200 `{records, inserted}` once stored. A node token may send only its node's
   * batches (403 otherwise), and every record must be the batch's node's (400).
   */
  @Post('ingest')
  @HttpCode(200)
  @UseGuards(IngestTokenGuard)
  @JsonBody((config) => ({ bytes: config.maxBodyBytes, setting: 'NATLENS_HUB_MAX_BODY_BYTES' }))
  ingest(@Body() body: unknown, @AuthPrincipal() principal: Principal) {
    return this.ingestService.ingest(body, { via: 'http', principal });
  }
}
