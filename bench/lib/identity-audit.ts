/*
 * The audit by identity: each connection the traffic generator made, named by its client tuple (bench/lib/tuple-traffic.ts),
 * looked up among the records a hub stored (GET /api/flows), rather than a count of records set against a count of
 * connections (which a duplicate hides as well as a loss). Pure: the benches fetch, this compares.
 *
 * A client may reuse a source port within a run (the kernel's ephemeral range is ~28k ports): each connection is its
 * own conntrack entry, so the agent gives it a flowId of its own (DESIGN.md: a record's identity is (node, flowId)),
 * and the audit compares, per tuple, how many connections were made with how many distinct records hold it.
 */
export interface StoredFlow {
  flowId: string;
  node?: string;
  firstSeen: number;
  original: { src: string; sport: number; dst: string; dport: number; proto: string };
}

export interface IdentityAudit {
  /** Connections the generator made that reached the server (one tuple each). */
  made: number;
  /** Of them, connections with a stored record of their own. */
  found: number;
  missing: number;
  /** A few missing client tuples, `src:sport`. */
  missingExamples: string[];
  /** Records stored for the frontend in the run's window. */
  storedForFrontend: number;
  /** Of them, records whose client tuple the generator did not make (another client, or an earlier run). */
  storedNotMade: number;
  /** Tuples the generator used more than once in the run (port reuse). */
  reusedTuples: number;
  foundShare: number;
}

/** The generator's file: one `src:sport` line per connection. */
export function parseTupleLines(text: string): string[] {
  const out: string[] = [];
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '') continue;
    const colon = line.lastIndexOf(':');
    const port = Number(line.slice(colon + 1));
    if (colon <= 0 || !Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`tuples line ${i + 1}: expected src:sport, got '${line.slice(0, 80)}'`);
    out.push(`${line.slice(0, colon)}:${port}`);
  }
  return out;
}

export function auditByIdentity(madeTuples: readonly string[], stored: readonly StoredFlow[], frontend: { address: string; port: number }): IdentityAudit {
  const made = new Map<string, number>();
  for (const t of madeTuples) made.set(t, (made.get(t) ?? 0) + 1);
  const records = new Map<string, Set<string>>();
  let storedForFrontend = 0;
  let storedNotMade = 0;
  for (const r of stored) {
    if (r.original.dst !== frontend.address || r.original.dport !== frontend.port) continue;
    storedForFrontend++;
    const tuple = `${r.original.src}:${r.original.sport}`;
    if (!made.has(tuple)) {
      storedNotMade++;
      continue;
    }
    const ids = records.get(tuple) ?? new Set<string>();
    ids.add(`${r.node ?? ''}|${r.flowId}`);
    records.set(tuple, ids);
  }
  let found = 0;
  const missingExamples: string[] = [];
  let reusedTuples = 0;
  for (const [tuple, n] of made) {
    if (n > 1) reusedTuples++;
    const have = Math.min(n, records.get(tuple)?.size ?? 0);
    found += have;
    if (have < n && missingExamples.length < 10) missingExamples.push(tuple);
  }
  const total = madeTuples.length;
  return { made: total, found, missing: total - found, missingExamples, storedForFrontend, storedNotMade, reusedTuples, foundShare: total ? Number((found / total).toFixed(5)) : 1 };
}
