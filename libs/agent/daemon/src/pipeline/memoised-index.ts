import type { ClientIdentity, ClusterIndex, LookupProtocol, ServiceEndpoint, ServiceFrontend, ServiceRef } from '@natlens/shared-cluster';

/** Entries remembered per lookup; past it that lookup's memory starts again (a scan of many addresses must not grow it). */
const MAX_ENTRIES = 65_536;

/*
 * A cluster index whose per-connection lookups are remembered. ClusterIndex parses the address text on every call
 * (a BigInt per address, a key string per lookup), and a node sees the same few frontends, endpoints and clients in
 * connection after connection. An index is immutable and replaced whole, so each answer stays true for the life of
 * the index it came from, and the memory lives and dies with it. The keys are the address strings as given (the
 * conntrack decoder shares one string per address) and numbers, so a repeated lookup allocates nothing.
 */
export function memoisedIndex(index: ClusterIndex): ClusterIndex {
  const view: ClusterIndex = Object.create(index);
  const clients = new Map<string, ClientIdentity>();
  const frontends = new Map<string, Map<number, ServiceFrontend | null>>();
  const endpoints = new Map<string, Map<number, Map<ServiceRef | undefined, ServiceEndpoint | null>>>();
  const owners = new Map<string, string | null>();
  let frontendCount = 0;
  let endpointCount = 0;

  view.classifyClient = (ip: string) => {
    let identity = clients.get(ip);
    if (identity === undefined) {
      if (clients.size >= MAX_ENTRIES) clients.clear();
      identity = index.classifyClient(ip);
      clients.set(ip, identity);
    }
    return identity;
  };

  view.serviceFrontend = (ip: string, port: number, protocol: LookupProtocol) => {
    let byPort = frontends.get(ip);
    const key = socketKey(port, protocol);
    let frontend = byPort?.get(key);
    if (frontend === undefined) {
      if (frontendCount >= MAX_ENTRIES) {
        frontends.clear();
        frontendCount = 0;
        byPort = undefined;
      }
      frontend = index.serviceFrontend(ip, port, protocol) ?? null;
      if (byPort === undefined) frontends.set(ip, (byPort = new Map()));
      byPort.set(key, frontend);
      frontendCount++;
    }
    return frontend ?? undefined;
  };

  // By the Service asked for: enrich passes the frontend or the endpoint's service, objects of this same index.
  view.endpoint = (ip: string, port: number, protocol: LookupProtocol, service?: ServiceRef) => {
    let byPort = endpoints.get(ip);
    const key = socketKey(port, protocol);
    let byService = byPort?.get(key);
    let endpoint = byService?.get(service);
    if (endpoint === undefined) {
      if (endpointCount >= MAX_ENTRIES) {
        endpoints.clear();
        endpointCount = 0;
        byPort = byService = undefined;
      }
      endpoint = index.endpoint(ip, port, protocol, service) ?? null;
      if (byPort === undefined) endpoints.set(ip, (byPort = new Map()));
      if (byService === undefined) byPort.set(key, (byService = new Map()));
      byService.set(service, endpoint);
      endpointCount++;
    }
    return endpoint ?? undefined;
  };

  view.nodeOf = (ip: string) => {
    let node = owners.get(ip);
    if (node === undefined) {
      if (owners.size >= MAX_ENTRIES) owners.clear();
      node = index.nodeOf(ip) ?? null;
      owners.set(ip, node);
    }
    return node ?? undefined;
  };

  return view;
}

const PROTOCOLS: readonly LookupProtocol[] = ['tcp', 'udp', 'sctp', 'icmp', 'icmpv6', 'other', 'TCP', 'UDP', 'SCTP'];

/** One number per (port, protocol), each spelling in a slot of its own (what they mean is the index's business). */
function socketKey(port: number, protocol: LookupProtocol): number {
  return port * 16 + PROTOCOLS.indexOf(protocol) + 1;
}
