import type { ClientIdentity, ClusterIndex, ServiceEndpoint, ServiceFrontend } from '@natlens/shared-cluster';
import type { FlowRecord, FlowService, FlowEndpoint, FlowClient, LoadBalancerBasis } from '@natlens/shared-model';
import { classifyVerdict, isHairpin, nodePortEntry, translate } from '@natlens/shared-analysis';
import type { ObservedConnection } from './observed-connection';

/** Whether an address health-checks the nodes (health-check-probers.ts), for telling a load balancer's node-port deliveries apart. */
export interface LoadBalancerSources {
  has(address: string, now: number): boolean;
}

const NO_SOURCES: LoadBalancerSources = { has: () => false };

/*
 * The enrich stage: one observed connection + the cluster's metadata → a flow record with its meaning. Pure.
 *
 * Which leg is this? A connection that enters node A for an endpoint on node B is seen twice: on A with the DNAT
 * (and, under Cluster policy, the SNAT) — the entry leg — and on B as a plain connection from A's address (or the
 * calling pod's) to the endpoint, whose original tuple is A's translated tuple. B's record is marked `forwarded`
 * so evidence counts the connection once. From B alone a direct pod-to-pod connection to an endpoint port looks the
 * same; it is marked forwarded too (the hub can tell them apart by joining the tuples).
 *
 * A node-port hit on a LoadBalancer Service may be its load balancer delivering to nodeIP:nodePort: entry
 * `loadBalancer` via `nodePort` (libs/shared/analysis entry.ts says how it is told apart; `probers` are the addresses
 * seen health-checking this node).
 */
export function enrichConnection(conn: ObservedConnection, index: ClusterIndex, node: string, probers: LoadBalancerSources = NO_SOURCES): FlowRecord {
  const t = translate(conn.original, conn.reply);
  const proto = conn.original.proto;
  const client = clientOf(conn.original.src, index);
  let service: FlowService | undefined;
  let endpoint: FlowEndpoint | undefined;
  let leg: FlowRecord['leg'] = 'entry';
  let entryNode: string | undefined;

  const frontend = index.serviceFrontend(conn.original.dst, conn.original.dport, proto);
  if (frontend) {
    const delivered =
      frontend.entry === 'nodePort'
        ? nodePortEntry({
            serviceType: frontend.type,
            ...(frontend.loadBalancerIngress ? { loadBalancerIngress: frontend.loadBalancerIngress } : {}),
            clientKind: client.kind,
            proxyHeader: conn.realClient !== undefined,
            prober: client.kind === 'external' && frontend.type === 'LoadBalancer' && probers.has(conn.original.src, conn.observedAt),
          })
        : undefined;
    service = delivered?.entry === 'loadBalancer' ? flowServiceViaNodePort(frontend, delivered.viaBasis) : flowServiceOf(frontend);
    endpoint = endpointOf(index, t.translated.dst, t.translated.dport, proto, frontend);
    entryNode = node;
  } else if (!t.dnat) {
    const ep = index.endpoint(conn.original.dst, conn.original.dport, proto);
    const sourceNode = index.nodeOf(conn.original.src);
    if (ep && sourceNode && sourceNode !== node) {
      const info = index.service(ep.service);
      if (info) {
        leg = 'forwarded';
        entryNode = sourceNode;
        service = {
          namespace: info.namespace,
          name: info.name,
          port: ep.servicePort?.port ?? ep.port,
          ...(ep.servicePort?.name ? { portName: ep.servicePort.name } : {}),
          type: info.type,
          externalTrafficPolicy: info.externalTrafficPolicy,
          // the entry node knows how the connection came in; from here a node source means a node port or LB
          entry: client.kind === 'pod' ? 'clusterIP' : 'nodePort',
          expectClientIP: info.expectClientIP,
        };
        endpoint = endpointOf(index, conn.original.dst, conn.original.dport, proto, ep.service);
      }
    }
  }

  const verdict = classifyVerdict({
    service: service ? { externalTrafficPolicy: service.externalTrafficPolicy, expectClientIP: service.expectClientIP } : undefined,
    client,
    snat: t.snat,
    hairpin: isHairpin(t),
    realClient: conn.realClient !== undefined,
    // kube-proxy drops external traffic only on a Local-policy node without a local endpoint (KUBE-EXTERNAL-SERVICES).
    droppedNoLocalEndpoint: conn.dropped === true && frontend?.externalTrafficPolicy === 'Local' && index.localEndpoints(frontend, node) === 0,
    natFailure: conn.natFailure !== undefined,
  });

  // One literal with every key, in the order records have always been exported in (a NEW's record, then what
  // touch() sets at the end): every record shares one hidden class, which touch() then never changes.
  // JSON.stringify leaves the undefined ones out, as it did the keys that were absent.
  return {
    node,
    source: conn.source,
    flowId: flowIdOf(conn),
    firstSeen: conn.startedAt ?? conn.observedAt,
    lastSeen: conn.endedAt ?? conn.observedAt,
    original: t.original,
    translated: t.translated,
    snat: t.snat,
    dnat: t.dnat,
    portRemap: t.portRemap,
    state: conn.state ? conn.state : undefined,
    leg,
    service,
    endpoint,
    client,
    verdict,
    realClient: conn.realClient ? conn.realClient : undefined,
    entryNode: entryNode ? entryNode : undefined,
    counters: conn.counters ? conn.counters : undefined,
    ended: conn.kind === 'destroy' ? true : undefined,
    zone: conn.zone ?? 0,
    natFailure: conn.natFailure ? conn.natFailure : undefined,
  };
}

