import { Controller, Get, Header, Inject } from '@nestjs/common';
import { HubMetrics } from '../metrics/hub-metrics';

@Controller()
export class MetricsController {
  constructor(@Inject(HubMetrics) private readonly metrics: HubMetrics) {}

  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  scrape(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}
