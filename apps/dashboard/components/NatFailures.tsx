import Link from 'next/link';
import type { NatFailureEvidence } from '../lib/api-types';
import { count } from '../lib/format';

const REASON_TEXT: Record<NatFailureEvidence['byReason'][number]['reason'], string> = {
  'insert-failed': 'conntrack could not insert the entry (a clash)',
  'table-full': 'conntrack table full',
  'nat-port-exhausted': 'no free SNAT source port',
  'netfilter-drop': 'dropped in a NAT hook',
};

/**
 * A Service's connections dropped by conntrack or NAT in the window (issue 20), observed (eBPF saw each drop with its
 * tuple) kept apart from estimated (the node's counters rose while these attempts failed): the two are never added up
 * into one figure that would hide which is which.
 */
export function NatFailures({ failures }: { failures: NatFailureEvidence }) {
  return (
    <div className="panel" data-testid="nat-failures">
      <h2>NAT failures</h2>
      <div className="cards">
        <div className="card">
          <div className="label">Observed drops</div>
          <div className="value" data-count="observed">{count(failures.observed)}</div>
          <div className="sub">seen per connection (eBPF)</div>
        </div>
        <div className="card">
          <div className="label">Estimated drops</div>
          <div className="value" data-count="estimated">{count(failures.estimated)}</div>
          <div className="sub">counters rose as attempts failed</div>
        </div>
      </div>
      <div className="table-wrap">
        <table className="data">
          <thead>
            <tr>
              <th>Node</th>
              <th>Reason</th>
              <th>Kernel&apos;s reason</th>
              <th>Basis</th>
              <th className="num">Connections</th>
            </tr>
          </thead>
          <tbody>
            {failures.byReason.map((g) => (
              <tr key={`${g.node}|${g.reason}|${g.kernelReason ?? ''}|${g.observed}`} data-failure={`${g.node}|${g.reason}|${g.observed ? 'observed' : 'estimated'}`}>
                <td>{g.node}</td>
                <td>
                  <strong>{g.reason}</strong> <span className="muted">{REASON_TEXT[g.reason]}</span>
                </td>
                <td className="mono">{g.kernelReason ?? <span className="muted">–</span>}</td>
                <td>{g.observed ? 'observed' : 'estimated'}</td>
                <td className="num" data-col="connections">{count(g.connections)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p className="muted">
        These connections reached no pod. The finding above says what to do about each reason; the <Link href="/nodes">Nodes</Link> page shows the nodes&apos; conntrack tables and SNAT ports.
      </p>
    </div>
  );
}
