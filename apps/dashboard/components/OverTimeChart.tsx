'use client';

import { useEffect, useState } from 'react';
import { Line } from 'react-chartjs-2';
import type { HubErrorBody } from '../lib/api-types';
import { fetchHub, mapLimit } from '../lib/client-api';
import { bucketLabel, buckets } from '../lib/time-range';
import { COLORS } from './charts';

export interface SeriesPoint {
  from: number;
  connections: number;
  /** SNAT'd share of external clients; undefined when the bucket had no external client. */
  snatRatio?: number;
}

/**
 * Connections and SNAT ratio over the window: the hub has no time-series endpoint, so `load` is called once per
 * bucket (evidence or the Services list for that sub-window), a few at a time.
 */
export function OverTimeChart({ from, to, bucketCount = 12, source }: { from: number; to: number; bucketCount?: number; source: { kind: 'service'; namespace: string; name: string } | { kind: 'all' } }) {
  const [points, setPoints] = useState<SeriesPoint[] | undefined>();
  const [error, setError] = useState<HubErrorBody | undefined>();
  const sourceKey = source.kind === 'service' ? `${source.namespace}/${source.name}` : 'all';

  useEffect(() => {
    const abort = new AbortController();
    setPoints(undefined);
    setError(undefined);
    const load = async (b: { from: number; to: number }): Promise<SeriesPoint> => {
      const window = `from=${b.from}&to=${b.to}`;
      if (source.kind === 'service') {
        const e = await fetchHub<{ connections: number; snat: { external: number; ratio: number } }>(`/services/${encodeURIComponent(source.namespace)}/${encodeURIComponent(source.name)}/evidence?${window}`, abort.signal);
        return { from: b.from, connections: e.connections, ...(e.snat.external > 0 ? { snatRatio: e.snat.ratio } : {}) };
      }
      const list = await fetchHub<{ services: { connections: number; external: number; snatted: number }[] }>(`/services?${window}`, abort.signal);
      const external = list.services.reduce((n, s) => n + s.external, 0);
      const snatted = list.services.reduce((n, s) => n + s.snatted, 0);
      return { from: b.from, connections: list.services.reduce((n, s) => n + s.connections, 0), ...(external > 0 ? { snatRatio: snatted / external } : {}) };
    };
    mapLimit(buckets(from, to, bucketCount), 3, load)
      .then((series) => {
        setPoints(series);
        performance.mark('natlens:series-ready'); // read by bench/dashboard.ts
      })
      .catch((err: Error & { body?: HubErrorBody }) => {
        if (err.name !== 'AbortError') setError(err.body ?? { status: 0, code: 'error', message: err.message });
      });
    return () => abort.abort();
  }, [from, to, bucketCount, sourceKey]); // source is identified by sourceKey

  if (error) return <div className="error">Could not load the series: {error.message} <code>({error.code})</code></div>;
  if (!points) return <div className="chart-box muted" data-testid="series-loading">Loading {bucketCount} windows…</div>;
  const span = to - from;
  return (
    <div className="chart-box" data-testid="series-chart" data-points={points.length}>
      <Line
        data={{
          labels: points.map((p) => bucketLabel(p.from, span)),
          datasets: [
            { label: 'connections', data: points.map((p) => p.connections), borderColor: COLORS.connections, backgroundColor: COLORS.connections, yAxisID: 'y', tension: 0.2 },
            { label: 'SNAT\'d share of external clients (%)', data: points.map((p) => (p.snatRatio === undefined ? null : Math.round(p.snatRatio * 1000) / 10)), borderColor: COLORS.snat, backgroundColor: COLORS.snat, yAxisID: 'y1', tension: 0.2, spanGaps: true },
          ],
        }}
        options={{
          maintainAspectRatio: false,
          interaction: { mode: 'index', intersect: false },
          scales: {
            y: { beginAtZero: true, position: 'left', title: { display: true, text: 'connections' } },
            y1: { beginAtZero: true, max: 100, position: 'right', grid: { drawOnChartArea: false }, title: { display: true, text: 'SNAT %' } },
          },
          plugins: { legend: { position: 'bottom' } },
        }}
      />
    </div>
  );
}
