import { HubErrorBox } from '../../components/Feedback';
import { LiveTable } from '../../components/LiveTable';
import type { HubErrorBody } from '../../lib/api-types';
import { asHubError, hub } from '../../lib/hub';

export const dynamic = 'force-dynamic';

export default async function LivePage() {
  let services: string[] = [];
  let error: HubErrorBody | undefined;
  try {
    const now = Date.now();
    services = (await hub.services({ from: now - 3600_000, to: now })).services.map((s) => `${s.namespace}/${s.name}`);
  } catch (err) {
    error = asHubError(err);
  }
  return (
    <>
      <h1>Live</h1>
      <p className="muted">Every connection as the agents report it: the tuple the client sent, the tuple the pod received, and what that means.</p>
      {error && <HubErrorBox error={error} what="the list of Services" />}
      <LiveTable services={services} />
    </>
  );
}
