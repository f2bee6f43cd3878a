import type { ConntrackDumpEntry } from './conntrack-entry';

/** The messages between conntrack-dump-stream.ts (the caller's thread) and conntrack-dump.worker.ts. */
export interface WorkerRequest {
  chunk?: Uint8Array;
  end?: true;
}

export type WorkerReply =
  | { entries: ConntrackDumpEntry[]; done?: undefined }
  | { done: { format: 'text' | 'xml'; errorCount: number; errors: { offset: number; expected: string; what: string }[] }; entries?: undefined };
