import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TruthLine } from '../daemons/echo-server';

/** What one pod's echo server saw: client addresses (as the socket reported them) and how often. */
export interface PodTruth {
  namespace: string;
  pod: string;
  node: string;
  seen: Record<string, number>;
  /** Clients named by a PROXY protocol header, when the load balancer sent one. */
  realClients?: Record<string, number>;
}

export function truthFileName(namespace: string, pod: string): string {
  return `${namespace}.${pod}.jsonl`;
}

/** Pure: folds one pod's truth lines into counts, keeping those at or after `since` (ms). */
export function aggregateTruth(lines: TruthLine[], since = 0): Pick<PodTruth, 'seen' | 'realClients'> {
  const seen: Record<string, number> = {};
  const realClients: Record<string, number> = {};
  for (const line of lines) {
    if (line.t < since) continue;
    seen[line.client] = (seen[line.client] ?? 0) + 1;
    if (line.realClient) realClients[line.realClient] = (realClients[line.realClient] ?? 0) + 1;
  }
  return Object.keys(realClients).length > 0 ? { seen, realClients } : { seen };
}

export function parseTruthLines(text: string): TruthLine[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as TruthLine);
}

export function readPodTruth(truthDir: string, pod: { namespace: string; name: string; node: string }, since = 0): PodTruth {
  const file = join(truthDir, truthFileName(pod.namespace, pod.name));
  const lines = existsSync(file) ? parseTruthLines(readFileSync(file, 'utf8')) : [];
  return { namespace: pod.namespace, pod: pod.name, node: pod.node, ...aggregateTruth(lines, since) };
}
