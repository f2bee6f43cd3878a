import type { ServiceTypeName, TrafficPolicyName } from '@natlens/shared-analysis';
import type { StoredService } from './flow-repository';
import type { ClientHour, ClientMinuteDims, Delta, FlowHourDims, FlowMinuteDims, FlowRow, ProxyHourDims } from './ingest-plan';

/** A row of `flows` as bind values, in FLOW_COLUMNS order. */
export function flowRowValues(row: FlowRow): (string | number)[] {
  return [
    row.node, row.flowId, row.serviceKey, row.leg, row.verdict, row.entry, row.clientKind, row.snat ? 1 : 0, row.snatAddress,
    row.endpointNamespace, row.endpointPod, row.endpointNode, row.clientIp, row.seenIp, row.firstSeen, row.lastSeen, row.realClientIp, row.zone, row.record,
  ];
}

/** A flow_minute delta as bind values: its dimensions in primary-key order, then the delta. */
export function flowMinuteValues({ dims: d, delta }: Delta<FlowMinuteDims>): (string | number)[] {
  return [d.serviceKey, d.minute, d.node, d.entry, d.verdict, d.clientKind, d.snat ? 1 : 0, d.snatAddress, d.endpointNamespace, d.endpointPod, d.endpointNode, delta];
}

/** A flow_hour delta as bind values: its dimensions in primary-key order, then the delta. */
export function flowHourValues({ dims: d, delta }: Delta<FlowHourDims>): (string | number)[] {
  return [d.serviceKey, d.hour, d.node, d.entry, d.verdict, d.clientKind, d.snat ? 1 : 0, d.snatAddress, d.endpointNamespace, d.endpointPod, d.endpointNode, delta];
}

/** A client and an hour as bind values: service_key, side, address, hour. */
export function clientHourValues(client: ClientHour): (string | number)[] {
  return [client.serviceKey, client.side, client.address, client.hour];
}

/** A client_minute delta as bind values: service_key, minute, side, address, delta. */
export function clientMinuteValues({ dims: d, delta }: Delta<ClientMinuteDims>): (string | number)[] {
  return [d.serviceKey, d.minute, d.side, d.address, delta];
}

/** A proxy_hour delta as bind values: service_key, hour, seen_ip, delta. */
export function proxyHourValues({ dims: d, delta }: Delta<ProxyHourDims>): (string | number)[] {
  return [d.serviceKey, d.hour, d.seenIp, delta];
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
