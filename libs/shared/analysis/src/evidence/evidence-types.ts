import type { NatFailureEvidence } from '@natlens/shared-api';
import type { ServiceEntry, Verdict } from '@natlens/shared-model';
import type { ClientKind } from '../types';
import type { LbModel } from './lb-distribution';

/*
 * The per-Service evidence of DESIGN.md "Per-Service evidence", and what it is computed from. Every number counts
 * connections whose first packet fell in the window; a connection is counted once, on its entry leg (the node where
 * kube-proxy translated it), never again on the forwarded leg that carries it to the endpoint's node.
 */

export type ServiceTypeName = 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';
export type TrafficPolicyName = 'Cluster' | 'Local';

export interface EndpointRef {
  readonly namespace: string;
  readonly pod: string;
  readonly node?: string;
}

/**
 * One group of entry-leg connections sharing every dimension the evidence splits by. Storage produces these from
 * minute rollups (or, for short windows and benchmarks, from raw records); the evidence never sees a raw record.
 */
export interface EvidenceRow {
  /** The node the connection entered (the record's node: entry legs are recorded where they were translated). */
  readonly node: string;
  readonly entry: ServiceEntry;
  readonly verdict: Verdict;
  readonly clientKind: ClientKind;
  readonly snat: boolean;
  /** `translated.src` when the connection was SNATed: the address the pod saw instead of the client's. */
  readonly snatAddress?: string;
  readonly endpoint?: EndpointRef;
  readonly connections: number;
}

export interface EvidenceCounts {
  readonly rows: readonly EvidenceRow[];
  /**
   * Distinct clients as they sent, among the window's entry legs: `original.src`, or the real client a proxying load
   * balancer named (PROXY protocol, X-Forwarded-For, Forwarded) when it did, since that is who actually connected.
   */
  readonly distinctOriginal: number;
  /** Distinct `translated.src`: the clients as the pods saw them. */
  readonly distinctSeenByPods: number;
  /**
   * Observed: the addresses the pods saw for proxied connections (`translated.src` of the records whose real client
   * a PROXY / X-Forwarded-For header named): the proxies an application must trust to read that header.
   */
  readonly proxyAddresses?: readonly string[];
}

/** A label selector (meta/v1 LabelSelector) as the cluster holds it. */
export interface LabelSelectorEvidence {
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: readonly { readonly key: string; readonly operator: string; readonly values?: readonly string[] }[];
}

/** A workload that runs endpoint pods of the Service, found by their ownerReferences (Pod → ReplicaSet → Deployment, …). */
export interface WorkloadEvidence {
  readonly kind: 'Deployment' | 'StatefulSet' | 'DaemonSet' | 'ReplicaSet';
  readonly namespace: string;
  readonly name: string;
  /** Its spec.selector; absent when the cluster metadata holds none. */
  readonly selector?: LabelSelectorEvidence;
  /** Its endpoint pods, `namespace/pod`. */
  readonly pods: readonly string[];
}

/** An endpoint pod whose workload natlens could not find, and why (it never invents one). */
export interface UnknownOwnerEvidence {
  readonly pod: string;
  readonly reason: string;
  /** The owner reference that could not be followed, as the pod (or its ReplicaSet) names it. */
  readonly owner?: { readonly kind: string; readonly name: string };
}

/** What the cluster says about a Service: from the inventory / API, or else guessed from its records. */
export interface ServiceTopology {
  readonly namespace: string;
  readonly name: string;
  readonly type: ServiceTypeName;
  readonly externalTrafficPolicy: TrafficPolicyName;
  readonly healthCheckNodePort?: number;
  readonly expectClientIP?: boolean;
  /** Ready endpoints (one per pod). */
  readonly endpoints: readonly EndpointRef[];
  /** Every node of the cluster (a node without endpoints still receives NodePort and LB traffic). */
  readonly nodes: readonly string[];
  /** `cluster` when from cluster metadata; `records` when derived from what the agents reported (may miss idle pods). */
  readonly source: 'cluster' | 'records';
  /** The Service's `natlens.io/lb-distribution` annotation, as written (lb-distribution.ts). */
  readonly lbDistribution?: string;
  /** The Nodes' spec.podCIDR(s) (cluster metadata only). */
  readonly podCIDRs?: readonly string[];
  /** The workloads owning the ready endpoint pods, and the pods whose owner is unknown (cluster metadata only). */
  readonly workloads?: readonly WorkloadEvidence[];
  readonly unknownOwners?: readonly UnknownOwnerEvidence[];
}

