'use client';

import { BarElement, CategoryScale, Chart, Legend, LinearScale, LineElement, PointElement, Tooltip } from 'chart.js';

/* chart.js is tree-shaken: register only what the dashboard draws (bars and lines). */
Chart.register(BarElement, CategoryScale, LinearScale, LineElement, PointElement, Tooltip, Legend);
Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif';
Chart.defaults.animation = false;

export const COLORS = { observed: '#1f6feb', expected: '#8c959f', predicted: '#bc4c00', snat: '#bc4c00', connections: '#1f6feb', fill: '#1f6feb', insertFailed: '#cf222e', drop: '#8250df', earlyDrop: '#9a6700', clashResolve: '#8c959f' };
