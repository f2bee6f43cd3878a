import type { ConntrackStats, FlowRecord, NatFailureReason, SnatPortUsage } from '@natlens/shared-model';

/*
 * NAT failures estimated from the node's conntrack counters, for the conntrack source (the eBPF source sees each
 * failure with its tuple instead). A packet conntrack refuses never becomes an entry, so ctnetlink has no event for
 * it: what the node shows is insert_failed and drop growing. This attributes that growth to the Services whose
 * connections began in the same interval on the path that fails, and says it is an estimate (observed: false). Pure.
 *
 * - SNAT port exhaustion: a (SNAT address, destination) pair holds nearly all the ports of its range; the
 *   failures are attributed to the Services whose connections used that pair in the interval.
 * - Table full: drop grew without insert_failed while the table was nearly full.
 * - Otherwise an insert failure (a clash): attributed over every Service with connections beginning in the interval,
 *   in proportion to them. This is the weakest estimate, and the record says so.
 *
 * Each estimated failure is one record (so a per-Service count of records counts failures), at most `limit` per
 * interval. Its tuples are the path's (client, Service frontend, SNAT address, endpoint) taken from the most recent
 * connection of that Service in the interval, with the ports nobody observed set to 0: the client's source port and
 * the SNAT port.
 */

/** A pair this full counts as exhausted: the kernel's random-fully search then rarely finds the few free ports. */
export const EXHAUSTED_PAIR_FILL = 0.9;
/** The table this full makes drop without insert_failed a table-full estimate. */
export const FULL_TABLE_FILL = 0.95;
export const DEFAULT_ESTIMATE_LIMIT = 50;

export interface FailureCounterSample {
  at: number;
  insertFailed: number;
  drop: number;
  entries: number;
  max: number | null;
}

/** The two counters the estimate needs, out of the statistics the agent reads over ctnetlink. */
export function failureCountersOf(stats: ConntrackStats): FailureCounterSample {
  return { at: stats.at, insertFailed: stats.counters.insertFailed ?? 0, drop: stats.counters.drop ?? 0, entries: stats.entries, max: stats.max };
}

export interface NatFailureEstimateInput {
  node: string;
  previous: FailureCounterSample;
  current: FailureCounterSample;
  /** Records of the connections that began on this node between the two samples. */
  attempts: FlowRecord[];
  /** The node's busiest SNAT pairs at `current`. */
  snatPairs?: SnatPortUsage[];
  limit?: number;
}

export interface NatFailureEstimate {
  reason: NatFailureReason;
  /** How many failures the counters say happened in the interval. */
  failures: number;
  /** One record per attributed failure (at most `limit`). */
  records: FlowRecord[];
}

const serviceKey = (r: FlowRecord): string => `${r.service?.namespace}/${r.service?.name}:${r.service?.port}`;
const pairSize = (p: SnatPortUsage): number => p.range.max - p.range.min + 1;

function usesPair(record: FlowRecord, pair: SnatPortUsage): boolean {
  const t = record.translated;
  return record.snat && t.src === pair.snatAddress && t.dst === pair.destination && t.dport === pair.destinationPort && t.proto === pair.protocol;
}

/** `total` split over the weights by largest remainder: integers that add up to `total`. */
function apportion(total: number, weights: number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  if (sum === 0) return weights.map(() => 0);
  const exact = weights.map((w) => (total * w) / sum);
  const shares = exact.map(Math.floor);
  let left = total - shares.reduce((a, b) => a + b, 0);
  const byRemainder = exact.map((x, i) => [x - Math.floor(x), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (const [, i] of byRemainder) {
    if (left-- <= 0) break;
    shares[i] = (shares[i] as number) + 1;
  }
  return shares;
}

export function estimateNatFailures(input: NatFailureEstimateInput): NatFailureEstimate | undefined {
  const { previous, current } = input;
  // A counter that went down: the namespace was made again (or the agent moved); nothing can be said this time.
  const insertFailed = current.insertFailed - previous.insertFailed;
  const drop = current.drop - previous.drop;
  if (insertFailed < 0 || drop < 0) return undefined;
  const tableFull = insertFailed === 0 && drop > 0 && current.max !== null && current.max > 0 && current.entries / current.max >= FULL_TABLE_FILL;
  const failures = tableFull ? drop : insertFailed;
  if (failures === 0) return undefined;

  const entries = input.attempts.filter((r) => r.service !== undefined && r.leg !== 'forwarded' && r.verdict !== 'dropped-nat-failure' && r.verdict !== 'dropped-no-local-endpoint');
  const exhausted = (input.snatPairs ?? []).filter((p) => p.inUse / pairSize(p) >= EXHAUSTED_PAIR_FILL);
  const onExhausted = entries.filter((r) => exhausted.some((p) => usesPair(r, p)));
  const reason: NatFailureReason = tableFull ? 'table-full' : onExhausted.length > 0 ? 'nat-port-exhausted' : 'insert-failed';
  const candidates = !tableFull && onExhausted.length > 0 ? onExhausted : entries;
  if (candidates.length === 0) return { reason, failures, records: [] };

  const groups = new Map<string, FlowRecord[]>();
  for (const r of candidates) groups.set(serviceKey(r), [...(groups.get(serviceKey(r)) ?? []), r]);
  const keys = [...groups.keys()].sort();
  const counts = apportion(Math.min(failures, input.limit ?? DEFAULT_ESTIMATE_LIMIT), keys.map((k) => (groups.get(k) as FlowRecord[]).length));
  const records: FlowRecord[] = [];
  keys.forEach((key, k) => {
    const group = groups.get(key) as FlowRecord[];
    const latest = group.reduce((a, b) => (b.firstSeen > a.firstSeen ? b : a));
    for (let i = 0; i < (counts[k] as number); i++) records.push(estimatedRecord(input.node, latest, reason, current.at, key, i));
  });
  return { reason, failures, records };
}

function estimatedRecord(node: string, path: FlowRecord, reason: NatFailureReason, at: number, key: string, i: number): FlowRecord {
  const record: FlowRecord = {
    node,
    source: 'conntrack',
    flowId: `estimate:${at}:${key}:${i}`,
    firstSeen: at,
    lastSeen: at,
    original: { ...path.original, sport: 0 },
    translated: { ...path.translated, sport: 0 },
    snat: path.snat,
    dnat: path.dnat,
    portRemap: path.portRemap,
    leg: 'entry',
    client: path.client,
    verdict: 'dropped-nat-failure',
    ended: true,
    zone: path.zone,
    natFailure: { reason, observed: false },
  };
  if (path.service) record.service = path.service;
  if (path.endpoint) record.endpoint = path.endpoint;
  if (path.entryNode) record.entryNode = path.entryNode;
  return record;
}
