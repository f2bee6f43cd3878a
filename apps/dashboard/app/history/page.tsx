import Link from 'next/link';
import { EmptyState, HubErrorBox } from '../../components/Feedback';
import { OverTimeChart } from '../../components/OverTimeChart';
import { TimeRangePicker } from '../../components/TimeRangePicker';
import type { HubErrorBody, ServicesResponse } from '../../lib/api-types';
import { count, percent } from '../../lib/format';
import { asHubError, hub } from '../../lib/hub';
import { type PageQuery, toSearchParams } from '../../lib/search-params';
import { formatInstant, parseTimeRange } from '../../lib/time-range';
import { withRange } from '../../lib/url';

export const dynamic = 'force-dynamic';

const TOP = 10;

export default async function HistoryPage({ searchParams }: { searchParams: PageQuery }) {
  const params = toSearchParams(await searchParams);
  const range = parseTimeRange(params, Date.now());
  let data: ServicesResponse | undefined;
  let error: HubErrorBody | undefined;
  try {
    data = await hub.services(range);
  } catch (err) {
    error = asHubError(err);
  }
  const services = data?.services ?? [];
  const total = services.reduce((n, s) => n + s.connections, 0);
  const external = services.reduce((n, s) => n + s.external, 0);
  const snatted = services.reduce((n, s) => n + s.snatted, 0);
  const top = [...services].sort((a, b) => b.snatted - a.snatted || b.connections - a.connections).slice(0, TOP);
  return (
    <>
      <h1>History</h1>
      <p className="muted">Pick the window every page shows (Services, Service detail); links keep it, so a shared link shows the same evidence.</p>
      <div className="panel">
        <TimeRangePicker />
        <p className="muted" style={{ marginBottom: 0 }} data-testid="window">
          Showing {range.label}: {formatInstant(range.from)} → {formatInstant(range.to)} UTC
        </p>
      </div>
      {range.error && <div className="notice">{range.error}</div>}
      {error && <HubErrorBox error={error} what="the Services for this window" />}
      {data && (
        <>
          <div className="cards">
            <div className="card">
              <div className="label">Connections</div>
              <div className="value" data-testid="history-connections">{count(total)}</div>
              <div className="sub">all Services</div>
            </div>
            <div className="card">
              <div className="label">External clients SNAT&apos;d</div>
              <div className="value">{external > 0 ? percent(snatted / external) : '–'}</div>
              <div className="sub">
                {count(snatted)} of {count(external)}
              </div>
            </div>
            <div className="card">
              <div className="label">Services</div>
              <div className="value">{count(services.length)}</div>
              <div className="sub">{count(services.filter((s) => s.connections > 0).length)} with traffic</div>
            </div>
          </div>
          <div className="panel">
            <h2>All Services over the window</h2>
            <OverTimeChart from={range.from} to={range.to} source={{ kind: 'all' }} />
          </div>
          <div className="panel">
            <h2>Most SNAT&apos;d Services in this window</h2>
            {total === 0 ? (
              <EmptyState title="No connections in this window">
                <p>Pick a longer range above. Records are kept for the hub&apos;s raw retention and as minute rollups for its rollup retention (see <code>natlens hub --raw-retention-hours / --rollup-retention-days</code>).</p>
              </EmptyState>
            ) : (
              <div className="table-wrap">
                <table className="data">
                  <thead>
                    <tr>
                      <th>Service</th>
                      <th className="num">Connections</th>
                      <th className="num">SNAT&apos;d external</th>
                    </tr>
                  </thead>
                  <tbody>
                    {top.map((s) => (
                      <tr key={`${s.namespace}/${s.name}`}>
                        <td>
                          <Link href={withRange(`/services/${encodeURIComponent(s.namespace)}/${encodeURIComponent(s.name)}`, params)}>
                            {s.namespace}/{s.name}
                          </Link>
                        </td>
                        <td className="num">{count(s.connections)}</td>
                        <td className="num">{s.external > 0 ? `${percent(s.snatRatio, 0)} of ${count(s.external)}` : '–'}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </div>
        </>
      )}
    </>
  );
}
