import type { ReactNode } from 'react';
import type { HubErrorBody } from '../lib/api-types';

/** A hub error as the hub (or the dashboard's proxy) said it: status, code and the sentence that says what to fix. */
export function HubErrorBox({ error, what }: { error: HubErrorBody; what: string }) {
  return (
    <div className="error" role="alert" data-testid="hub-error">
      <strong>Could not load {what}.</strong> {error.message} <span className="muted">(<code>{error.code}</code>{error.status ? `, HTTP ${error.status}` : ''})</span>
    </div>
  );
}

export function EmptyState({ title, children }: { title: string; children: ReactNode }) {
  return (
    <div className="empty" data-testid="empty-state">
      <strong>{title}</strong>
      {children}
    </div>
  );
}

export function Verdict({ verdict }: { verdict: string }) {
  return <span className={`badge v-${verdict}`}>{verdict}</span>;
}
