/*
 * What importing a capture or a conntrack dump produced: the answer of `natlens import --json`, and, with what the
 * store did, of the hub's `POST /api/import` (which the dashboard's Import page shows).
 */
export type ImportFormat = 'pcap' | 'pcapng' | 'conntrack-text' | 'conntrack-xml' | 'unknown';

export interface ImportSummary {
  file: string;
  node: string;
  format: ImportFormat;
  bytes: number;
  packets: number;
  malformedPackets: number;
  /** Malformed file structure, with byte offsets (the first 20). */
  errors: { offset: number; message: string }[];
  errorCount: number;
  connections: number;
  records: number;
  /** Records that failed the flow-record schema and were not sent. */
  invalid: number;
  sent: number;
  byVerdict: Record<string, number>;
}

export interface ImportResult extends ImportSummary {
  /** Records new to the store (the rest replaced records of an earlier import of the same file). */
  inserted: number;
  durationMs: number;
}
