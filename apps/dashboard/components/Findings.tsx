import { remedyFor } from '@natlens/shared-analysis';
import type { ServiceEvidence } from '../lib/api-types';

/*
 * The findings with their remedies. A remedy is built from the evidence's context (libs/shared/analysis remedies.ts):
 * the cluster's own workloads, selectors and pod CIDRs, the proxies observed; what natlens could not fill in is said.
 */
export function Findings({ evidence }: { evidence: ServiceEvidence }) {
  if (evidence.findings.length === 0) return <p className="muted">No findings: nothing NAT did to this Service in the window needs attention.</p>;
  return (
    <div data-testid="findings">
      {evidence.findings.map((f) => {
        const remedy = remedyFor(f.code, evidence);
        return (
          <div key={f.code} className={`finding sev-${f.severity}`} data-code={f.code}>
            <div>
              <strong>{f.severity}</strong> · <code>{f.code}</code>
            </div>
            <p style={{ margin: '6px 0' }}>{f.message}</p>
            {remedy && (
              <details open={f.severity !== 'info'}>
                <summary>
                  <strong>Remedy:</strong> {remedy.title}
                </summary>
                {remedy.cost && <p className="muted" style={{ margin: '6px 0' }}>Cost: {remedy.cost}</p>}
                {remedy.yaml && <pre data-testid="remedy-yaml">{remedy.yaml}</pre>}
                {remedy.command && <pre>{remedy.command}</pre>}
                {remedy.unknown && (
                  <p className="notice" data-testid="remedy-unknown" style={{ margin: '6px 0' }}>
                    Not known to natlens: {remedy.unknown}
                  </p>
                )}
              </details>
            )}
          </div>
        );
      })}
    </div>
  );
}
