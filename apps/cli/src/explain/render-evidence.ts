import type { NodeEvidence, ServiceEvidence } from '@natlens/shared-analysis';

/* `natlens explain`: the evidence of one Service as terminal tables, then its findings. Pure. */

function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((row) => row.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? '').length)));
  return cells.map((row) => row.map((cell, i) => (cell ?? '').padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n');
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/** What kube-proxy should answer, from the EndpointSlices (derived). */
function expectedAnswer(node: NodeEvidence): string {
  if (!node.healthCheck) return '-';
  return `${node.healthCheck.healthy ? 200 : 503} (${node.healthCheck.localEndpoints} local)`;
}

/** What it did answer when the node's agent probed it (observed). */
function observedAnswer(node: NodeEvidence): string {
  const observed = node.healthCheck?.observed;
  if (!node.healthCheck) return '-';
  if (!observed) return 'not reported';
  const answer = observed.httpStatus === null ? `no answer${observed.error ? `: ${observed.error}` : ''}` : `${observed.httpStatus}${observed.localEndpoints !== null ? ` (${observed.localEndpoints} local)` : ''}`;
  return `${answer} at ${new Date(observed.at).toISOString().slice(11, 19)}${observed.stale ? ' (stale: no newer report)' : ''}`;
}

export function renderEvidence(evidence: ServiceEvidence): string {
  const s = evidence.service;
  const lines: string[] = [];
  lines.push(`${s.namespace}/${s.name}  ${s.type}, externalTrafficPolicy: ${s.externalTrafficPolicy}${s.healthCheckNodePort ? `, healthCheckNodePort: ${s.healthCheckNodePort}` : ''}`);
  lines.push(`window ${new Date(evidence.window.from).toISOString()} → ${new Date(evidence.window.to).toISOString()}`);
  lines.push('');
  const entries = Object.entries(evidence.byEntry).filter(([, n]) => n > 0).map(([entry, n]) => `${entry} ${n}`).join(', ');
  const verdicts = Object.entries(evidence.byVerdict).map(([verdict, n]) => `${verdict} ${n}`).join(', ');
  lines.push(`connections ${evidence.connections}${entries ? `  (${entries})` : ''}`);
  if (verdicts) lines.push(`verdicts    ${verdicts}`);
  const viaProxy = evidence.clients.viaProxy > 0 ? `; ${evidence.clients.viaProxy} connection${evidence.clients.viaProxy === 1 ? "" : "s"} carried the client in a PROXY protocol / X-Forwarded-For header` : '';
  lines.push(`clients     ${evidence.clients.distinctOriginal} as sent, ${evidence.clients.distinctSeenByPods} as seen by pods${viaProxy}`);
  const carried = evidence.snat.carried > 0 ? `; the client of ${evidence.snat.carried} of them reached the pods in a proxy header` : '';
  lines.push(`SNAT        ${evidence.snat.snatted} of ${evidence.snat.external} external (${pct(evidence.snat.ratio)})${carried}`);
  if (evidence.snat.byNode.length > 0) {
    lines.push('');
    lines.push(table(['NODE', 'SNAT ADDRESS', 'CONNECTIONS'], evidence.snat.byNode.map((g) => [g.node, g.snatAddress, g.connections])));
  }
  const failures = evidence.natFailures;
  if (failures && failures.observed + failures.estimated > 0) {
    lines.push('');
    lines.push(`NAT failures ${failures.observed + failures.estimated} connection(s) dropped by conntrack or NAT: ${failures.observed} observed (seen per connection), ${failures.estimated} estimated (from the node's counters)`);
    lines.push(table(['NODE', 'REASON', 'KERNEL REASON', 'BASIS', 'CONNECTIONS'], failures.byReason.map((g) => [g.node, g.reason, g.kernelReason ?? '-', g.observed ? 'observed' : 'estimated', g.connections])));
  }
  if (evidence.endpoints.length > 0) {
    const predicted = new Map(evidence.imbalance.predicted.map((p) => [p.pod, p.share]));
    lines.push('');
    lines.push(
      table(
        ['POD', 'NODE', 'CONNECTIONS', 'SHARE', 'EXPECTED', 'PREDICTED'],
        evidence.endpoints.map((e) => [`${e.namespace}/${e.pod}`, e.node, e.connections, pct(e.share), pct(e.expectedShare), predicted.has(`${e.namespace}/${e.pod}`) ? pct(predicted.get(`${e.namespace}/${e.pod}`) ?? 0) : '-']),
      ),
    );
    lines.push(`max/mean ${evidence.imbalance.maxOverMean.toFixed(2)}, max share ${pct(evidence.imbalance.maxShare)}, min share ${pct(evidence.imbalance.minShare)}`);
    const model = evidence.imbalance.model;
    if (model) {
      const source = { annotation: 'stated by natlens.io/lb-distribution', inferred: 'inferred from the observed split over entry nodes', default: 'assumed' }[model.source];
      lines.push(`load balancer split ${model.distribution}${model.entryNode ? ` (everything to ${model.entryNode})` : ''}, ${source}`);
    }
    const derived = evidence.provenance['endpoints.expectedShare'] === 'records' ? 'the records (the hub has no cluster metadata)' : 'cluster objects';
    lines.push(`counts and shares observed; expected and predicted shares derived from ${derived}`);
  }
  if (evidence.nodes.length > 0) {
    const checked = evidence.nodes.some((n) => n.healthCheck);
    lines.push('');
    lines.push(
      table(
        ['NODE', 'LOCAL PODS', 'RECEIVED', 'FORWARDED', 'DROPPED', ...(checked ? ['HEALTH CHECK EXPECTED', 'OBSERVED'] : [])],
        evidence.nodes.map((n) => [n.node, n.localEndpoints, n.received, n.forwarded, n.dropped, ...(checked ? [expectedAnswer(n), observedAnswer(n)] : [])]),
      ),
    );
    if (checked) lines.push('health check: EXPECTED is derived from the EndpointSlices; OBSERVED is the answer the node\'s agent got probing it as a load balancer does');
  }
  lines.push('');
  if (evidence.findings.length === 0) lines.push('No findings: NAT did nothing to this Service that costs you.');
  for (const finding of evidence.findings) lines.push(`[${finding.severity.toUpperCase()}] ${finding.code}: ${finding.message}`, '');
  return `${lines.join('\n').trimEnd()}\n`;
}
