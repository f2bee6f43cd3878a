import { ConntrackCharts } from '../../components/ConntrackCharts';
import { EmptyState, HubErrorBox } from '../../components/Feedback';
import type { HubErrorBody, NodesResponse } from '../../lib/api-types';
import { count, percent } from '../../lib/format';
import { asHubError, hub } from '../../lib/hub';
import { nodeProblems, ratePerSecond, SNAT_USAGE_WARN, TABLE_FILL_WARN } from '../../lib/node-health';
import { type PageQuery, toSearchParams } from '../../lib/search-params';
import { formatInstant, parseTimeRange } from '../../lib/time-range';

export const dynamic = 'force-dynamic';

const bad = { color: 'var(--bad)', fontWeight: 600 } as const;

/**
 * Conntrack and SNAT health per node (issue 20): entries against nf_conntrack_max, the failure rates, the busiest SNAT
 * pairs, and each node's history over the chosen range. Every figure is observed by the node's agent over ctnetlink;
 * rates are derived by the hub from successive reports.
 */
export default async function NodesPage({ searchParams }: { searchParams: PageQuery }) {
  const range = parseTimeRange(toSearchParams(await searchParams), Date.now());
  let data: NodesResponse | undefined;
  let error: HubErrorBody | undefined;
  try {
    data = await hub.nodes();
  } catch (err) {
    error = asHubError(err);
  }
  const withPairs = data?.nodes.filter((n) => n.snatPorts.length > 0) ?? [];
  return (
    <>
      <h1>Nodes</h1>
      <p className="muted">
        Conntrack table pressure, insert failures and SNAT port usage per node, observed by each node&apos;s agent over ctnetlink (not /proc). Rates are the counters&apos; increase between reports
        {data ? ` over the last ${Math.round(data.rateWindowMs / 60_000)} minutes` : ''}; the alerting rules fire above {percent(TABLE_FILL_WARN, 0)} table fill, on any insert_failed for 5 minutes, and
        above {percent(SNAT_USAGE_WARN, 0)} of a SNAT pair&apos;s port range.
      </p>
      {error && <HubErrorBox error={error} what="the nodes" />}
      {data && data.nodes.length === 0 && (
        <EmptyState title="No node has reported yet">
          <p>Agents send a node report every few seconds; check that they run and reach the hub.</p>
        </EmptyState>
      )}
      {data && data.nodes.length > 0 && (
        <>
          <section className="panel">
            <h2>Conntrack now</h2>
            <div className="table-wrap">
              <table className="data" data-testid="nodes-conntrack">
                <thead>
                  <tr>
                    <th>Node</th>
                    <th>Reported (UTC)</th>
                    <th className="num">Entries / max</th>
                    <th className="num">Fill</th>
                    <th className="num">insert_failed</th>
                    <th className="num">drop</th>
                    <th className="num">early_drop</th>
                    <th className="num">clash_resolve</th>
                    <th className="num">Fullest SNAT pair</th>
                    <th>Needs attention</th>
                  </tr>
                </thead>
                <tbody>
                  {data.nodes.map((n) => {
                    const ct = n.conntrack;
                    const fullest = n.snatPorts[0];
                    const problems = nodeProblems(n);
                    return (
                      <tr key={n.node} data-node={n.node} className={problems.length > 0 ? 'sev-warning' : undefined}>
                        <td>{n.node}</td>
                        <td data-col="at">
                          {formatInstant(n.at)}
                          {n.stale && <span className="muted"> (overdue)</span>}
                        </td>
                        <td className="num" data-col="entries">{ct ? `${count(ct.entries)} / ${ct.max === null ? '?' : count(ct.max)}` : <span className="muted">not reported</span>}</td>
                        <td className="num" data-col="fill" style={ct?.fill !== null && ct?.fill !== undefined && ct.fill > TABLE_FILL_WARN ? bad : undefined}>
                          {ct?.fill === null || ct?.fill === undefined ? '–' : percent(ct.fill)}
                        </td>
                        <td className="num" data-col="insertFailed" style={(ct?.rates.insertFailed ?? 0) > 0 ? bad : undefined}>{ratePerSecond(ct?.rates.insertFailed)}</td>
                        <td className="num" data-col="drop" style={(ct?.rates.drop ?? 0) > 0 ? bad : undefined}>{ratePerSecond(ct?.rates.drop)}</td>
                        <td className="num" data-col="earlyDrop">{ratePerSecond(ct?.rates.earlyDrop)}</td>
                        <td className="num" data-col="clashResolve">{ratePerSecond(ct?.rates.clashResolve)}</td>
                        <td className="num" data-col="snatPeak" style={fullest && fullest.usage > SNAT_USAGE_WARN ? bad : undefined}>{fullest ? percent(fullest.usage) : '–'}</td>
                        <td data-col="problems" className="wrap">{problems.length > 0 ? problems.join(', ') : <span className="muted">–</span>}</td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
            <p className="muted">
              insert_failed: new entries that clashed at confirmation (the DNS race of two queries from one socket; a full table). drop: packets dropped because no entry could be made. early_drop:
              entries evicted to make room. clash_resolve: clashes the kernel resolved without a drop. The README (&quot;Conntrack and SNAT health&quot;) says what to do about each, and what that costs.
            </p>
          </section>
          <section className="panel">
            <h2>Busiest SNAT pairs</h2>
            {withPairs.length === 0 ? (
              <p className="muted">No node reported SNAT port usage.</p>
            ) : (
              <div className="table-wrap">
                <table className="data" data-testid="snat-pairs">
                  <thead>
                    <tr>
                      <th>Node</th>
                      <th>SNAT address</th>
                      <th>Destination</th>
                      <th className="num">Ports in use / range</th>
                      <th className="num">Usage</th>
                      <th>Range from</th>
                    </tr>
                  </thead>
                  <tbody>
                    {withPairs.flatMap((n) =>
                      n.snatPorts.slice(0, 10).map((p) => (
                        <tr key={`${n.node}|${p.snatAddress}|${p.destination}|${p.destinationPort}|${p.protocol}`} data-pair={`${n.node}|${p.snatAddress}>${p.destination}:${p.destinationPort}/${p.protocol}`}>
                          <td>{n.node}</td>
                          <td className="mono">{p.snatAddress}</td>
                          <td className="mono">
                            {p.destination}:{p.destinationPort}/{p.protocol}
                          </td>
                          <td className="num" data-col="inUse">
                            {count(p.inUse)} / {count(p.rangeSize)}
                          </td>
                          <td className="num" data-col="usage" style={p.usage > SNAT_USAGE_WARN ? bad : undefined}>{percent(p.usage)}</td>
                          <td className="muted">{p.rangeBasis === 'nat-rule' ? `masquerade rule ${p.range.min}-${p.range.max}` : `kernel default ${p.range.min}-${p.range.max}`}</td>
                        </tr>
                      )),
                    )}
                  </tbody>
                </table>
              </div>
            )}
          </section>
          <section className="panel">
            <h2>Over time ({range.label})</h2>
            <ConntrackCharts from={range.from} to={range.to} />
          </section>
        </>
      )}
    </>
  );
}
