'use client';

import Link from 'next/link';
import { useSearchParams } from 'next/navigation';
import { useEffect, useMemo, useState } from 'react';
import type { ServiceEvidence, ServiceHeadline, TimeWindow } from '../lib/api-types';
import { fetchHub, mapLimit } from '../lib/client-api';
import { ago, count, percent, serviceKey, times } from '../lib/format';
import { readTableQuery, type SortKey, sortAndFilter } from '../lib/services-table';
import { replaceParams, withRange } from '../lib/url';

const PAGE_SIZE = 100;

const COLUMNS: { key: SortKey | undefined; label: string; numeric?: boolean; title?: string; narrow?: false }[] = [
  { key: 'name', label: 'Service' },
  { key: 'type', label: 'Type', narrow: false },
  { key: 'policy', label: 'Traffic policy', title: 'externalTrafficPolicy', narrow: false },
  { key: 'connections', label: 'Connections', numeric: true },
  { key: 'snat', label: 'External clients SNAT\'d', numeric: true, title: 'share of external clients whose address the pod never saw' },
  { key: 'imbalance', label: 'Imbalance', numeric: true, title: 'busiest pod\'s share over the mean share (loaded for the rows shown)' },
  { key: undefined, label: 'Alerts', title: 'alerts firing and pending for the Service (the Alerts page has them all)' },
  { key: undefined, label: 'Last record', narrow: false },
];

/**
 * Sorting, filters and page live in the URL (history.replaceState: no server round trip per keystroke). The list
 * API has no imbalance, so it is read from each shown Service's evidence, a few requests at a time.
 */
/** Firing and pending alerts per `namespace/name` (app/alerts/alerts-types.ts alertBadges). */
export type ServiceAlertBadges = Record<string, { firing: number; pending: number; worst?: 'critical' | 'warning' | 'info' }>;

