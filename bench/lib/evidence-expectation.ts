/*
 * What a Service's evidence must say, counted straight from the records a bench sent (independently of the hub's
 * storage and queries), and the comparison with what the hub's evidence endpoint answered. Counting rules as the
 * evidence states them (libs/shared/analysis evidence-types.ts): connections whose first packet fell in the window,
 * on their entry leg, not `not-service`; an update of a connection counts nothing new.
 */
import type { FlowRecord } from '@natlens/shared-model';

export interface Window {
  readonly from: number;
  readonly to: number;
}

/** The observed figures of one Service's evidence over one window, in a form two sources can be compared in. */
export interface EvidenceFigures {
  connections: number;
  byEntry: Record<string, number>;
  byVerdict: Record<string, number>;
  distinctOriginal: number;
  distinctSeenByPods: number;
  external: number;
  snatted: number;
  /** `node snatAddress` → connections */
  snatByNode: Record<string, number>;
  /** `namespace/pod` → connections (endpoints that served any) */
  endpoints: Record<string, number>;
  /** node → received / forwarded / dropped (nodes with any) */
  nodes: Record<string, { received: number; forwarded: number; dropped: number }>;
}

interface Tally {
  figures: EvidenceFigures;
  original: Set<string>;
  seen: Set<string>;
}

const add = (map: Record<string, number>, key: string, n = 1) => {
  map[key] = (map[key] ?? 0) + n;
};

export class EvidenceExpectation {
  private readonly tallies = new Map<string, Tally>();

  constructor(private readonly windows: Readonly<Record<string, Window>>) {}

  /** Counts a connection's first record (never its updates). */
  add(record: FlowRecord): void {
    if (record.leg !== 'entry' || record.verdict === 'not-service' || !record.service) return;
    for (const [label, window] of Object.entries(this.windows)) {
      if (record.firstSeen < window.from || record.firstSeen >= window.to) continue;
      const key = `${label} ${record.service.namespace}/${record.service.name}`;
      let tally = this.tallies.get(key);
      if (!tally) {
        tally = { figures: emptyFigures(), original: new Set(), seen: new Set() };
        this.tallies.set(key, tally);
      }
      const f = tally.figures;
      f.connections++;
      add(f.byEntry, record.service.entry);
      add(f.byVerdict, record.verdict);
      tally.original.add(record.realClient?.ip ?? record.original.src);
      tally.seen.add(record.translated.src);
      const node = (f.nodes[record.node] ??= { received: 0, forwarded: 0, dropped: 0 });
      if (record.verdict === 'dropped-no-local-endpoint') {
        node.dropped++;
        continue;
      }
      node.received++;
      if (record.endpoint) {
        add(f.endpoints, `${record.endpoint.namespace}/${record.endpoint.pod}`);
        if (record.endpoint.node !== undefined && record.endpoint.node !== record.node) node.forwarded++;
      }
      if (record.client.kind === 'external') {
        f.external++;
        if (record.snat) {
          f.snatted++;
          add(f.snatByNode, `${record.node} ${record.translated.src}`);
        }
      }
    }
  }

  /** The expected figures; a Service with no connection in the window has all-zero figures. */
  figures(label: string, service: string): EvidenceFigures {
    const tally = this.tallies.get(`${label} ${service}`);
    if (!tally) return emptyFigures();
    return { ...tally.figures, distinctOriginal: tally.original.size, distinctSeenByPods: tally.seen.size };
  }
}

function emptyFigures(): EvidenceFigures {
  return { connections: 0, byEntry: {}, byVerdict: {}, distinctOriginal: 0, distinctSeenByPods: 0, external: 0, snatted: 0, snatByNode: {}, endpoints: {}, nodes: {} };
}

/* eslint-disable @typescript-eslint/no-explicit-any -- the evidence response is read field by field */
/** The same figures from a `GET /api/services/:ns/:name/evidence` answer (DESIGN.md "Per-Service evidence"). */
export function figuresOfEvidence(evidence: any): EvidenceFigures {
  const nonZero = (o: Record<string, number>) => Object.fromEntries(Object.entries(o ?? {}).filter(([, n]) => n > 0));
  const nodes: EvidenceFigures['nodes'] = {};
  for (const n of evidence.nodes ?? []) {
    if (n.received > 0 || n.forwarded > 0 || n.dropped > 0) nodes[n.node] = { received: n.received, forwarded: n.forwarded, dropped: n.dropped };
  }
  return {
    connections: evidence.connections,
    byEntry: nonZero(evidence.byEntry),
    byVerdict: nonZero(evidence.byVerdict),
    distinctOriginal: evidence.clients.distinctOriginal,
    distinctSeenByPods: evidence.clients.distinctSeenByPods,
    external: evidence.snat.external,
    snatted: evidence.snat.snatted,
    snatByNode: Object.fromEntries((evidence.snat.byNode ?? []).map((g: any) => [`${g.node} ${g.snatAddress}`, g.connections])),
    endpoints: Object.fromEntries((evidence.endpoints ?? []).filter((e: any) => e.connections > 0).map((e: any) => [`${e.namespace}/${e.pod}`, e.connections])),
    nodes,
  };
}
/* eslint-enable @typescript-eslint/no-explicit-any */

/** The fields where two sets of figures differ (empty when they agree), e.g. `byVerdict.proxied: expected 12, got 11`. */
export function differences(expected: EvidenceFigures, actual: EvidenceFigures): string[] {
  const out: string[] = [];
  const walk = (path: string, a: unknown, b: unknown) => {
    if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
      for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) walk(path ? `${path}.${key}` : key, (a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]);
    } else if (a !== b) {
      out.push(`${path}: expected ${String(a)}, got ${String(b)}`);
    }
  };
  walk('', expected, actual);
  return out;
}
