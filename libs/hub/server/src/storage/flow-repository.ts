import type { EvidenceCounts, ServiceTypeName, TimeWindow, TrafficPolicyName } from '@natlens/shared-analysis';
import type { FlowRecord, Verdict } from '@natlens/shared-model';
import type { ServiceNatFailureRow } from './nat-failure-sql';

/*
 * Everything the hub stores, behind one interface with a SQLite and a PostgreSQL implementation that pass the same
 * contract suite (flow-repository.contract.ts). Services never see a driver.
 */

export interface ServiceKey {
  readonly namespace: string;
  readonly name: string;
}

export interface IngestResult {
  /** Records in the batch after de-duplication by (node, flowId). */
  readonly records: number;
  /** Of those, records that were new (the rest replaced a stored record). */
  readonly inserted: number;
}

/** A Service as the records describe it (type and policy from its latest record). */
export interface StoredService extends ServiceKey {
  readonly type: ServiceTypeName;
  readonly externalTrafficPolicy: TrafficPolicyName;
  readonly expectClientIP: boolean;
  readonly lastSeen: number;
}

/** Headline numbers per Service, from minute rollups (the window is widened to whole minutes). */
export interface ServiceCounts extends ServiceKey {
  readonly connections: number;
  readonly external: number;
  readonly snatted: number;
  readonly byVerdict: Partial<Record<Verdict, number>>;
}

export interface FlowQuery {
  readonly service?: ServiceKey;
  readonly node?: string;
  /** The client address as sent (`original.src`). */
  readonly client?: string;
  readonly verdict?: Verdict;
  /** firstSeen ≥ from and < to. */
  readonly from?: number;
  readonly to?: number;
  readonly limit: number;
  /** Opaque, from a previous page's `nextCursor`. */
  readonly cursor?: string;
}

export interface FlowPage {
  /** Newest first (by firstSeen, then node, then flowId). */
  readonly flows: FlowRecord[];
  readonly nextCursor?: string;
}

/** `rollups`: whole minutes from rollups, the window's partial minutes from raw records. `raw`: raw records only. */
export type EvidenceSource = 'rollups' | 'raw';

export interface RetentionCutoffs {
  /** Delete raw records whose lastSeen is older than this (ms). */
  readonly rawBefore: number;
  /** Delete rollup minutes older than this (ms). */
  readonly rollupsBefore: number;
}

export interface ExpiredCounts {
  readonly raw: number;
  readonly rollups: number;
  readonly services: number;
}

export interface FlowRepository {
  /** Applies pending schema migrations; returns the schema version. */
  migrate(): Promise<number>;
  /**
   * Stores a batch in one transaction: upserts by (node, flowId) and adjusts minute rollups by the difference
   * between each record's old and new contribution, so a re-sent record is never counted twice.
   */
  ingest(records: readonly FlowRecord[]): Promise<IngestResult>;
  evidenceCounts(service: ServiceKey, window: TimeWindow, source?: EvidenceSource): Promise<EvidenceCounts>;
  /**
   * Observed: the addresses the pods saw for the window's proxied connections (flow-sql.ts proxyAddressesQuery), from
   * hour rollups and raw records at the edges, or (`'raw'`) from raw records alone.
   */
  proxyAddresses(service: ServiceKey, window: TimeWindow, source?: EvidenceSource): Promise<string[]>;
  /** Observed or estimated: the raw records with verdict dropped-nat-failure in the window, of one Service or all (nat-failure-sql.ts). */
  natFailures(window: TimeWindow, service?: ServiceKey): Promise<ServiceNatFailureRow[]>;
  services(): Promise<StoredService[]>;
  service(key: ServiceKey): Promise<StoredService | undefined>;
  serviceCounts(window: TimeWindow): Promise<ServiceCounts[]>;
  flows(query: FlowQuery): Promise<FlowPage>;
  /** Total raw records stored (a full count: for tests and tools, never for probes). */
  countFlows(): Promise<number>;
  /** Resolves once the store answers a trivial query (readiness); rejects when it cannot. */
  ping(): Promise<void>;
  /** Raw records, rollup minutes, and Services whose latest record is older than the rollups are kept. */
  deleteExpired(cutoffs: RetentionCutoffs): Promise<ExpiredCounts>;
  close(): Promise<void>;
}

export class InvalidCursorError extends Error {
  constructor() {
    super('the cursor is not one this hub issued; start again without `cursor`');
    this.name = 'InvalidCursorError';
  }
}
