import type { FlowRecord } from '../lib/api-types';
import { endpoint, tupleText } from '../lib/format';
import { Verdict } from './Feedback';

const ENTRY_LABEL: Record<string, string> = { clusterIP: 'ClusterIP', nodePort: 'nodePort', loadBalancer: 'load-balancer IP', externalIP: 'external IP' };

/** client → entry node → SNAT or not → pod, drawn from one real record, with its two tuples underneath. */
export function ConnectionPath({ record }: { record: FlowRecord }) {
  const entry = record.service ? ENTRY_LABEL[record.service.entry] ?? record.service.entry : 'Service';
  const podNode = record.endpoint?.node;
  return (
    <div data-testid="connection-path">
      <div className="path">
        <div className="hop">
          <div className="what">client ({record.client.kind})</div>
          <div className="who mono">{endpoint(record.original.src, record.original.sport)}</div>
          {record.client.name && <div className="muted">{record.client.name}</div>}
        </div>
        <div className="arrow" aria-hidden>→</div>
        <div className="hop">
          <div className="what">entry node</div>
          <div className="who">{record.node}</div>
          <div className="muted mono">
            {entry} {endpoint(record.original.dst, record.original.dport)}
          </div>
        </div>
        <div className="arrow" aria-hidden>→</div>
        <div className={`hop ${record.snat ? 'snat' : 'kept'}`} data-testid="path-snat">
          <div className="what">{record.snat ? 'SNAT' : 'no SNAT'}</div>
          <div className="who mono">{record.snat ? `source → ${endpoint(record.translated.src, record.translated.sport)}` : 'client address kept'}</div>
          <div className="muted">{record.dnat ? `DNAT → ${endpoint(record.translated.dst, record.translated.dport)}` : 'no DNAT'}</div>
        </div>
        <div className="arrow" aria-hidden>→</div>
        <div className="hop">
          <div className="what">pod</div>
          <div className="who">{record.endpoint ? `${record.endpoint.namespace}/${record.endpoint.pod}` : 'unknown pod'}</div>
          <div className="muted">
            {podNode ? `on ${podNode}${podNode !== record.node ? ` (forwarded from ${record.node})` : ''}` : ''} · sees {record.translated.src}
          </div>
        </div>
      </div>
      <div className="tuples mono">
        <span className="muted">original</span>
        <span data-testid="tuple-original">{tupleText(record.original)} ({record.original.proto})</span>
        <span className="muted">translated</span>
        <span data-testid="tuple-translated">{tupleText(record.translated)}</span>
        <span className="muted">verdict</span>
        <span>
          <Verdict verdict={record.verdict} /> <span className="muted">on {record.node} at {new Date(record.firstSeen).toISOString().replace('T', ' ').slice(0, 19)} UTC</span>
        </span>
      </div>
    </div>
  );
}
