'use client';

import { usePathname, useSearchParams } from 'next/navigation';
import { memo, useEffect, useRef, useState } from 'react';
import { type LiveRow, VERDICTS } from '../lib/api-types';
import { count } from '../lib/format';
import { MAX_LIVE_ROWS, prependRows } from '../lib/live-buffer';
import { replaceParams } from '../lib/url';
import { Verdict } from './Feedback';

interface Batch {
  rows: LiveRow[];
  skipped: number;
  received: number;
}

const FILTERS = ['service', 'node', 'client', 'verdict'] as const;

/**
 * The live feed from /api/live (Server-Sent Events, batched on the server). Each batch becomes at most one render
 * per animation frame; the table keeps the newest MAX_LIVE_ROWS rows, so 2,000 records/s cost a few renders a
 * second. Paused, the table stays still while records are counted, and resumes at the newest.
 */
export function LiveTable({ services }: { services: string[] }) {
  const params = useSearchParams();
  const pathname = usePathname();
  const filter = Object.fromEntries(FILTERS.map((k) => [k, params.get(k) ?? ''])) as Record<(typeof FILTERS)[number], string>;
  const filterKey = FILTERS.map((k) => filter[k]).join('|');
  const [rows, setRows] = useState<LiveRow[]>([]);
  const [paused, setPaused] = useState(false);
  const [status, setStatus] = useState<{ connected: boolean; services: number; message?: string }>({ connected: false, services: 0 });
  const [hubError, setHubError] = useState<string | undefined>();
  const [stats, setStats] = useState({ shown: 0, matched: 0, received: 0, ratePerSecond: 0, whilePaused: 0 });
  const pausedRef = useRef(paused);
  pausedRef.current = paused;

  useEffect(() => {
    setRows([]);
    const query = new URLSearchParams(FILTERS.flatMap((k) => (filter[k] ? [[k, filter[k]] as [string, string]] : []))).toString();
    const source = new EventSource(`/api/live${query ? `?${query}` : ''}`);
    let queued: LiveRow[] = [];
    let frame = 0;
    const totals = { matched: 0, received: 0, whilePaused: 0 };
    const window: { at: number; n: number }[] = [];
    const render = () => {
      frame = 0;
      if (queued.length === 0) return;
      const incoming = queued;
      queued = [];
      setRows((current) => prependRows(current, incoming));
    };
    source.addEventListener('flows', (event) => {
      const batch = JSON.parse((event as MessageEvent<string>).data) as Batch;
      const now = Date.now();
      totals.matched += batch.rows.length + batch.skipped;
      totals.received += batch.received;
      window.push({ at: now, n: batch.received });
      while (window.length > 0 && (window[0]?.at ?? now) < now - 5000) window.shift();
      const rate = window.reduce((n, w) => n + w.n, 0) / 5;
      if (pausedRef.current) totals.whilePaused += batch.rows.length + batch.skipped;
      else {
        queued = queued.concat(batch.rows).slice(-MAX_LIVE_ROWS);
        if (!frame) frame = requestAnimationFrame(render);
      }
      setStats({ shown: 0, matched: totals.matched, received: totals.received, ratePerSecond: rate, whilePaused: totals.whilePaused });
    });
    source.addEventListener('status', (event) => {
      setStatus(JSON.parse((event as MessageEvent<string>).data));
      setHubError(undefined);
    });
    source.addEventListener('hub-error', (event) => setHubError((JSON.parse((event as MessageEvent<string>).data) as { message: string }).message));
    source.onerror = () => setStatus((s) => ({ ...s, connected: false, message: 'the dashboard server closed the live stream; reconnecting' }));
    return () => {
      source.close();
      if (frame) cancelAnimationFrame(frame);
    };
  }, [filterKey]); // the filter values are in filterKey

  const setFilter = (key: string, value: string) => {
    globalThis.history.replaceState(null, '', `${pathname}${replaceParams(params, { [key]: value.trim() || undefined })}`);
  };

  return (
    <div className="panel">
      <div className="filters">
        <select value={filter.service} onChange={(e) => setFilter('service', e.target.value)} aria-label="Service" data-testid="live-service">
          <option value="">All Services</option>
          {services.map((s) => (
            <option key={s}>{s}</option>
          ))}
        </select>
        <input placeholder="node" defaultValue={filter.node} onBlur={(e) => setFilter('node', e.target.value)} onKeyDown={(e) => e.key === 'Enter' && setFilter('node', e.currentTarget.value)} aria-label="node" size={10} />
        <input placeholder="client IP" defaultValue={filter.client} onBlur={(e) => setFilter('client', e.target.value)} onKeyDown={(e) => e.key === 'Enter' && setFilter('client', e.currentTarget.value)} aria-label="client IP" size={14} />
        <select value={filter.verdict} onChange={(e) => setFilter('verdict', e.target.value)} aria-label="verdict">
          <option value="">Any verdict</option>
          {VERDICTS.map((v) => (
            <option key={v}>{v}</option>
          ))}
        </select>
        <button className={`btn ${paused ? 'primary' : ''}`} onClick={() => setPaused((p) => !p)} data-testid="live-pause">
          {paused ? '▶ Resume' : '❚❚ Pause'}
        </button>
      </div>
      <div className="live-status" data-testid="live-status">
        <span>
          <span className={`dot ${status.connected ? 'on' : ''}`} />
          {status.connected ? `connected · following ${status.services} Service${status.services === 1 ? '' : 's'}` : 'connecting to the hub…'}
        </span>
        <span data-testid="live-rate">{stats.ratePerSecond.toFixed(0)} records/s from the hub</span>
        <span data-testid="live-matched">{count(stats.matched)} matched</span>
        {paused && <span>paused · {count(stats.whilePaused)} arrived meanwhile</span>}
        {status.message && <span>{status.message}</span>}
      </div>
      {hubError && (
        <div className="error" role="alert" data-testid="hub-error">
          {hubError}
        </div>
      )}
      {rows.length === 0 ? (
        <div className="empty">
          <strong>Waiting for connections…</strong>
          Records appear here as agents report them (about a second after a connection). No traffic? Start some: <code>node bin/natlens lab traffic &lt;lab&gt; --service ns/name --via lb --client alice --connections 50</code>, or loosen the filters.
        </div>
      ) : (
        <div className="table-wrap">
          <table className="data" data-testid="live-table">
            <thead>
              <tr>
                <th>Time (UTC)</th>
                <th>Service</th>
                <th>Original (as sent)</th>
                <th>Translated (as the pod got it)</th>
                <th>Verdict</th>
                <th>Node</th>
                <th>Pod</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <Row key={r.id} row={r} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      <p className="muted" style={{ marginBottom: 0 }}>
        Newest {MAX_LIVE_ROWS} rows; older ones scroll off (use the Services and History pages for counts over time).
      </p>
    </div>
  );
}

const Row = memo(function Row({ row }: { row: LiveRow }) {
  return (
    <tr data-testid="live-row">
      <td className="mono">{new Date(row.at).toISOString().slice(11, 23)}</td>
      <td>{row.service ?? '–'}</td>
      <td className="mono">{row.original}</td>
      <td className="mono" style={row.snat ? { color: 'var(--snat)' } : undefined}>
        {row.translated}
      </td>
      <td>
        <Verdict verdict={row.verdict} />
        {row.forwardedFrom && (
          <span className="muted" title="the second leg of a connection NATed on its entry node; evidence counts it once">
            {' '}
            forwarded leg from {row.forwardedFrom}
          </span>
        )}
      </td>
      <td>{row.node}</td>
      <td>{row.pod ?? '–'}</td>
    </tr>
  );
});
