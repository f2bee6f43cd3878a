import { hostname } from 'node:os';
import { agentNatsUser, busAuthFromEnv, deriveNodeToken, isNodeName, MIN_NODE_TOKEN_SECRET_LENGTH, type NatsClientAuth, readTlsFiles } from '@natlens/shared-auth';
import { z } from 'zod';

/*
 * The agent's whole configuration, validated once at boot: the process refuses to start and lists every bad
 * setting. Only this module reads process.env.
 */
const hubUrl = z
  .string()
  .refine((v) => /^(https?:\/\/[^\s]+|unix:\/.+)$/.test(v), 'expected http(s)://host:port or unix:/path/to/hub.sock');

export const agentConfigSchema = z.strictObject({
  node: z.string().min(1, 'the node name is empty: pass --node or set NATLENS_NODE'),
  inventory: z.string().optional(),
  kubeconfig: z.string().optional(),
  inCluster: z.boolean().default(false),
  hub: hubUrl.optional(),
  hubToken: z.string().optional(),
  /** PEM CA bundle to verify an https:// hub with (added to Node's default roots). */
  hubCa: z.string().min(1).optional(),
  /**
   * Tokens that may read the local API's records (GET /api/flows, socket.io /flows), the hub's read-token scheme.
   * Without any, those are served only on a Unix socket (--api-socket); on TCP they answer 403.
   */
  readTokens: z.array(z.string().min(16, 'a token must be at least 16 characters')).default([]),
  /** Absent: the best available (eBPF where the kernel allows it, else conntrack). */
  sources: z.array(z.enum(['ebpf', 'conntrack', 'pcap'])).min(1).optional(),
  /** eBPF source: the ring buffer between kernel and agent (a power of two of at least a page). */
  ebpfRingBufferBytes: z.number().int().min(4096).refine((v) => (v & (v - 1)) === 0, 'expected a power of two').default(8 << 20),
  /** pcap source: interfaces for tcpdump (`any` = all, Linux cooked headers) and an optional BPF filter override. */
  captureInterfaces: z.array(z.string().min(1)).min(1).default(['any']),
  captureFilter: z.string().min(1).optional(),
  enableAccounting: z.boolean().default(false),
  apiPort: z.number().int().min(0).max(65535).default(9465),
  apiHost: z.string().default('0.0.0.0'),
  apiSocket: z.string().optional(),
  flushIntervalMs: z.number().int().min(50).max(600_000).default(5000),
  batchSize: z.number().int().min(1).max(10_000).default(1000),
  resyncIntervalMs: z.number().int().min(1000).default(60_000),
  receiveBufferBytes: z.number().int().min(65_536).default(32 << 20),
  queueCapacity: z.number().int().min(16).default(65_536),
  spoolDir: z.string().optional(),
  spoolMaxBytes: z.number().int().min(1024).default(256 << 20),
  recentRecords: z.number().int().min(0).default(10_000),
  logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  /** Health checks probed on this node, as a load balancer would (0: none). */
  healthCheckIntervalMs: z.number().int().min(0).max(3_600_000).refine((v) => v === 0 || v >= 100, 'expected 0 (off) or at least 100 ms').default(5000),
  healthCheckTimeoutMs: z.number().int().min(10).max(60_000).default(1000),
  /** kube-proxy's own /healthz (--healthz-bind-address); 0: not probed. */
  proxyHealthzPort: z.number().int().min(0).max(65535).default(10256),
  /** How often the node report (interface addresses, health-check answers) goes to the hub. */
  nodeReportIntervalMs: z.number().int().min(100).max(3_600_000).default(5000),
  /** Conntrack statistics and SNAT port usage are sampled this often (0: off). */
  /**
   * Label the SNAT gauges on /metrics with each busiest pair (SNAT address, destination address and port): /metrics
   * is open on the node's network, so this says which destinations the node talks to. Off: only the unlabelled share.
   */
  snatPairMetrics: z.boolean().default(true),
  conntrackSampleIntervalMs: z.number().int().min(0).max(3_600_000).refine((v) => v === 0 || v >= 500, 'expected 0 (off) or at least 500 ms').default(5000),
  /**
   * kube-proxy's nodePortAddresses: the CIDRs (and/or `primary`) whose local addresses accept node ports; empty: every
   * local address, as kube-proxy's iptables mode by default (127.0.0.1 included).
   */
  nodePortAddresses: z
    .array(z.string().refine((v) => v === 'primary' || /^[0-9a-fA-F.:]+\/\d{1,3}$/.test(v), 'expected a CIDR such as 10.0.0.0/8 or fd00::/64, or primary'))
    .default([]),
  /** NATS JetStream instead of HTTP: batches go to the stream NATLENS_FLOWS, subject natlens.flows.<node>. */
  bus: z
    .string()
    .refine((v) => v.split(',').every((s) => /^(nats|tls):\/\/[^\s]+$/.test(s.trim())), 'expected nats://host:port (comma-separated for several servers)')
    .optional(),
  /** How the agent authenticates to NATS and checks its certificate (NATLENS_BUS_AUTH, NATLENS_BUS_USER, …, NATLENS_BUS_TLS_*). */
  busAuth: z.custom<NatsClientAuth>((v) => typeof v === 'object' && v !== null, 'expected NATS client settings').default({}),
});

