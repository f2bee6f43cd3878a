import type { FlowRecord, Verdict } from '@natlens/shared-model';
import type { EvidenceFigure, FigureSource, Finding, FindingCode, LbModel, ServiceEvidence, TimeWindow } from '@natlens/shared-analysis';
import type { ApiError, ConntrackHistoryResponse, ConntrackPoint, FlowsResponse, NatFailureEvidence, NodeSummary, NodesResponse, ServiceHeadline, ServicesResponse, SnatPairUsage } from '@natlens/shared-api';

/*
 * What the hub's REST API answers (@natlens/shared-api): the types come from the libraries that define the records,
 * so a change of shape there breaks the dashboard's type check rather than its pages.
 */
export type { EvidenceFigure, FigureSource, FlowRecord, Verdict, Finding, FindingCode, LbModel, ServiceEvidence, TimeWindow, FlowsResponse, ServiceHeadline, ServicesResponse };
export type { ConntrackHistoryResponse, ConntrackPoint, NatFailureEvidence, NodeSummary, NodesResponse, SnatPairUsage };

/** The hub's error body, and what the dashboard says when it cannot reach the hub at all. */
export type HubErrorBody = ApiError;

export const VERDICTS: readonly Verdict[] = ['preserved', 'snat-expected', 'snat-unexpected', 'hairpin-snat', 'not-service', 'dropped-no-local-endpoint', 'proxied', 'dropped-nat-failure'];

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