/** Shared, read-only, like the service and endpoint below: one per address and answer of the index. */
function clientOf(ip: string, index: ClusterIndex): FlowClient {
  const identity = index.classifyClient(ip);
  const shared = flowClients.get(identity);
  if (shared !== undefined && shared.ip === ip) return shared;
  const client = newClient(ip, identity);
  flowClients.set(identity, client);
  return client;
}

function newClient(ip: string, identity: ClientIdentity): FlowClient {
  if (identity.kind === 'node') return { ip, kind: 'node', name: identity.node };
  if (identity.kind === 'pod') return { ip, kind: 'pod', ...(identity.pod ? { name: `${identity.pod.namespace}/${identity.pod.name}` } : {}) };
  return { ip, kind: 'external' };
}

/*
 * A record's service and endpoint are the same for every connection to one Service port and one pod, its client for
 * every connection from one address, and a live flow keeps its record until the connection ends (thousands at once
 * on a busy node): they are built once per object of the cluster index and shared, read-only, by the records. A new
 * index (the cluster changed) builds new ones.
 */
const flowServices = new WeakMap<ServiceFrontend, FlowService>();
const flowClients = new WeakMap<ClientIdentity, FlowClient>();
const flowEndpoints = new WeakMap<ServiceEndpoint, FlowEndpoint>();

function flowServiceOf(frontend: ServiceFrontend): FlowService {
  let service = flowServices.get(frontend);
  if (!service) {
    service = {
      namespace: frontend.namespace,
      name: frontend.name,
      port: frontend.port.port,
      ...(frontend.port.name ? { portName: frontend.port.name } : {}),
      type: frontend.type,
      externalTrafficPolicy: frontend.externalTrafficPolicy,
      entry: frontend.entry,
      expectClientIP: frontend.expectClientIP,
    };
    flowServices.set(frontend, service);
  }
  return service;
}

const flowServicesViaNodePort = new WeakMap<ServiceFrontend, Map<LoadBalancerBasis, FlowService>>();

/** The load balancer's entry through a node port, one per frontend and basis. */
function flowServiceViaNodePort(frontend: ServiceFrontend, viaBasis: LoadBalancerBasis): FlowService {
  let byBasis = flowServicesViaNodePort.get(frontend);
  if (!byBasis) flowServicesViaNodePort.set(frontend, (byBasis = new Map()));
  let service = byBasis.get(viaBasis);
  if (!service) {
    service = { ...flowServiceOf(frontend), entry: 'loadBalancer', via: 'nodePort', viaBasis };
    byBasis.set(viaBasis, service);
  }
  return service;
}

function endpointOf(index: ClusterIndex, ip: string, port: number, proto: FlowRecord['original']['proto'], service: { namespace: string; name: string }): FlowEndpoint | undefined {
  const ep = index.endpoint(ip, port, proto, service); // the frontend or endpoint object itself: the index's memo keys on it
  if (!ep?.pod) return undefined;
  const shared = flowEndpoints.get(ep);
  if (shared && shared.ip === ip && shared.port === port) return shared;
  const endpoint: FlowEndpoint = { namespace: ep.pod.namespace, pod: ep.pod.name, ...(ep.node ? { node: ep.node } : {}), ip, port };
  flowEndpoints.set(ep, endpoint);
  return endpoint;
}

/** Stable for the connection's life on this node, distinct from every other connection: id, instance, tuple, zone. */
export function flowIdOf(conn: Pick<ObservedConnection, 'source' | 'id' | 'instance' | 'original' | 'flowId' | 'zone'>): string {
  if (conn.flowId !== undefined) return conn.flowId; // built by the source, in this same format
  return flowIdText(conn.source, conn.instance ?? '-', conn.id, conn.original, conn.zone ?? 0);
}

/**
 * `<source>:<instance>:<id>:<proto>:<src>:<sport>><dst>:<dport>[@z<zone>]` as one flat string: a template literal
 * leaves a tree of concatenations that the flow maps' hashing flattens into a second string, and a live connection
 * would hold both. The zone is written only when it is not the default zone 0: two entries with the same tuple in
 * two zones are two connections (conntrack keys its table by tuple and zone), and flowIds of zone 0 stay as they were.
 */
export function flowIdText(source: string, instance: string, id: string | number, o: FlowRecord['original'], zone: number): string {
  return [source, ':', instance, ':', id, ':', o.proto, ':', o.src, ':', o.sport, '>', o.dst, ':', o.dport, zoneSuffix(zone)].join('');
}

/** What a flowId or a join key adds for a connection's conntrack zone: nothing for the default zone. */
export function zoneSuffix(zone: number): string {
  return zone === 0 ? '' : `@z${zone}`;
}