export function ServicesTable({ services, window, alerts }: { services: ServiceHeadline[]; window: TimeWindow; alerts?: ServiceAlertBadges }) {
  const params = useSearchParams();
  const query = readTableQuery(params);
  const page = Math.max(0, Number(params.get('page') ?? 0) || 0);
  const [imbalance, setImbalance] = useState<ReadonlyMap<string, number>>(new Map());
  const [imbalanceError, setImbalanceError] = useState<string | undefined>();
  const [now, setNow] = useState<number | undefined>();

  const rows = useMemo(() => sortAndFilter(services, query, imbalance), [services, query.sort, query.dir, query.text, query.type, query.policy, query.snatOnly, imbalance]);
  const pages = Math.max(1, Math.ceil(rows.length / PAGE_SIZE));
  const shown = rows.slice(Math.min(page, pages - 1) * PAGE_SIZE, Math.min(page, pages - 1) * PAGE_SIZE + PAGE_SIZE);
  const types = useMemo(() => [...new Set(services.map((s) => s.type))].sort(), [services]);
  const shownKeys = shown.map(serviceKey).join(',');

  useEffect(() => {
    setNow(Date.now());
    performance.mark('natlens:services-table-ready'); // read by bench/dashboard.ts
  }, []);
  useEffect(() => {
    const missing = shown.filter((s) => s.connections > 0 && !imbalance.has(serviceKey(s)));
    if (missing.length === 0) return;
    const abort = new AbortController();
    void mapLimit(missing, 4, async (s) => {
      const evidence = await fetchHub<ServiceEvidence>(`/services/${encodeURIComponent(s.namespace)}/${encodeURIComponent(s.name)}/evidence?from=${window.from}&to=${window.to}`, abort.signal);
      return [serviceKey(s), evidence.imbalance.maxOverMean] as const;
    })
      .then((pairs) => setImbalance((prev) => new Map([...prev, ...pairs])))
      .catch((err: Error) => {
        if (err.name !== 'AbortError') setImbalanceError(err.message);
      });
    return () => abort.abort();
  }, [shownKeys, window.from, window.to]);

  const update = (changes: Record<string, string | undefined>) => {
    const next = replaceParams(params, { page: undefined, ...changes });
    globalThis.history.replaceState(null, '', `${globalThis.location.pathname}${next}`);
  };
  const sortBy = (key: SortKey) => {
    const dir = query.sort === key ? (query.dir === 'asc' ? 'desc' : 'asc') : key === 'name' || key === 'type' || key === 'policy' ? 'asc' : 'desc';
    update({ sort: key === 'name' ? undefined : key, dir });
  };

  return (
    <div className="panel">
      <div className="filters">
        <input type="search" placeholder="Filter namespace/name" defaultValue={query.text} onChange={(e) => update({ q: e.target.value })} aria-label="filter by name" data-testid="filter-text" />
        <select value={query.type ?? ''} onChange={(e) => update({ type: e.target.value })} aria-label="filter by type">
          <option value="">Any type</option>
          {types.map((t) => (
            <option key={t}>{t}</option>
          ))}
        </select>
        <select value={query.policy ?? ''} onChange={(e) => update({ policy: e.target.value })} aria-label="filter by traffic policy">
          <option value="">Any policy</option>
          <option>Cluster</option>
          <option>Local</option>
        </select>
        <label>
          <input type="checkbox" checked={query.snatOnly} onChange={(e) => update({ snat: e.target.checked ? '1' : undefined })} /> with SNAT only
        </label>
        <span className="muted" data-testid="service-count">
          {rows.length === services.length ? `${count(services.length)} Services` : `${count(rows.length)} of ${count(services.length)} Services`}
        </span>
      </div>
      {imbalanceError && <div className="error">Imbalance could not be loaded: {imbalanceError}</div>}
      {rows.length === 0 ? (
        <div className="empty">
          <strong>No Service matches these filters.</strong>
          <button className="btn" onClick={() => update({ q: undefined, type: undefined, policy: undefined, snat: undefined })}>
            Clear filters
          </button>
        </div>
      ) : (
        <div className="table-wrap">
          <table className="data" data-testid="services-table">
            <thead>
              <tr>
                {COLUMNS.map((c) => (
                  <th key={c.label} className={[c.numeric ? 'num' : '', c.narrow === false ? 'wide-only' : ''].join(' ').trim() || undefined} title={c.title} aria-sort={c.key && query.sort === c.key ? (query.dir === 'asc' ? 'ascending' : 'descending') : undefined}>
                    {c.key ? (
                      <button onClick={() => sortBy(c.key as SortKey)}>
                        {c.label}
                        {query.sort === c.key ? (query.dir === 'asc' ? ' ▲' : ' ▼') : ''}
                      </button>
                    ) : (
                      c.label
                    )}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {shown.map((s) => {
                const key = serviceKey(s);
                const maxOverMean = imbalance.get(key);
                return (
                  <tr key={key} data-service={key}>
                    <td>
                      <Link href={withRange(`/services/${encodeURIComponent(s.namespace)}/${encodeURIComponent(s.name)}`, params)}>{key}</Link>
                      <div className="muted narrow-only">
                        {s.type} · {s.externalTrafficPolicy}
                      </div>
                    </td>
                    <td className="wide-only">{s.type}</td>
                    <td className="wide-only">{s.externalTrafficPolicy}</td>
                    <td className="num" data-col="connections">{count(s.connections)}</td>
                    <td className="num" data-col="snat">
                      {s.external > 0 ? (
                        <span style={{ display: 'inline-flex', gap: 6, alignItems: 'center' }}>
                          <span className="bar" style={{ width: 60 }}>
                            <span style={{ width: `${s.snatRatio * 100}%` }} />
                          </span>
                          {percent(s.snatRatio, 0)} <span className="muted">of {count(s.external)}</span>
                        </span>
                      ) : (
                        <span className="muted">no external clients</span>
                      )}
                    </td>
                    <td className="num" data-col="imbalance">{s.connections === 0 ? <span className="muted">–</span> : maxOverMean === undefined ? <span className="muted">…</span> : <span style={maxOverMean > 2 ? { color: 'var(--bad)', fontWeight: 600 } : undefined}>{times(maxOverMean)}</span>}</td>
                    <td data-col="alerts">
                      <AlertBadge badge={alerts?.[key]} known={alerts !== undefined} href={`/alerts?service=${encodeURIComponent(key)}`} />
                    </td>
                    <td className="muted wide-only">{s.lastSeen && now ? ago(s.lastSeen, now) : '–'}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {pages > 1 && (
        <div className="pager">
          <button className="btn" disabled={page <= 0} onClick={() => update({ page: String(page - 1) })}>
            ← Previous
          </button>
          <span className="muted">
            page {Math.min(page, pages - 1) + 1} of {pages}
          </span>
          <button className="btn" disabled={page >= pages - 1} onClick={() => update({ page: String(page + 1) })}>
            Next →
          </button>
        </div>
      )}
    </div>
  );
}

function AlertBadge({ badge, known, href }: { badge: ServiceAlertBadges[string] | undefined; known: boolean; href: string }) {
  if (!known) return <span className="muted" title="the hub did not list its alerts">?</span>;
  if (!badge || badge.firing + badge.pending === 0) return <span className="muted">–</span>;
  return (
    <Link href={href} style={{ display: 'inline-flex', gap: 4 }}>
      {badge.firing > 0 && (
        <span className="badge alert-firing" data-badge="firing" data-severity={badge.worst} title={`most severe: ${badge.worst ?? 'warning'}`} style={badge.worst === 'critical' ? { fontWeight: 600 } : undefined}>
          {badge.firing} firing
        </span>
      )}
      {badge.pending > 0 && (
        <span className="badge alert-pending" data-badge="pending">
          {badge.pending} pending
        </span>
      )}
    </Link>
  );
}