export interface TimeWindow {
  readonly from: number;
  readonly to: number;
}

export type FindingSeverity = 'info' | 'warning' | 'critical';

export type FindingCode =
  | 'client-ip-lost'
  | 'snat-unexpected'
  | 'local-policy-imbalance'
  | 'dropped-no-local-endpoint'
  | 'traffic-to-node-without-endpoints'
  | 'hairpin-snat'
  | 'proxied-clients'
  | 'health-check-mismatch'
  | 'nat-failures'
  | 'no-traffic';

export interface Finding {
  readonly severity: FindingSeverity;
  readonly code: FindingCode;
  readonly message: string;
}

export interface NodeEvidence {
  readonly node: string;
  readonly localEndpoints: number;
  /** Connections that entered this node and were not dropped there. */
  readonly received: number;
  /** Of those, connections sent on to an endpoint on another node. */
  readonly forwarded: number;
  /** Connections dropped here (Local policy, no local endpoint). */
  readonly dropped: number;
  /**
   * kube-proxy's health check on healthCheckNodePort for this node (Local-policy LoadBalancers). `localEndpoints` and
   * `healthy` are derived from the EndpointSlices (what it should answer: 200 when the node runs a ready endpoint);
   * `observed` is what it did answer when this node's agent probed it.
   */
  readonly healthCheck?: { readonly localEndpoints: number; readonly healthy: boolean; readonly observed?: ObservedHealthCheck };
}

/** A health-check answer as the node's agent observed it, probing like a load balancer (observed, not derived). */
export interface ObservedHealthCheck {
  /** The HTTP status; null when the node did not answer (refused, timed out). */
  readonly httpStatus: number | null;
  /** `localEndpoints` of kube-proxy's JSON body; null when there was none. */
  readonly localEndpoints: number | null;
  /** When the probe was sent (ms since the epoch). */
  readonly at: number;
  readonly latencyMs?: number;
  /** Why there was no usable answer. */
  readonly error?: string;
  /** Since when the node has answered this way (as far as the hub's history of answers goes back). */
  readonly since?: number;
  /** No newer answer arrived for longer than the agent's report interval allows: this one may no longer hold. */
  readonly stale?: boolean;
}

/** What agents observed besides connections, for one Service over one window. */
export interface EvidenceObservations {
  /** The health-check answer per node in force at the end of the window. */
  readonly healthChecks?: ReadonlyMap<string, ObservedHealthCheck>;
  /** The window's connections with verdict dropped-nat-failure and why (from raw records: reasons are not rolled up). */
  readonly natFailures?: NatFailureEvidence;
}

export interface EndpointEvidence {
  readonly namespace: string;
  readonly pod: string;
  readonly node: string;
  readonly connections: number;
  readonly share: number;
  readonly expectedShare: number;
}

/**
 * Where a figure comes from. `observed`: counted from the agents' records (what the kernel and the wire showed).
 * `cluster`: derived from the cluster's own objects (Services, EndpointSlices, Nodes, Pods, workloads), from the
 * inventory or the API server. `records`: derived like `cluster`, but from the records' own fields because the hub has
 * no cluster metadata (idle pods and nodes are missing). `annotation`: stated by a Service annotation. `inferred`:
 * inferred from observed figures by a stated test. `assumed`: a default, neither stated nor inferred.
 */
