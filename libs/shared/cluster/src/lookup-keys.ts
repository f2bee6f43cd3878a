import type { LookupProtocol, ServiceProtocol } from './cluster-types';
import { ipKey } from './ip-address';

const SERVICE_PROTOCOLS: Readonly<Record<string, ServiceProtocol>> = {
  TCP: 'TCP',
  tcp: 'TCP',
  UDP: 'UDP',
  udp: 'UDP',
  SCTP: 'SCTP',
  sctp: 'SCTP',
};

/** The Service spelling of a protocol; undefined for protocols no Service port can carry (ICMP, other). */
export function serviceProtocol(protocol: LookupProtocol): ServiceProtocol | undefined {
  return SERVICE_PROTOCOLS[protocol];
}

/** The map key of an (address, port, protocol) triple, from an address already in key form. */
export function socketKey(addressKey: string, port: number, protocol: ServiceProtocol): string {
  return `${addressKey}|${port}|${protocol}`;
}

/** The map key of an (address, port, protocol) triple as a lookup receives it; undefined if it can match nothing. */
export function lookupSocketKey(ip: string, port: number, protocol: LookupProtocol): string | undefined {
  const key = ipKey(ip);
  const proto = serviceProtocol(protocol);
  return key === undefined || proto === undefined ? undefined : socketKey(key, port, proto);
}
