import { Body, Controller, HttpCode, Inject, Post, UseGuards } from '@nestjs/common';
import { IngestTokenGuard } from '../auth/bearer.guard';
import { IngestService } from '../ingest/ingest.service';

@Controller('api')
export class IngestController {
  constructor(@Inject(IngestService) private readonly ingestService: IngestService) {}

  /** A FlowBatch (libs/shared/model); 200 `{records, inserted}` once stored. */
  @Post('ingest')
  @HttpCode(200)
  @UseGuards(IngestTokenGuard)
  ingest(@Body() body: unknown) {
    return this.ingestService.ingest(body);
  }
}
