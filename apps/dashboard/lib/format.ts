import type { FlowRecord } from './api-types';

export function percent(ratio: number, digits = 1): string {
  if (!Number.isFinite(ratio)) return '–';
  return `${(ratio * 100).toFixed(digits)}%`;
}

export function count(n: number): string {
  return n.toLocaleString('en-US');
}

/** `1.83×`, the way an imbalance (max over mean share) reads. */
export function times(n: number): string {
  return Number.isFinite(n) && n > 0 ? `${n.toFixed(2)}×` : '–';
}

type Tuple = FlowRecord['original'];

/** `198.51.100.79:7294 → 198.18.0.12:30080`; IPv6 addresses are bracketed. */
export function tupleText(t: Tuple): string {
  return `${endpoint(t.src, t.sport)} → ${endpoint(t.dst, t.dport)}`;
}

export function endpoint(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

export function ago(ms: number, now: number): string {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.round(s / 60)}m ago`;
  if (s < 86400) return `${Math.round(s / 3600)}h ago`;
  return `${Math.round(s / 86400)}d ago`;
}

export function serviceKey(s: { namespace: string; name: string }): string {
  return `${s.namespace}/${s.name}`;
}
