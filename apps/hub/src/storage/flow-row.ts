import type { ServiceTypeName, TrafficPolicyName } from '@natlens/shared-analysis';
import type { StoredService } from './flow-repository';
import type { FlowRow } from './ingest-plan';

/** A row of `flows` as bind values, in FLOW_COLUMNS order. */
export function flowRowValues(row: FlowRow): (string | number)[] {
  return [
    row.node, row.flowId, row.serviceKey, row.leg, row.verdict, row.entry, row.clientKind, row.snat ? 1 : 0, row.snatAddress,
    row.endpointNamespace, row.endpointPod, row.endpointNode, row.clientIp, row.seenIp, row.firstSeen, row.lastSeen, row.realClientIp, row.record,
  ];
}

export interface ServiceRowColumns {
  namespace: string;
  name: string;
  type: string;
  policy: string;
  expect_client_ip: number | string;
  last_seen: number | string;
}

export function toStoredService(row: ServiceRowColumns): StoredService {
  return {
    namespace: row.namespace,
    name: row.name,
    type: row.type as ServiceTypeName,
    externalTrafficPolicy: row.policy as TrafficPolicyName,
    expectClientIP: Number(row.expect_client_ip) === 1,
    lastSeen: Number(row.last_seen),
  };
}
