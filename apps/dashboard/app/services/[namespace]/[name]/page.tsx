import Link from 'next/link';
import { ConnectionPath } from '../../../../components/ConnectionPath';
import { EmptyState, HubErrorBox, Verdict } from '../../../../components/Feedback';
import { Findings } from '../../../../components/Findings';
import { NatFailures } from '../../../../components/NatFailures';
import { NodeHealthCheck } from '../../../../components/NodeHealthCheck';
import { OverTimeChart } from '../../../../components/OverTimeChart';
import { Provenance } from '../../../../components/Provenance';
import { ShareChart } from '../../../../components/ShareChart';
import type { FlowRecord, HubErrorBody, LbModel, ServiceEvidence } from '../../../../lib/api-types';
import { count, percent, times } from '../../../../lib/format';
import { asHubError, hub } from '../../../../lib/hub';
import { type PageQuery, toSearchParams } from '../../../../lib/search-params';
import { formatInstant, parseTimeRange } from '../../../../lib/time-range';
import { withRange } from '../../../../lib/url';

export const dynamic = 'force-dynamic';

/** The record drawn as the example: an entry leg, SNAT'd when the Service's clients are SNAT'd at all. */
function exampleRecord(flows: FlowRecord[], evidence: ServiceEvidence): FlowRecord | undefined {
  const entries = flows.filter((f) => f.leg === 'entry' && f.verdict !== 'not-service');
  if (evidence.snat.snatted > 0) return entries.find((f) => f.snat && f.client.kind === 'external') ?? entries.find((f) => f.snat) ?? entries[0];
  return entries.find((f) => f.client.kind === 'external') ?? entries[0];
}

export default async function ServicePage({ params, searchParams }: { params: Promise<{ namespace: string; name: string }>; searchParams: PageQuery }) {
  const { namespace: rawNamespace, name: rawName } = await params;
  const namespace = decodeURIComponent(rawNamespace);
  const name = decodeURIComponent(rawName);
  const query = toSearchParams(await searchParams);
  const range = parseTimeRange(query, Date.now());
  let evidence: ServiceEvidence | undefined;
  let flows: FlowRecord[] = [];
  let error: HubErrorBody | undefined;
  let flowsError: HubErrorBody | undefined;
  const [evidenceResult, flowsResult] = await Promise.allSettled([
    hub.evidence(namespace, name, range),
    hub.flows({ service: `${namespace}/${name}`, from: String(range.from), to: String(range.to), limit: '50' }),
  ]);
  if (evidenceResult.status === 'fulfilled') evidence = evidenceResult.value;
  else error = asHubError(evidenceResult.reason);
  if (flowsResult.status === 'fulfilled') flows = flowsResult.value.flows;
  else flowsError = asHubError(flowsResult.reason);

  const back = withRange('/services', query);
  const liveLink = withRange('/live', query, { service: `${namespace}/${name}` });
  return (
    <>
      <p className="muted" style={{ margin: 0 }}>
        <Link href={back}>← Services</Link>
      </p>
      <h1>
        {namespace}/{name}
        {evidence && (
          <span className="muted" style={{ fontWeight: 400, fontSize: 14 }}>
            {' '}
            · {evidence.service.type} · externalTrafficPolicy: {evidence.service.externalTrafficPolicy}
            {evidence.service.healthCheckNodePort ? ` · healthCheckNodePort ${evidence.service.healthCheckNodePort}` : ''}
          </span>
        )}
      </h1>
      <p className="muted" data-testid="window">
        {range.label} · {formatInstant(range.from)} → {formatInstant(range.to)} UTC · <Link href={liveLink}>watch live</Link>
      </p>
      {range.error && <div className="notice">{range.error}</div>}
      {error && <HubErrorBox error={error} what={`the evidence of ${namespace}/${name}`} />}
      {evidence && <Evidence evidence={evidence} example={exampleRecord(flows, evidence)} flowsError={flowsError} range={range} />}
    </>
  );
}

