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

/*
 * kube-proxy's nftables mode (pkg/proxy/nftables/proxier.go) names chains for people: "<hash>-ns/name/proto/port",
 * the hash being the first 8 characters of base32(sha256(name)) of the name it prefixes, so two endpoints differing
 * in one digit still look different at a glance. nftables names may hold "/" and "." but not ":", which is why an
 * endpoint is written "ip/port" after a "__".
 */
const NFT_NAME_BASE_MAX = 256 - 16;

function hashAndTruncate(name: string): string {
  const hashed = `${base32(createHash('sha256').update(name).digest()).slice(0, 8)}-${name}`;
  return hashed.length > NFT_NAME_BASE_MAX ? `${hashed.slice(0, NFT_NAME_BASE_MAX - 3)}...` : hashed;
}

export interface NftServicePortChains {
  /** service-*: every endpoint (Cluster policy). */
  cluster: string;
  /** local-*: local endpoints (Local policy). */
  local: string;
  /** external-*: node ports, external IPs and load-balancer IPs. */
  external: string;
  /** firewall-*: loadBalancerSourceRanges. */
  firewall: string;
}

export function nftServicePortChains(namespace: string, name: string, protocol: string, portName: string): NftServicePortChains {
  const base = hashAndTruncate(`${namespace}/${name}/${protocol.toLowerCase()}/${portName}`);
  return { cluster: `service-${base}`, local: `local-${base}`, external: `external-${base}`, firewall: `firewall-${base}` };
}

/** endpoint-* (the DNAT chain) and affinity-* (the client-IP set) of one endpoint "ip:port". */
export function nftEndpointNames(namespace: string, name: string, protocol: string, portName: string, endpoint: { ip: string; port: number }): { chain: string; affinitySet: string } {
  const base = hashAndTruncate(`${namespace}/${name}/${protocol.toLowerCase()}/${portName}__${endpoint.ip.replaceAll(':', '.')}/${endpoint.port}`);
  return { chain: `endpoint-${base}`, affinitySet: `affinity-${base}` };
}
