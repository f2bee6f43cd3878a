import { createHash } from 'node:crypto';

/*
 * kube-proxy names its per-Service chains from a hash so that names stay under iptables' 28-character limit:
 * the first 16 characters of base32(sha256(servicePortName + protocol)), with servicePortName
 * "namespace/name:portName" (":portName" left out when the port is unnamed) and protocol lower-case.
 * Matching it exactly lets an operator grep our lab's rules with the names they know from real clusters.
 */
const BASE32_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export function base32(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32_ALPHABET[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32_ALPHABET[(buffer << (5 - bits)) & 31];
  return out;
}

function hash16(text: string): string {
  return base32(createHash('sha256').update(text).digest()).slice(0, 16);
}

export function servicePortName(namespace: string, name: string, portName: string | undefined): string {
  return `${namespace}/${name}${portName ? `:${portName}` : ''}`;
}

export interface ServicePortChains {
  /** KUBE-SVC-*: all endpoints, for cluster traffic. */
  cluster: string;
  /** KUBE-SVL-*: local endpoints only, for Local policy. */
  local: string;
  /** KUBE-EXT-*: traffic to node ports, external IPs and load-balancer IPs. */
  external: string;
  /** KUBE-FW-*: traffic to load-balancer IPs. */
  firewall: string;
}

export function servicePortChains(spn: string, protocol: string): ServicePortChains {
  const h = hash16(spn + protocol.toLowerCase());
  return { cluster: `KUBE-SVC-${h}`, local: `KUBE-SVL-${h}`, external: `KUBE-EXT-${h}`, firewall: `KUBE-FW-${h}` };
}

/** KUBE-SEP-*: one per endpoint, hashed with the endpoint's "ip:port". */
export function endpointChain(spn: string, protocol: string, endpoint: string): string {
  return `KUBE-SEP-${hash16(spn + protocol.toLowerCase() + endpoint)}`;
}