function Evidence({ evidence, example, flowsError, range }: { evidence: ServiceEvidence; example: FlowRecord | undefined; flowsError: HubErrorBody | undefined; range: { from: number; to: number } }) {
  const predicted = new Map(evidence.imbalance.predicted.map((p) => [p.pod, p.share]));
  const shareRows = evidence.endpoints.map((e) => {
    const p = predicted.get(`${e.namespace}/${e.pod}`);
    return { pod: e.pod, share: e.share, expectedShare: e.expectedShare, ...(p !== undefined ? { predictedShare: p } : {}) };
  });
  const verdicts = Object.entries(evidence.byVerdict).filter(([, n]) => (n ?? 0) > 0);
  return (
    <>
      <div className="cards" data-testid="evidence-cards">
        <div className="card">
          <div className="label">
            Connections <Provenance evidence={evidence} figure="connections" />
          </div>
          <div className="value" data-evidence="connections">{count(evidence.connections)}</div>
          <div className="sub">
            {Object.entries(evidence.byEntry)
              .filter(([, n]) => n > 0)
              .map(([k, n]) => `${k} ${count(n)}`)
              .join(' · ') || 'none in this window'}
          </div>
        </div>
        <div className="card">
          <div className="label">
            External clients SNAT&apos;d <Provenance evidence={evidence} figure="snat" />
          </div>
          <div className="value" data-evidence="snat-ratio">{evidence.snat.external > 0 ? percent(evidence.snat.ratio) : '–'}</div>
          <div className="sub">
            <span data-evidence="snat-snatted">{count(evidence.snat.snatted)}</span> of <span data-evidence="snat-external">{count(evidence.snat.external)}</span> external
            {evidence.snat.carried > 0 && (
              <>
                {' '}· client carried in a proxy header for <span data-evidence="snat-carried">{count(evidence.snat.carried)}</span>
              </>
            )}
          </div>
        </div>
        <div className="card">
          <div className="label">
            Distinct clients <Provenance evidence={evidence} figure="clients" />
          </div>
          <div className="value">
            <span data-evidence="clients-original">{count(evidence.clients.distinctOriginal)}</span> → <span data-evidence="clients-seen">{count(evidence.clients.distinctSeenByPods)}</span>
          </div>
          <div className="sub">
            as sent → as the pods saw them
            {evidence.clients.viaProxy > 0 && (
              <>
                {' '}· <span data-evidence="clients-via-proxy">{count(evidence.clients.viaProxy)}</span> connections named their client in a PROXY protocol / X-Forwarded-For header
              </>
            )}
          </div>
        </div>
        <div className="card">
          <div className="label">
            Imbalance (max / mean) <Provenance evidence={evidence} figure="imbalance.observed" />
          </div>
          <div className="value" data-evidence="imbalance">{times(evidence.imbalance.maxOverMean)}</div>
          <div className="sub">
            busiest pod {percent(evidence.imbalance.maxShare)}, quietest {percent(evidence.imbalance.minShare)}
          </div>
        </div>
      </div>

      {evidence.connections === 0 && (
        <div className="panel">
          <EmptyState title="No connections to this Service in this window">
            <p>Widen the time range above, or send traffic to the Service and watch it arrive on the Live page. If traffic runs but nothing shows, check that a natlens agent runs on every node that receives it.</p>
          </EmptyState>
        </div>
      )}

      <div className="panel">
        <h2>The path of a connection</h2>
        {flowsError ? <div className="error">Could not load an example record: {flowsError.message} <code>({flowsError.code})</code></div> : example ? <ConnectionPath record={example} /> : <p className="muted">No record in this window to draw the path from.</p>}
        {verdicts.length > 0 && (
          <p style={{ marginBottom: 0 }}>
            Verdicts:{' '}
            {verdicts.map(([v, n]) => (
              <span key={v} style={{ marginRight: 10 }} data-verdict={v}>
                <Verdict verdict={v} /> <span data-evidence={`verdict-${v}`}>{count(n ?? 0)}</span>
              </span>
            ))}
          </p>
        )}
      </div>

      <div className="panel">
        <h2>Findings</h2>
        <Findings evidence={evidence} />
      </div>

      {evidence.natFailures && evidence.natFailures.observed + evidence.natFailures.estimated > 0 && <NatFailures failures={evidence.natFailures} />}

      <div className="grid2">
        <div className="panel">
          <h2>Share of connections per pod</h2>
          {evidence.imbalance.model && <LoadBalancerModel evidence={evidence} model={evidence.imbalance.model} />}
          {shareRows.length > 0 ? <ShareChart rows={shareRows} /> : <p className="muted">The Service has no endpoints.</p>}
          <div className="table-wrap">
            <table className="data" data-testid="endpoints-table">
              <thead>
                <tr>
                  <th>Pod</th>
                  <th>Node</th>
                  <th className="num">
                    Connections <Provenance evidence={evidence} figure="endpoints.connections" />
                  </th>
                  <th className="num">Share</th>
                  <th className="num">
                    Expected <Provenance evidence={evidence} figure="endpoints.expectedShare" />
                  </th>
                  <th className="num">
                    Predicted <Provenance evidence={evidence} figure="imbalance.predicted" />
                  </th>
                </tr>
              </thead>
              <tbody>
                {evidence.endpoints.map((e) => {
                  const p = predicted.get(`${e.namespace}/${e.pod}`);
                  return (
                    <tr key={`${e.namespace}/${e.pod}`} data-pod={`${e.namespace}/${e.pod}`}>
                      <td>{e.pod}</td>
                      <td>{e.node}</td>
                      <td className="num" data-col="connections">{count(e.connections)}</td>
                      <td className="num" data-col="share">{percent(e.share)}</td>
                      <td className="num" data-col="expected">{percent(e.expectedShare)}</td>
                      <td className="num" data-col="predicted">{p === undefined ? '–' : percent(p)}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        </div>
        <div className="panel">
          <h2>Nodes</h2>
          <div className="table-wrap">
            <table className="data" data-testid="nodes-table">
              <thead>
                <tr>
                  <th>Node</th>
                  <th className="num">
                    Local pods <Provenance evidence={evidence} figure="nodes.localEndpoints" />
                  </th>
                  <th className="num">
                    Received <Provenance evidence={evidence} figure="nodes.traffic" />
                  </th>
                  <th className="num">Forwarded</th>
                  <th className="num">Dropped</th>
                  <th>
                    Health check: expected <Provenance evidence={evidence} figure="nodes.healthCheck" /> · observed{' '}
                    <Provenance evidence={evidence} figure="nodes.healthCheck.observed" />
                  </th>
                  <th>SNAT address</th>
                </tr>
              </thead>
              <tbody>
                {evidence.nodes.map((n) => {
                  const snat = evidence.snat.byNode.filter((b) => b.node === n.node);
                  return (
                    <tr key={n.node} data-node={n.node}>
                      <td>{n.node}</td>
                      <td className="num" data-col="localEndpoints">{n.localEndpoints}</td>
                      <td className="num" data-col="received">{count(n.received)}</td>
                      <td className="num" data-col="forwarded">{count(n.forwarded)}</td>
                      <td className="num" data-col="dropped" style={n.dropped > 0 ? { color: 'var(--bad)', fontWeight: 600 } : undefined}>
                        {count(n.dropped)}
                      </td>
                      <td>
                        <NodeHealthCheck check={n.healthCheck} />
                      </td>
                      <td className="mono wrap">{snat.length > 0 ? snat.map((b) => `${b.snatAddress} ×${count(b.connections)}`).join(', ') : <span className="muted">–</span>}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        </div>
      </div>

      <div className="panel" style={{ marginTop: 16 }}>
        <h2>Over time</h2>
        <OverTimeChart from={range.from} to={range.to} source={{ kind: 'service', namespace: evidence.service.namespace, name: evidence.service.name }} />
      </div>
    </>
  );
}

/** The load balancer's distribution model the predictions assume, and where it came from. */
function LoadBalancerModel({ evidence, model }: { evidence: ServiceEvidence; model: LbModel }) {
  const inference = model.inference;
  const split = inference && inference.nodes.length > 0 ? inference.nodes.map((n) => `${n.node} ${count(n.connections)}`).join(', ') : undefined;
  return (
    <p className="muted" data-testid="lb-model" style={{ marginTop: 0 }}>
      Load balancer split: <strong data-evidence="lb-distribution">{model.distribution}</strong>
      {model.entryNode ? ` (everything to ${model.entryNode})` : ''}
      <Provenance evidence={evidence} figure="imbalance.model" />
      {split && (
        <>
          {' '}
          · observed over entry nodes: {split} ({count(inference?.connections ?? 0)} connections, {count(inference?.minConnections ?? 0)} needed to infer)
        </>
      )}
    </p>
  );
}
