import type { ServiceEntry, Verdict } from '@natlens/shared-model';
import type { ClientKind } from '../types';

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
}

export interface EndpointEvidence {
  readonly namespace: string;
  readonly pod: string;
  readonly node: string;
  readonly connections: number;
  readonly share: number;
  readonly expectedShare: number;
}

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
  };
  readonly findings: readonly Finding[];
}
