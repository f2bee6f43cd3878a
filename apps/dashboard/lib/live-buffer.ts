import type { FlowRecord, LiveRow } from './api-types';
import { tupleText } from './format';

/*
 * The live table keeps a bounded window of the newest rows: at 2,000 records/s the browser renders at most a few
 * hundred rows a few times a second, never one DOM update per record.
 */
export const MAX_LIVE_ROWS = 200;

export interface LiveFilter {
  service?: string;
  node?: string;
  client?: string;
  verdict?: string;
}

export function matchesLiveFilter(record: FlowRecord, filter: LiveFilter): boolean {
  if (filter.service && (!record.service || `${record.service.namespace}/${record.service.name}` !== filter.service)) return false;
  if (filter.node && record.node !== filter.node) return false;
  if (filter.client && record.original.src !== filter.client && record.client.ip !== filter.client) return false;
  if (filter.verdict && record.verdict !== filter.verdict) return false;
  return true;
}

export function toLiveRow(record: FlowRecord): LiveRow {
  return {
    id: `${record.node}|${record.flowId}|${record.lastSeen}`,
    at: record.firstSeen,
    node: record.node,
    ...(record.service ? { service: `${record.service.namespace}/${record.service.name}` } : {}),
    original: tupleText(record.original),
    translated: tupleText(record.translated),
    snat: record.snat,
    verdict: record.verdict,
    ...(record.endpoint ? { pod: `${record.endpoint.namespace}/${record.endpoint.pod}` } : {}),
    client: record.client.ip,
    ...(record.leg === 'forwarded' ? { forwardedFrom: record.entryNode ?? 'another node' } : {}),
  };
}

/** Newest first, at most `max`: new rows go on top, the oldest fall off. */
export function prependRows(current: readonly LiveRow[], incoming: readonly LiveRow[], max = MAX_LIVE_ROWS): LiveRow[] {
  if (incoming.length >= max) return incoming.slice(-max).reverse();
  const fresh = incoming.slice().reverse();
  return fresh.concat(current.slice(0, max - fresh.length));
}
