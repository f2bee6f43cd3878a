'use client';

import { useEffect, useState } from 'react';
import { Line } from 'react-chartjs-2';
import type { ConntrackHistoryResponse, ConntrackPoint, HubErrorBody } from '../lib/api-types';
import { fetchHub } from '../lib/client-api';
import { bucketLabel } from '../lib/time-range';
import { COLORS } from './charts';

const pct = (ratio: number | null) => (ratio === null ? null : Math.round(ratio * 1000) / 10);
const perSecond = (rate: number | null) => (rate === null ? null : Math.round(rate * 1000) / 1000);

/** One node's table fill and SNAT peak (%) and failure rates (/s) over the window, as its agent's reports give them. */
function NodeChart({ node, points, span }: { node: string; points: readonly ConntrackPoint[]; span: number }) {
  return (
    <div className="panel" data-testid="conntrack-chart" data-node={node} data-points={points.length}>
      <h3 style={{ margin: '0 0 8px' }}>{node}</h3>
      <div className="chart-box">
        <Line
          data={{
            labels: points.map((p) => bucketLabel(p.at, span)),
            datasets: [
              { label: 'conntrack table fill (%)', data: points.map((p) => pct(p.fill)), borderColor: COLORS.fill, backgroundColor: COLORS.fill, yAxisID: 'y', tension: 0.2, spanGaps: true },
              { label: 'fullest SNAT pair (%)', data: points.map((p) => pct(p.snatPeakUsage)), borderColor: COLORS.snat, backgroundColor: COLORS.snat, yAxisID: 'y', borderDash: [6, 3], tension: 0.2, spanGaps: true },
              { label: 'insert_failed /s', data: points.map((p) => perSecond(p.rates.insertFailed)), borderColor: COLORS.insertFailed, backgroundColor: COLORS.insertFailed, yAxisID: 'y1', tension: 0.2 },
              { label: 'drop /s', data: points.map((p) => perSecond(p.rates.drop)), borderColor: COLORS.drop, backgroundColor: COLORS.drop, yAxisID: 'y1', tension: 0.2 },
              { label: 'early_drop /s', data: points.map((p) => perSecond(p.rates.earlyDrop)), borderColor: COLORS.earlyDrop, backgroundColor: COLORS.earlyDrop, yAxisID: 'y1', tension: 0.2 },
              { label: 'clash_resolve /s', data: points.map((p) => perSecond(p.rates.clashResolve)), borderColor: COLORS.clashResolve, backgroundColor: COLORS.clashResolve, yAxisID: 'y1', tension: 0.2, hidden: true },
            ],
          }}
          options={{
            maintainAspectRatio: false,
            interaction: { mode: 'index', intersect: false },
            scales: {
              y: { beginAtZero: true, max: 100, position: 'left', title: { display: true, text: '% full' } },
              y1: { beginAtZero: true, position: 'right', grid: { drawOnChartArea: false }, title: { display: true, text: 'per second' } },
            },
            plugins: { legend: { position: 'bottom' } },
          }}
        />
      </div>
    </div>
  );
}

/** Every node's conntrack history in the window (GET /api/nodes/conntrack through the dashboard's proxy). */
export function ConntrackCharts({ from, to }: { from: number; to: number }) {
  const [history, setHistory] = useState<ConntrackHistoryResponse | undefined>();
  const [error, setError] = useState<HubErrorBody | undefined>();
  useEffect(() => {
    const abort = new AbortController();
    setHistory(undefined);
    setError(undefined);
    fetchHub<ConntrackHistoryResponse>(`/nodes/conntrack?from=${Math.round(from)}&to=${Math.round(to)}`, abort.signal)
      .then(setHistory)
      .catch((err: Error & { body?: HubErrorBody }) => {
        if (err.name !== 'AbortError') setError(err.body ?? { status: 0, code: 'error', message: err.message });
      });
    return () => abort.abort();
  }, [from, to]);
  if (error) return <div className="error">Could not load the conntrack history: {error.message} <code>({error.code})</code></div>;
  if (!history) return <div className="chart-box muted" data-testid="conntrack-loading">Loading the nodes&apos; history…</div>;
  if (history.nodes.length === 0) return <p className="muted" data-testid="conntrack-empty">No node reported conntrack statistics in this window.</p>;
  return (
    <div className="stack" data-testid="conntrack-charts">
      {history.nodes.map((n) => (
        <NodeChart key={n.node} node={n.node} points={n.points} span={to - from} />
      ))}
    </div>
  );
}
