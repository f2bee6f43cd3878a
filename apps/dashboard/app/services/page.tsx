import Link from 'next/link';
import { EmptyState, HubErrorBox } from '../../components/Feedback';
import { ServicesTable } from '../../components/ServicesTable';
import type { HubErrorBody, ServicesResponse } from '../../lib/api-types';
import { asHubError, hub } from '../../lib/hub';
import { type PageQuery, toSearchParams } from '../../lib/search-params';
import { formatInstant, parseTimeRange } from '../../lib/time-range';
import { fetchAlerts } from '../alerts/alerts-api';
import { alertBadges } from '../alerts/alerts-types';

export const dynamic = 'force-dynamic';

export default async function ServicesPage({ searchParams }: { searchParams: PageQuery }) {
  const params = toSearchParams(await searchParams);
  const range = parseTimeRange(params, Date.now());
  let data: ServicesResponse | undefined;
  let error: HubErrorBody | undefined;
  // Alerts are a badge beside the numbers: a hub that cannot list them still shows its Services.
  const alerts = fetchAlerts({ limit: 1 }).then((a) => alertBadges(a.alerts), () => undefined);
  try {
    data = await hub.services(range);
  } catch (err) {
    error = asHubError(err);
  }
  const badges = await alerts;
  return (
    <>
      <h1>Services</h1>
      <p className="muted" data-testid="window">
        {range.label} · {formatInstant(range.from)} → {formatInstant(range.to)} UTC · connections counted once, on the node where kube-proxy translated them
      </p>
      {range.error && <div className="notice">{range.error}</div>}
      {error && <HubErrorBox error={error} what="the Services" />}
      {data && data.services.length === 0 && (
        <div className="panel">
          <EmptyState title="No Services yet">
            <p>
              The hub knows no Service: give it cluster metadata (<code>natlens hub --inventory FILE</code> or <code>--kubeconfig</code>) or start agents that send records (
              <code>natlens agent --hub URL</code>). To try natlens on this machine, run <code>sudo node bin/natlens demo</code>.
            </p>
          </EmptyState>
        </div>
      )}
      {data && data.services.length > 0 && (
        <>
          {data.services.every((s) => s.connections === 0) && (
            <div className="notice">
              No connections in this window. Widen the time range, or check that agents run on the nodes that receive traffic (<Link href="/live">Live</Link> shows records as they arrive).
            </div>
          )}
          <ServicesTable services={data.services} window={data.window} {...(badges ? { alerts: badges } : {})} />
        </>
      )}
    </>
  );
}
