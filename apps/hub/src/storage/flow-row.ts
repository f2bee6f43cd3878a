import type { FlowRecord } from '@natlens/shared-model';
import type { ServiceTypeName, TrafficPolicyName } from '@natlens/shared-analysis';
import type { StoredService } from './flow-repository';
import { flowDims } from './ingest-plan';

/** A record as a row of `flows`, in FLOW_COLUMNS order. */
export function flowRowValues(record: FlowRecord): (string | number)[] {
  const dims = flowDims(record);
  return [
    record.node, record.flowId, dims.serviceKey, record.leg, record.verdict, dims.entry, dims.clientKind, dims.snat ? 1 : 0, dims.snatAddress,
    dims.endpointNamespace, dims.endpointPod, dims.endpointNode, record.original.src, record.translated.src, record.firstSeen, record.lastSeen,
    JSON.stringify(record),
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
