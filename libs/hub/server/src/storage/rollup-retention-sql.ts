import type { SqlQuery } from './flow-sql';
import { MINUTE_MS, MINUTES_PER_HOUR } from './ingest-plan';

/*
 * Expiring the rollups, written once for both stores (placeholders differ only). Minute rows before the cutoff go;
 * an hour row goes when its whole hour is before it, and the hour the cutoff falls in is summed again from its minutes
 * that remain, so an hour row always equals its minutes. A client's latest hour goes once that whole hour is past the
 * cutoff (a window reaching past the cutoff counts expired data either way); so does a proxy address's hour (it has no
 * minutes to be summed again from: the hour the cutoff falls in is kept whole). Then stale latest hours (migration 9)
 * are recomputed from client_minute: rare (a re-sent record must take a connection out of a client's latest hour),
 * and until then evidence counts those Services the long way.
 */

export interface RetentionStatement extends SqlQuery {
  /** Its changed rows are expired rollup rows (a rebuild or a repair is not). */
  readonly counts: boolean;
}

/** client_latest's upsert condition (both stores): the hour moves up, or an active hour clears a stale mark. */
export const CLIENT_LATEST_UPSERT_WHERE = 'WHERE excluded.last_hour > client_latest.last_hour OR (excluded.last_hour = client_latest.last_hour AND client_latest.stale = 1)';

const FLOW_DIMS = 'node, entry, verdict, client_kind, snat, snat_address, ep_namespace, ep_pod, ep_node';
const SAME_CLIENT = 'c.service_key = client_latest.service_key AND c.side = client_latest.side AND c.address = client_latest.address AND c.connections > 0';

export function rollupRetentionStatements(dialect: 'sqlite' | 'postgres', rollupsBefore: number): RetentionStatement[] {
  const $ = (n: number) => (dialect === 'postgres' ? `$${n}` : '?');
  const minute = Math.floor(rollupsBefore / MINUTE_MS);
  const hour = Math.floor(minute / MINUTES_PER_HOUR);
  const statements: RetentionStatement[] = [
    { text: `DELETE FROM flow_minute WHERE minute < ${$(1)}`, params: [minute], counts: true },
    { text: `DELETE FROM client_minute WHERE minute < ${$(1)}`, params: [minute], counts: true },
    { text: `DELETE FROM flow_hour WHERE hour < ${$(1)}`, params: [hour], counts: true },
    { text: `DELETE FROM client_latest WHERE last_hour < ${$(1)}`, params: [hour], counts: true },
    { text: `DELETE FROM proxy_hour WHERE hour < ${$(1)}`, params: [hour], counts: true },
  ];
  if (minute % MINUTES_PER_HOUR !== 0) {
    statements.push(
      { text: `DELETE FROM flow_hour WHERE hour = ${$(1)}`, params: [hour], counts: false },
      {
        text: `INSERT INTO flow_hour (service_key, hour, ${FLOW_DIMS}, connections)
          SELECT service_key, ${$(1)}, ${FLOW_DIMS}, SUM(connections) FROM flow_minute WHERE minute >= ${$(2)} AND minute < ${$(3)}
          GROUP BY service_key, ${FLOW_DIMS} HAVING SUM(connections) <> 0`,
        params: [hour, hour * MINUTES_PER_HOUR, (hour + 1) * MINUTES_PER_HOUR],
        counts: false,
      },
    );
  }
  statements.push(
    { text: `DELETE FROM client_latest WHERE stale = 1 AND NOT EXISTS (SELECT 1 FROM client_minute c WHERE ${SAME_CLIENT})`, params: [], counts: false },
    { text: `UPDATE client_latest SET last_hour = (SELECT MAX(c.minute) FROM client_minute c WHERE ${SAME_CLIENT}) / ${MINUTES_PER_HOUR}, stale = 0 WHERE stale = 1`, params: [], counts: false },
  );
  return statements;
}
