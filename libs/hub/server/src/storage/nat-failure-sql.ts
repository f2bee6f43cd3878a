import type { NatFailureRow, TimeWindow } from '@natlens/shared-analysis';
import type { Dialect, SqlQuery } from './flow-sql';
import type { ServiceKey } from './flow-repository';
import { serviceKeyOf } from './ingest-plan';
import { natFailureOfEncoded } from './record-codec';

/** At most this many failed connections are read per query: enough to name reasons and Services, bounded however bad a storm. */
export const NAT_FAILURE_SCAN = 50_000;

/**
 * The raw records with verdict dropped-nat-failure whose first packet fell in the window (of one Service when given),
 * newest first: their reasons live in the record itself, not in the rollups. Uses the first_seen (or the
 * (service_key, first_seen)) index; so the reasons reach back as far as raw retention, while the rollups' byVerdict
 * keeps counting them beyond it.
 */
export function natFailuresQuery(dialect: Dialect, window: TimeWindow, service?: ServiceKey): SqlQuery {
  const params: unknown[] = [];
  const p = (value: unknown) => {
    params.push(value);
    return dialect === 'postgres' ? `$${params.length}` : '?';
  };
  const byService = service ? `service_key = ${p(serviceKeyOf(service))} AND ` : "service_key <> '' AND ";
  return {
    text: `SELECT node, service_key, record FROM flows WHERE ${byService}first_seen >= ${p(window.from)} AND first_seen < ${p(window.to)} AND verdict = 'dropped-nat-failure' ORDER BY first_seen DESC LIMIT ${NAT_FAILURE_SCAN}`,
    params,
  };
}

/** A Service's failure row, as the evidence and the metrics group them. */
export interface ServiceNatFailureRow extends NatFailureRow {
  readonly service: ServiceKey;
}

export function toNatFailureRows(rows: readonly { node: string; service_key: string; record: string }[]): ServiceNatFailureRow[] {
  return rows.map((row) => {
    const slash = row.service_key.indexOf('/');
    const natFailure = natFailureOfEncoded(row.record);
    return { node: row.node, service: { namespace: row.service_key.slice(0, slash), name: row.service_key.slice(slash + 1) }, connections: 1, ...(natFailure ? { natFailure } : {}) };
  });
}
