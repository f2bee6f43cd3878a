import type { FlowRecord } from '@natlens/shared-model';

/*
 * The socket.io event maps. Event names carry a version so a payload can change without breaking clients.
 * Hub: namespace /live, one room per Service (`namespace/name`), joined with `?service=` or a `subscribe` message.
 * Agent: namespace /flows, `?service=ns/name` for one Service's records.
 */
export const LIVE_NAMESPACE = '/live';
export const AGENT_FLOWS_NAMESPACE = '/flows';

export interface LiveServerToClientEvents {
  'flow.v1': (record: FlowRecord) => void;
  /** The client fell too far behind and was removed from the Service's room; subscribe again to resume. */
  'dropped.v1': (notice: { service: string; reason: string }) => void;
}

export interface SubscribeRequest {
  service: string;
}

export type SubscribeReply = { ok: true; service: string } | { ok: false; message: string };

export interface LiveClientToServerEvents {
  subscribe: (request: SubscribeRequest, ack: (reply: SubscribeReply) => void) => void;
  unsubscribe: (request: SubscribeRequest, ack: (reply: SubscribeReply) => void) => void;
}

export interface AgentFlowsServerToClientEvents {
  'flow.v1': (record: FlowRecord) => void;
}
