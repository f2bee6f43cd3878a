'use client';

import { useEffect } from 'react';
import { Bar } from 'react-chartjs-2';
import { COLORS } from './charts';

export interface ShareRow {
  pod: string;
  share: number;
  expectedShare: number;
  predictedShare?: number;
}

/** Per-pod share of connections against 1/N (expected) and the per-node split the policy predicts. */
export function ShareChart({ rows }: { rows: ShareRow[] }) {
  useEffect(() => {
    performance.mark('natlens:share-chart-ready'); // read by bench/dashboard.ts
  }, []);
  const pct = (x: number | undefined) => (x === undefined ? null : Math.round(x * 1000) / 10);
  const hasPredicted = rows.some((r) => r.predictedShare !== undefined);
  return (
    <div className="chart-box" data-testid="share-chart">
      <Bar
        data={{
          labels: rows.map((r) => r.pod),
          datasets: [
            { label: 'observed', data: rows.map((r) => pct(r.share)), backgroundColor: COLORS.observed },
            { label: 'expected (1/N)', data: rows.map((r) => pct(r.expectedShare)), backgroundColor: COLORS.expected },
            ...(hasPredicted ? [{ label: 'predicted by policy', data: rows.map((r) => pct(r.predictedShare)), backgroundColor: COLORS.predicted }] : []),
          ],
        }}
        options={{
          maintainAspectRatio: false,
          scales: { y: { beginAtZero: true, title: { display: true, text: '% of connections' } } },
          plugins: { legend: { position: 'bottom' }, tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${c.parsed.y}%` } } },
        }}
      />
    </div>
  );
}