export type AgentConfig = z.infer<typeof agentConfigSchema>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`the agent cannot start; fix these settings:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export interface AgentFlags {
  node?: string;
  inventory?: string;
  kubeconfig?: string;
  inCluster?: boolean;
  hub?: string;
  hubTokenFile?: string;
  hubCaFile?: string;
  readTokenFile?: string;
  source?: string;
  captureInterfaces?: string;
  captureFilter?: string;
  ebpfRingBufferBytes?: number;
  enableAccounting?: boolean;
  port?: number;
  host?: string;
  apiSocket?: string;
  flushIntervalMs?: number;
  spoolDir?: string;
  spoolMaxBytes?: number;
  logLevel?: string;
  bus?: string;
  healthCheckIntervalMs?: number;
  healthCheckTimeoutMs?: number;
  proxyHealthzPort?: number;
  nodeReportIntervalMs?: number;
  conntrackSampleIntervalMs?: number;
  snatPairMetrics?: boolean;
  nodePortAddresses?: string;
}

/** One token per line (blank lines and # comments skipped), or comma-separated in an environment variable. */
function tokensFrom(text: string): string[] {
  return text
    .split(/[\n,]/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

/**
 * Flags win over environment variables; tokens and secrets come from the environment or files, never a flag (ps
 * shows flags). The hub token is NATLENS_HUB_TOKEN / --hub-token-file, or, with NATLENS_NODE_TOKEN_SECRET(_FILE),
 * the node token derived for this node (libs/shared/auth node-tokens.ts).
 */
export function loadAgentConfig(flags: AgentFlags, env: NodeJS.ProcessEnv = process.env, readFile: (path: string) => string): AgentConfig {
  const problems: string[] = [];
  const fromFile = (path: string, what: string): string | undefined => {
    try {
      return readFile(path);
    } catch (err) {
      problems.push(`${what} ${path}: ${(err as Error).message}`);
      return undefined;
    }
  };
  const node = flags.node ?? env['NATLENS_NODE'] ?? hostname();
  let hubToken = env['NATLENS_HUB_TOKEN'] || undefined;
  const tokenFile = flags.hubTokenFile ?? env['NATLENS_HUB_TOKEN_FILE'];
  if (tokenFile) hubToken = fromFile(tokenFile, 'hub token file')?.trim();
  const secretFile = env['NATLENS_NODE_TOKEN_SECRET_FILE'];
  const nodeTokenSecret = secretFile ? fromFile(secretFile, 'node token secret file')?.trim() : env['NATLENS_NODE_TOKEN_SECRET'] || undefined;
  if (nodeTokenSecret !== undefined) {
    if (hubToken !== undefined) problems.push('both a hub token (NATLENS_HUB_TOKEN / --hub-token-file) and a node token secret (NATLENS_NODE_TOKEN_SECRET) are set: give the agent one of them');
    else if (nodeTokenSecret.length < MIN_NODE_TOKEN_SECRET_LENGTH) problems.push(`the node token secret must be at least ${MIN_NODE_TOKEN_SECRET_LENGTH} characters`);
    else if (!isNodeName(node)) problems.push(`node "${node}" is not a Kubernetes node name (lowercase letters, digits, '-' and '.'): no node token can be derived for it`);
    else hubToken = deriveNodeToken(nodeTokenSecret, node);
  }
  const readTokens = [...tokensFrom(env['NATLENS_AGENT_READ_TOKENS'] ?? '')];
  const readTokenFile = flags.readTokenFile ?? env['NATLENS_AGENT_READ_TOKEN_FILE'];
  if (readTokenFile) readTokens.push(...tokensFrom(fromFile(readTokenFile, 'read token file') ?? ''));
  const hubCaFile = flags.hubCaFile ?? env['NATLENS_HUB_CA_FILE'];
  const hubCa = readTlsFiles({ caFile: hubCaFile }, readFile, 'hub');
  problems.push(...hubCa.problems);
  const bus = busAuthFromEnv(env, readFile);
  problems.push(...bus.problems);
  let busAuth = bus.auth;
  const busAuthMode = env['NATLENS_BUS_AUTH'];
  if (busAuthMode === 'node-token') {
    // One NATS user per node (natlens nats-config), whose password is this node's token.
    if (busAuth.user || busAuth.nkeySeed || busAuth.creds) problems.push('NATLENS_BUS_AUTH=node-token authenticates with the node token: do not also set NATLENS_BUS_USER, _NKEY_SEED_FILE or _CREDS_FILE');
    else if (hubToken === undefined) problems.push('NATLENS_BUS_AUTH=node-token needs the node token: set NATLENS_NODE_TOKEN_SECRET(_FILE) or NATLENS_HUB_TOKEN(_FILE)');
    else busAuth = { ...busAuth, user: agentNatsUser(node), password: hubToken };
  } else if (busAuthMode !== undefined && busAuthMode !== '') {
    problems.push(`NATLENS_BUS_AUTH="${busAuthMode}": expected node-token (or unset, for NATLENS_BUS_USER / _NKEY_SEED_FILE / _CREDS_FILE)`);
  }
  const raw = {
    node,
    inventory: flags.inventory ?? env['NATLENS_INVENTORY'],
    kubeconfig: flags.kubeconfig ?? env['KUBECONFIG'],
    inCluster: flags.inCluster ?? env['KUBERNETES_SERVICE_HOST'] !== undefined,
    hub: flags.hub ?? env['NATLENS_HUB'],
    hubToken,
    hubCa: hubCa.material.ca,
    readTokens,
    sources: (flags.source ?? env['NATLENS_SOURCES'])?.split(',').map((s) => s.trim()).filter(Boolean),
    captureInterfaces: (flags.captureInterfaces ?? env['NATLENS_CAPTURE_INTERFACES'])?.split(',').map((s) => s.trim()).filter(Boolean),
    captureFilter: flags.captureFilter ?? env['NATLENS_CAPTURE_FILTER'],
    ebpfRingBufferBytes: flags.ebpfRingBufferBytes ?? numberFrom(env['NATLENS_EBPF_RING_BUFFER_BYTES']),
    enableAccounting: flags.enableAccounting ?? false,
    apiPort: flags.port ?? numberFrom(env['NATLENS_AGENT_PORT']),
    apiHost: flags.host,
    apiSocket: flags.apiSocket,
    flushIntervalMs: flags.flushIntervalMs ?? numberFrom(env['NATLENS_FLUSH_INTERVAL_MS']),
    spoolDir: flags.spoolDir ?? env['NATLENS_SPOOL_DIR'],
    spoolMaxBytes: flags.spoolMaxBytes,
    logLevel: flags.logLevel ?? env['NATLENS_LOG_LEVEL'],
    bus: flags.bus ?? env['NATLENS_BUS'],
    busAuth,
    healthCheckIntervalMs: flags.healthCheckIntervalMs ?? numberFrom(env['NATLENS_HEALTH_CHECK_INTERVAL_MS']),
    healthCheckTimeoutMs: flags.healthCheckTimeoutMs ?? numberFrom(env['NATLENS_HEALTH_CHECK_TIMEOUT_MS']),
    proxyHealthzPort: flags.proxyHealthzPort ?? numberFrom(env['NATLENS_PROXY_HEALTHZ_PORT']),
    nodeReportIntervalMs: flags.nodeReportIntervalMs ?? numberFrom(env['NATLENS_NODE_REPORT_INTERVAL_MS']),
    conntrackSampleIntervalMs: flags.conntrackSampleIntervalMs ?? numberFrom(env['NATLENS_CONNTRACK_SAMPLE_INTERVAL_MS']),
    snatPairMetrics: flags.snatPairMetrics ?? (env['NATLENS_SNAT_PAIR_METRICS'] === undefined || env['NATLENS_SNAT_PAIR_METRICS'] === '' ? undefined : env['NATLENS_SNAT_PAIR_METRICS'] !== 'false'),
    nodePortAddresses: (flags.nodePortAddresses ?? env['NATLENS_NODE_PORT_ADDRESSES'])?.split(',').map((s) => s.trim()).filter(Boolean),
  };
  const result = agentConfigSchema.safeParse(Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined)));
  if (!result.success) {
    for (const issue of result.error.issues) problems.push(`${issue.path.join('.') || 'config'}: ${issue.message}`);
  }
  if (result.success && !result.data.inventory && !result.data.kubeconfig && !result.data.inCluster) {
    problems.push('no cluster metadata: pass --inventory FILE, --kubeconfig FILE, or run in a pod (in-cluster config)');
  }
  if (result.success && result.data.bus && result.data.hub) {
    problems.push('both a hub URL and a NATS bus are set: records go one way; pass either --hub (NATLENS_HUB) or --bus (NATLENS_BUS)');
  }
  if (problems.length > 0 || !result.success) throw new ConfigError(problems);
  return result.data;
}

function numberFrom(text: string | undefined): number | undefined {
  return text === undefined || text === '' ? undefined : Number(text);
}
