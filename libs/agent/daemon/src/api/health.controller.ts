import { Controller, Get, Inject, Res } from '@nestjs/common';
import type { Response } from 'express';
import { ConntrackHealthSampler } from '../conntrack-health/conntrack-health.sampler';
import { NodeReportExporter } from '../export/node-report.exporter';
import { HealthCheckProber } from '../health-checks/health-check-prober';
import { PipelineService } from '../pipeline/pipeline.service';

@Controller()
export class HealthController {
  constructor(
    @Inject(PipelineService) private readonly pipeline: PipelineService,
    @Inject(HealthCheckProber) private readonly healthChecks: HealthCheckProber,
    @Inject(NodeReportExporter) private readonly nodeReports: NodeReportExporter,
    @Inject(ConntrackHealthSampler) private readonly conntrackHealth: ConntrackHealthSampler,
  ) {}

  /** 200 while the agent runs; `ready` says whether it records what happens now (see /readyz). */
  @Get('healthz')
  health() {
    return { status: 'ok', ...this.pipeline.status(), healthChecks: this.healthChecks.status(), nodeReports: this.nodeReports.status(), conntrackSampling: this.conntrackHealth.status() };
  }

  /**
   * 200 `{ready: true}` once every source observes and the cluster metadata is loaded; 503 with what it waits for
   * until then. What to wait on before sending traffic that must be recorded (a Kubernetes readinessProbe too).
   */
  @Get('readyz')
  ready(@Res({ passthrough: true }) res: Response) {
    const readiness = this.pipeline.readiness();
    res.status(readiness.ready ? 200 : 503);
    return { ready: readiness.ready, node: this.pipeline.status().node, ...(readiness.ready ? {} : { waitingFor: readiness.waitingFor }) };
  }
}
