import { Controller, Get, Inject, Query, UseGuards } from '@nestjs/common';
import { type AlertState, formatDuration } from '@natlens/shared-analysis';
import { z } from 'zod';
import { parseQuery } from '../api/query-validation';
import { ReadTokenGuard } from '../auth/bearer.guard';
import { AlertEvaluationService } from './alert-evaluation.service';
import { alertKey, type AlertRepository } from './alert-repository';
import { ALERT_REPOSITORY } from './alert-tokens';

const alertsQuerySchema = z.strictObject({
  service: z.string().max(127, 'at most 127 characters (namespace/name)').regex(/^[^/]+\/[^/]+$/, 'expected namespace/name').optional(),
  limit: z.coerce.number().int().min(1).max(1000, 'at most 1000 per page; follow nextBefore for more').default(100),
  before: z.coerce.number().int().min(1).optional(),
});

const ORDER: Record<AlertState['state'], number> = { firing: 0, pending: 1, resolved: 2 };

@Controller('api/alerts')
@UseGuards(ReadTokenGuard)
export class AlertsController {
  constructor(
    @Inject(ALERT_REPOSITORY) private readonly alerts: AlertRepository,
    @Inject(AlertEvaluationService) private readonly evaluation: AlertEvaluationService,
  ) {}

  /**
   * `{alerts: [{key, rule, service, state, severity, value, threshold, summary, activeSince, firedAt?, resolvedAt?, updatedAt}],
   *   history: [{id, rule, service, transition, severity, value, summary, at}], nextBefore?, rules}`:
   * every alert's latest state (firing, then pending, then resolved), and its transitions newest first (page with `before`).
   */
  @Get()
  async list(@Query() query: unknown) {
    const q = parseQuery(alertsQuerySchema, query);
    const [namespace, name] = q.service ? (q.service.split('/') as [string, string]) : [];
    const service = namespace !== undefined && name !== undefined ? { namespace, name } : undefined;
    const states = (await this.alerts.states())
      .filter((s) => !service || (s.service.namespace === service.namespace && s.service.name === service.name))
      .sort((a, b) => ORDER[a.state] - ORDER[b.state] || b.updatedAt - a.updatedAt);
    const history = await this.alerts.history({ limit: q.limit, ...(service ? { service } : {}), ...(q.before !== undefined ? { beforeId: q.before } : {}) });
    const last = history[history.length - 1];
    const rules = Object.fromEntries(Object.entries(this.evaluation.rules).map(([rule, r]) => [rule, { ...r, for: formatDuration(r.forMs) }]));
    return {
      alerts: states.map((s) => ({ key: alertKey(s.rule, s.service), ...s })),
      history,
      ...(history.length === q.limit && last ? { nextBefore: last.id } : {}),
      rules,
    };
  }
}