export type FigureSource = 'observed' | 'cluster' | 'records' | 'annotation' | 'inferred' | 'assumed';

/** The figure groups of ServiceEvidence, by their path in it. */
export const EVIDENCE_FIGURES = [
  'connections',
  'byEntry',
  'byVerdict',
  'clients',
  'snat',
  'endpoints.connections',
  'endpoints.share',
  'endpoints.expectedShare',
  'nodes.localEndpoints',
  'nodes.traffic',
  'nodes.healthCheck',
  'nodes.healthCheck.observed',
  'imbalance.observed',
  'imbalance.predicted',
  'imbalance.model',
  'context.podCIDRs',
  'context.workloads',
  'context.proxyAddresses',
] as const;
export type EvidenceFigure = (typeof EVIDENCE_FIGURES)[number];

export interface ServiceEvidence {
  readonly service: {
    readonly namespace: string;
    readonly name: string;
    readonly type: ServiceTypeName;
    readonly externalTrafficPolicy: TrafficPolicyName;
    readonly healthCheckNodePort?: number;
  };
  readonly window: TimeWindow;
  readonly connections: number;
  readonly byEntry: Record<ServiceEntry, number>;
  readonly byVerdict: Partial<Record<Verdict, number>>;
  readonly clients: {
    readonly distinctOriginal: number;
    readonly distinctSeenByPods: number;
    /** Connections whose real client reached the pods in a PROXY protocol / X-Forwarded-For header (verdict proxied). */
    readonly viaProxy: number;
  };
  readonly snat: {
    readonly external: number;
    readonly snatted: number;
    readonly ratio: number;
    /** Of the snatted, those whose real client a proxy header carried to the pods anyway: their client IP is not lost. */
    readonly carried: number;
    readonly byNode: readonly { readonly node: string; readonly snatAddress: string; readonly connections: number }[];
  };
  readonly endpoints: readonly EndpointEvidence[];
  readonly nodes: readonly NodeEvidence[];
  readonly imbalance: {
    readonly maxOverMean: number;
    readonly maxShare: number;
    readonly minShare: number;
    readonly predicted: readonly { readonly pod: string; readonly share: number }[];
    /**
     * The load balancer's distribution model the predictions assume, where it came from (the annotation, inferred
     * from the observed split over entry nodes, or the per-node default) and what the observed split says. Present
     * for LoadBalancer Services and for Services carrying the annotation.
     */
    readonly model?: LbModel;
  };
  /**
   * What the remedies are built from, so they name this cluster's own objects and addresses: the Nodes' pod CIDRs, the
   * workloads that run the endpoint pods (with their real selectors) and the pods whose owner is unknown, derived from
   * cluster objects (empty without cluster metadata); and the proxies' addresses, observed.
   */
  readonly context: {
    readonly podCIDRs: readonly string[];
    readonly workloads: readonly WorkloadEvidence[];
    readonly unknownOwners: readonly UnknownOwnerEvidence[];
    readonly proxyAddresses: readonly string[];
  };
  /**
   * Per figure group, where it comes from (FigureSource): `nodes.traffic` is received/forwarded/dropped,
   * `nodes.healthCheck` the answer kube-proxy should give (from the endpoints), `nodes.healthCheck.observed` the answer
   * the agents saw when they probed (only for Services with a healthCheckNodePort),
   * `imbalance.observed` maxOverMean/maxShare/minShare; `imbalance.model` is the model's own source (absent without
   * a model).
   */
  readonly provenance: Readonly<Partial<Record<EvidenceFigure, FigureSource>>>;
  /**
   * Issue 20: connections the kernel dropped because conntrack could not insert them or NAT found no free port,
   * observed one by one (eBPF) or estimated from the node's counters (conntrack source), never mixed. Present when the
   * hub looked (it always does); counted in byVerdict['dropped-nat-failure'] and nowhere else (they reached no pod).
   */
  readonly natFailures?: NatFailureEvidence;
  readonly findings: readonly Finding[];
}
