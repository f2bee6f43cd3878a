import { Controller, Get, Inject } from '@nestjs/common';
import { PipelineService } from '../pipeline/pipeline.service';

@Controller()
export class HealthController {
  constructor(@Inject(PipelineService) private readonly pipeline: PipelineService) {}

  @Get('healthz')
  health() {
    return { status: 'ok', ...this.pipeline.status() };
  }
}
