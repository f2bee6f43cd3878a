/*
 * A V8 CPU profile (`node --cpu-prof`, the .cpuprofile JSON Chrome DevTools reads) summed up: self time per
 * function and per package (node_modules/<package>, the hub's own code, Node's internals), so a bench can say where a
 * process spent its CPU without opening DevTools. Pure.
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileEntry {
  readonly name: string;
  readonly selfMs: number;
  readonly share: number;
}

export interface ProfileSummary {
  /** Whether only the samples inside the window asked for were counted (false: the window missed the profile). */
  readonly windowed: boolean;
  readonly totalMs: number;
  /** Share of samples that were not idle (the profiler samples the main thread, busy or not). */
  readonly busyShare: number;
  readonly functions: ProfileEntry[];
  readonly packages: ProfileEntry[];
}

/** `node_modules/better-sqlite3/lib/x.js` → `better-sqlite3`; the hub's build → `natlens (dist)`; Node's own → `node:internal`. */
export function packageOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1] as string;
  if (url.startsWith('node:')) return 'node:internal';
  if (url.includes('/dist/')) return 'natlens (dist)';
  return url.replace(/^file:\/\//, '');
}

/**
 * `window`: only samples taken in it, in µs of the monotonic clock V8 stamps samples with (on Linux the same
 * CLOCK_MONOTONIC as process.hrtime in any process), e.g. a bench's ingest phase without the hub's start-up.
 */
export function summariseProfile(profile: CpuProfile, top = 25, window?: { fromUs: number; toUs: number }): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const windowed = window !== undefined && window.fromUs < profile.endTime && window.toUs > profile.startTime;
  const self = new Map<number, number>();
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i] as number;
    at += profile.timeDeltas[i] ?? 0;
    if (windowed && (at < window.fromUs || at >= window.toUs)) continue;
    // timeDeltas[i] is the time before sample i; the sample's own duration is the next delta.
    const us = profile.timeDeltas[i + 1] ?? 0;
    self.set(id, (self.get(id) ?? 0) + us);
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const functions = new Map<string, number>();
  const packages = new Map<string, number>();
  let idle = 0;
  for (const [id, us] of self) {
    const node = byId.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') idle += us;
    const file = url.replace(/^.*node_modules\//, '').replace(/^.*\/dist\//, 'dist/');
    const name = `${functionName || '(anonymous)'} ${file ? `${file}:${lineNumber + 1}` : ''}`.trim();
    functions.set(name, (functions.get(name) ?? 0) + us);
    const pkg = packageOf(url, functionName);
    packages.set(pkg, (packages.get(pkg) ?? 0) + us);
  }
  const busy = total - idle;
  const rank = (map: Map<string, number>): ProfileEntry[] =>
    [...map]
      .filter(([name]) => name !== '(idle)' && !name.startsWith('(idle)'))
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, selfMs: Math.round(us / 100) / 10, share: busy > 0 ? Math.round((us / busy) * 1000) / 1000 : 0 }));
  return { windowed, totalMs: Math.round(total / 1000), busyShare: total > 0 ? busy / total : 0, functions: rank(functions), packages: rank(packages) };
}
