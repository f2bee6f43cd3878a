import { z } from 'zod';

/*
 * What an agent reports about its node, besides flow records (agent → hub; HTTP `POST /api/nodes/report` or NATS
 * `natlens.nodes.<node>`): the addresses on the node's interfaces, what the node's health-check endpoints answered
 * when the agent probed them as a load balancer would, and the node's conntrack statistics and SNAT port usage.
 *
 * Versioning, so agents and hubs of different releases work together:
 * - additions are optional fields or sections and keep `version` 1; the hub's schema drops keys it does not know
 *   (objects here are not strict) and defaults sections an older agent does not send;
 * - a change of meaning bumps `version`; a hub refuses versions above `NODE_REPORT_VERSION` with a message saying to
 *   upgrade it, and the agent keeps sending its records regardless (reports and records travel apart).
 */
export const NODE_REPORT_VERSION = 1;

const ip = z.union([z.ipv4(), z.ipv6()]);
const port = z.number().int().min(1).max(65535);
const epochMs = z.number().int().nonnegative();

/** One HTTP answer (or the lack of one) of a health-check endpoint. */
const answerFields = {
  /** When the probe was sent (ms since the epoch). */
  at: epochMs,
  /** The HTTP status; null when no answer came (refused, timed out, reset). */
  httpStatus: z.number().int().min(100).max(599).nullable(),
  /** From sending the request to the end of the answer, or to the failure. */
  latencyMs: z.number().nonnegative().max(3_600_000).optional(),
  /** Why there was no usable answer: the connection error, a timeout, or a body that was not what kube-proxy sends. */
  error: z.string().max(500).optional(),
  /** The address and port probed: one of the node's own addresses, as a load balancer reaches the node. */
  address: ip,
  port,
};

/** kube-proxy's answer on a Local-policy LoadBalancer Service's healthCheckNodePort, as probed on the node. */
export const serviceHealthCheckSchema = z.object({
  ...answerFields,
  service: z.object({ namespace: z.string().min(1).max(253), name: z.string().min(1).max(253) }),
  /** `localEndpoints` of the JSON body kube-proxy answers with; null when there was no such body. */
  localEndpoints: z.number().int().nonnegative().nullable(),
});
export type ServiceHealthCheck = z.infer<typeof serviceHealthCheckSchema>;

/** kube-proxy's own `/healthz` (port 10256 by default), which cloud load balancers probe for Cluster-policy Services. */
export const proxyHealthSchema = z.object({
  ...answerFields,
  /** Fields of its JSON body when it had them. */
  lastUpdated: z.string().max(64).optional(),
  currentTime: z.string().max(64).optional(),
  nodeEligible: z.boolean().optional(),
});
export type ProxyHealth = z.infer<typeof proxyHealthSchema>;

/** An address on one of the node's interfaces (loopback and link-local ones are the node's own business, not sent). */
export const interfaceAddressSchema = z.object({
  address: ip,
  interface: z.string().min(1).max(64).optional(),
});
export type InterfaceAddress = z.infer<typeof interfaceAddressSchema>;

const count = z.number().int().nonnegative();

/**
 * The node's conntrack statistics, read over ctnetlink (IPCTNL_MSG_CT_GET_STATS_CPU summed over CPUs, and
 * IPCTNL_MSG_CT_GET_STATS), not /proc. Counters only grow (since the network namespace was made); the hub derives
 * rates from successive reports. A counter the kernel does not send is absent.
 */
export const conntrackStatsSchema = z.object({
  /** When the statistics were read (ms since the epoch). */
  at: epochMs,
  counters: z.object({
    found: count.optional(),
    invalid: count.optional(),
    insert: count.optional(),
    insertFailed: count.optional(),
    drop: count.optional(),
    earlyDrop: count.optional(),
    error: count.optional(),
    searchRestart: count.optional(),
    clashResolve: count.optional(),
    chainTooLong: count.optional(),
  }),
  /** Entries in the table now (CTA_STATS_GLOBAL_ENTRIES). */
  entries: count,
  /** nf_conntrack_max (CTA_STATS_GLOBAL_MAX_ENTRIES, or the sysctl); null when unknown. */
  max: count.nullable(),
  /** nf_conntrack_buckets; null when unknown. */
  buckets: count.nullable().optional(),
});
export type ConntrackStats = z.infer<typeof conntrackStatsSchema>;

/**
 * SNAT source-port usage of one (SNAT address, destination address, destination port, protocol): how many translated
 * source ports the node's conntrack table holds against the range the masquerade rule can choose from. Agents send
 * the busiest pairs only (bounded cardinality).
 */
export const snatPortUsageSchema = z.object({
  snatAddress: ip,
  destination: ip,
  destinationPort: port,
  protocol: z.enum(['tcp', 'udp', 'sctp']),
  inUse: count,
  /** The range masquerade picks from: the rule's `--to-ports` when set, else the ephemeral range the kernel uses. */
  range: z.object({ min: port, max: port }),
  /** Where the range came from: the node's NAT rules, or the kernel's default for masquerade without ports. */
  rangeBasis: z.enum(['nat-rule', 'kernel-default']),
});
export type SnatPortUsage = z.infer<typeof snatPortUsageSchema>;

export const nodeReportSchema = z.object({
  version: z.number().int().min(1),
  node: z.string().min(1).max(253),
  /** When the report was made (ms since the epoch). The hub keeps the newest report per node by this. */
  at: epochMs,
  /** How often this agent reports: a report older than a few of these says the agent stopped reporting. */
  intervalMs: z.number().int().positive().max(3_600_000).optional(),
  addresses: z.array(interfaceAddressSchema).max(1024).default([]),
  healthChecks: z.array(serviceHealthCheckSchema).max(10_000).default([]),
  proxyHealth: proxyHealthSchema.optional(),
  /** Issue 20: conntrack table pressure and failures. Absent from older agents. */
  conntrack: conntrackStatsSchema.optional(),
  /** Issue 20: the busiest SNAT pairs (at most 50). */
  snatPorts: z.array(snatPortUsageSchema).max(50).optional(),
});
export type NodeReport = z.infer<typeof nodeReportSchema>;
export type NodeReportInput = z.input<typeof nodeReportSchema>;
