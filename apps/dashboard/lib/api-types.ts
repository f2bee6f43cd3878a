import type { FlowRecord, Verdict } from '@natlens/shared-model';
import type { EvidenceFigure, FigureSource, Finding, FindingCode, LbModel, ServiceEvidence, TimeWindow } from '@natlens/shared-analysis';

/*
 * What the hub's REST API answers (apps/hub/src/api): the types come from the libraries that define the records,
 * so a change of shape there breaks the dashboard's type check rather than its pages.
 */
export type { EvidenceFigure, FigureSource, FlowRecord, Verdict, Finding, FindingCode, LbModel, ServiceEvidence, TimeWindow };

/** One row of `GET /api/services`. */
export interface ServiceHeadline {
  namespace: string;
  name: string;
  type: ServiceEvidence['service']['type'];
  externalTrafficPolicy: ServiceEvidence['service']['externalTrafficPolicy'];
  connections: number;
  external: number;
  snatted: number;
  snatRatio: number;
  byVerdict: Partial<Record<Verdict, number>>;
  lastSeen?: number;
}

export interface ServicesResponse {
  window: TimeWindow;
  services: ServiceHeadline[];
}

export interface FlowsResponse {
  flows: FlowRecord[];
  nextCursor?: string;
}

/** The hub's error body, and what the dashboard says when it cannot reach the hub at all. */
export interface HubErrorBody {
  status: number;
  code: string;
  message: string;
}

export const VERDICTS: readonly Verdict[] = ['preserved', 'snat-expected', 'snat-unexpected', 'hairpin-snat', 'not-service', 'dropped-no-local-endpoint', 'proxied'];

/** A flow record cut down to what the live table shows: what crosses the dashboard's event stream. */
export interface LiveRow {
  id: string;
  at: number;
  node: string;
  service?: string;
  original: string;
  translated: string;
  snat: boolean;
  verdict: Verdict;
  pod?: string;
  client: string;
  /** Set on the second, un-NATed leg of a connection that entered another node (`entryNode`). */
  forwardedFrom?: string;
}
