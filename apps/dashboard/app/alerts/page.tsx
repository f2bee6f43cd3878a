import Link from 'next/link';
import { EmptyState, HubErrorBox } from '../../components/Feedback';
import type { HubErrorBody } from '../../lib/api-types';
import { asHubError } from '../../lib/hub';
import { type PageQuery, toSearchParams } from '../../lib/search-params';
import { formatInstant } from '../../lib/time-range';
import { fetchAlerts } from './alerts-api';
import type { AlertsResponse } from './alerts-types';

export const dynamic = 'force-dynamic';

const serviceHref = (s: { namespace: string; name: string }) => `/services/${encodeURIComponent(s.namespace)}/${encodeURIComponent(s.name)}`;
const value = (n: number) => (Number.isInteger(n) ? n.toLocaleString('en-US') : n.toFixed(2));

function AlertTable({ alerts, state }: { alerts: AlertsResponse['alerts']; state: 'firing' | 'pending' }) {
  if (alerts.length === 0) return <p className="muted">{state === 'firing' ? 'Nothing is firing.' : 'Nothing is pending.'}</p>;
  return (
    <div className="table-wrap">
      <table className="data" data-testid={`alerts-${state}`}>
        <thead>
          <tr>
            <th>Alert</th>
            <th>Service</th>
            <th>Severity</th>
            <th className="num">Value</th>
            <th className="num">Threshold</th>
            <th>{state === 'firing' ? 'Firing since' : 'Pending since'}</th>
            <th>What was measured</th>
          </tr>
        </thead>
        <tbody>
          {alerts.map((a) => (
            <tr key={a.key} data-alert={a.key} className={`sev-${a.severity}`}>
              <td>
                <strong>{a.rule}</strong>
              </td>
              <td>
                <Link href={serviceHref(a.service)} data-col="service">
                  {a.service.namespace}/{a.service.name}
                </Link>
              </td>
              <td data-col="severity">{a.severity}</td>
              <td className="num" data-col="value">{value(a.value)}</td>
              <td className="num" data-col="threshold">{value(a.threshold)}</td>
              <td data-col="since">{formatInstant(state === 'firing' ? (a.firedAt ?? a.activeSince) : a.activeSince)} UTC</td>
              <td className="muted">{a.summary}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export default async function AlertsPage({ searchParams }: { searchParams: PageQuery }) {
  const params = toSearchParams(await searchParams);
  const service = params.get('service') ?? undefined;
  const beforeText = params.get('before');
  const before = beforeText && /^\d+$/.test(beforeText) ? Number(beforeText) : undefined;
  let data: AlertsResponse | undefined;
  let error: HubErrorBody | undefined;
  try {
    data = await fetchAlerts({ ...(service ? { service } : {}), limit: 100, ...(before !== undefined ? { before } : {}) });
  } catch (err) {
    error = asHubError(err);
  }
  const firing = data?.alerts.filter((a) => a.state === 'firing') ?? [];
  const pending = data?.alerts.filter((a) => a.state === 'pending') ?? [];
  return (
    <>
      <h1>Alerts{service ? ` for ${service}` : ''}</h1>
      <p className="muted">
        Rules evaluated per Service by the hub (states pending → firing → resolved); notifications go to the hub&apos;s webhooks and Alertmanagers.
        {service && (
          <>
            {' '}
            <Link href="/alerts">All Services</Link>
          </>
        )}
      </p>
      {error && <HubErrorBox error={error} what="the alerts" />}
      {data && (
        <>
          <div className="cards">
            <div className="card">
              <div className="label">Firing</div>
              <div className="value" data-count="firing">{firing.length}</div>
            </div>
            <div className="card">
              <div className="label">Pending</div>
              <div className="value" data-count="pending">{pending.length}</div>
            </div>
          </div>
          <section className="panel">
            <h2>Firing</h2>
            <AlertTable alerts={firing} state="firing" />
          </section>
          <section className="panel">
            <h2>Pending</h2>
            <AlertTable alerts={pending} state="pending" />
          </section>
          <section className="panel">
            <h2>History</h2>
            {data.history.length === 0 ? (
              <EmptyState title="No alert has changed state yet">
                <p>Transitions appear here as the hub evaluates its rules.</p>
              </EmptyState>
            ) : (
              <div className="table-wrap">
                <table className="data" data-testid="alerts-history">
                  <thead>
                    <tr>
                      <th>When (UTC)</th>
                      <th>Alert</th>
                      <th>Service</th>
                      <th>Became</th>
                      <th className="num">Value</th>
                      <th>What was measured</th>
                    </tr>
                  </thead>
                  <tbody>
                    {data.history.map((h) => (
                      <tr key={h.id} data-history={h.id} data-transition={h.transition} data-alert={`${h.rule}|${h.service.namespace}/${h.service.name}`}>
                        <td>{formatInstant(h.at)}</td>
                        <td>{h.rule}</td>
                        <td>
                          <Link href={serviceHref(h.service)}>
                            {h.service.namespace}/{h.service.name}
                          </Link>
                        </td>
                        <td>
                          <span className={`badge alert-${h.transition}`}>{h.transition}</span>
                        </td>
                        <td className="num">{value(h.value)}</td>
                        <td className="muted">{h.summary}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
            {data.nextBefore !== undefined && (
              <p>
                <Link href={`/alerts?${new URLSearchParams({ ...(service ? { service } : {}), before: String(data.nextBefore) }).toString()}`} data-testid="history-older">
                  Older →
                </Link>
              </p>
            )}
          </section>
          <section className="panel">
            <h2>Rules</h2>
            <div className="table-wrap">
              <table className="data" data-testid="alert-rules">
                <thead>
                  <tr>
                    <th>Rule</th>
                    <th className="num">Threshold</th>
                    <th>For</th>
                    <th>Severity</th>
                    <th>Enabled</th>
                  </tr>
                </thead>
                <tbody>
                  {Object.entries(data.rules).map(([name, rule]) => (
                    <tr key={name} data-rule={name}>
                      <td>{name}</td>
                      <td className="num">{value(rule.threshold)}</td>
                      <td>{rule.for}</td>
                      <td>{rule.severity}</td>
                      <td>{rule.enabled ? 'yes' : 'no'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <p className="muted">
              Defaults and the hub&apos;s <code>--alert-rules</code> file; a Service overrides them with annotations such as <code>natlens.io/alert.LoadImbalance.threshold: &quot;3&quot;</code>.
            </p>
          </section>
        </>
      )}
    </>
  );
}
