import { type AlertRuleOverrides, AlertRulesError, parseAlertRulesFile, parseDuration } from '@natlens/shared-analysis';
import { busAuthFromEnv, isNodeName, MIN_NODE_TOKEN_SECRET_LENGTH, type NatsClientAuth, parseNodeTokens, readTlsFiles } from '@natlens/shared-auth';
import { z } from 'zod';

/*
 * The hub's whole configuration, validated once at boot: the process refuses to start and lists every bad setting.
 * Only this module reads process.env (through the `env` argument).
 */

const storeUrl = z
  .string()
  .refine((v) => /^(sqlite:\/\/\/.+|sqlite:[^/].*|postgres(ql)?:\/\/.+)$/.test(v), 'expected sqlite:///path/to/natlens.db or postgres://user@host:port/db');

const duration = z.number().int().positive();

const webhookUrl = z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' });

export const hubConfigSchema = z.strictObject({
  store: storeUrl.default('sqlite:///var/lib/natlens/natlens.db'),
  /** No query runs longer: PostgreSQL's statement_timeout; SQLite reads on the reader thread are abandoned. 0: none. */
  storeStatementTimeoutMs: z.number().int().min(0).default(30_000),
  /** The widest `from`–`to` window a query may ask for (evidence, Service list, flows, health-check history). */
  maxQueryWindowMs: duration.default(32 * 24 * 3600_000),
  port: z.number().int().min(0).max(65535).default(8470),
  host: z.string().min(1).default('0.0.0.0'),
  socket: z.string().min(1).optional(),
  inventory: z.string().min(1).optional(),
  kubeconfig: z.string().min(1).optional(),
  /** In a pod (KUBERNETES_SERVICE_HOST set): cluster metadata from the API server through the pod's service account. */
  inCluster: z.boolean().default(false),
  /** Ingest tokens not bound to a node: they may write records of any node (imports) and read. */
  ingestTokens: z.array(z.string().min(16, 'a token must be at least 16 characters')).default([]),
  readTokens: z.array(z.string().min(16, 'a token must be at least 16 characters')).default([]),
  /** Tokens bound to one node each: they may write that node's records only, and read nothing. */
  nodeTokens: z.array(z.strictObject({ node: z.string().refine(isNodeName, 'not a Kubernetes node name'), token: z.string().min(16, 'a token must be at least 16 characters') })).default([]),
  /** Node tokens derived from this secret are accepted too (natlens-node-v1:<node>:<HMAC-SHA256(secret, node)>). */
  nodeTokenSecret: z.string().min(MIN_NODE_TOKEN_SECRET_LENGTH, `the node token secret must be at least ${MIN_NODE_TOKEN_SECRET_LENGTH} characters`).optional(),
  /** HTTPS instead of HTTP on the TCP port (REST and socket.io): a PEM certificate chain and its key. */
  tls: z.strictObject({ cert: z.string().min(1), key: z.string().min(1) }).optional(),
  /** The largest JSON body of `POST /api/ingest` (a batch). */
  maxBodyBytes: z.number().int().min(1024).default(16 << 20),
  /** The largest JSON body of `POST /api/nodes/report` (a node report: at most 10,000 health checks). */
  maxReportBodyBytes: z.number().int().min(1024).default(4 << 20),
  /** A record or batch stamped further than this ahead of the hub's clock is refused (a sender's clock is wrong). */
  maxClockSkewMs: duration.max(24 * 3600_000).default(10 * 60_000),
  rawRetentionMs: duration.default(24 * 3600_000),
  rollupRetentionMs: duration.default(30 * 24 * 3600_000),
  retentionIntervalMs: duration.min(1000).default(10 * 60_000),
  logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  /** Global overrides of the built-in alert rules (from --alert-rules FILE, validated when read). */
  alertRules: z.custom<AlertRuleOverrides>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), 'expected alert rule overrides').default({}),
  /** Receivers of the generic JSON notification (POST, one alert per request). */
  alertWebhooks: z.array(webhookUrl).default([]),
  /** Alertmanager base URLs: notifications go to <url>/api/v2/alerts in Alertmanager's shape. */
  alertmanagers: z.array(webhookUrl).default([]),
  /** How often every Service's alerts are evaluated (they are also evaluated soon after each ingest). */
  alertIntervalMs: duration.min(100).default(30_000),
  /** The evidence window each evaluation looks at: traffic older than this no longer keeps an alert active. */
  alertWindowMs: duration.min(1000).default(5 * 60_000),
  /** Firing alerts are re-sent to Alertmanagers this often (Alertmanager resolves alerts it stops hearing about). */
  alertResendMs: duration.min(1000).default(60_000),
  /** Base URL of the dashboard, for links in notifications (Alertmanager's generatorURL). */
  dashboardUrl: z.url().optional(),
  /** NATS JetStream (nats://host:port, comma-separated for a cluster): consume agents' batches from the shared stream. */
  bus: z
    .string()
    .refine((v) => v.split(',').every((s) => /^(nats|tls):\/\/[^\s]+$/.test(s.trim())), 'expected nats://host:port (comma-separated for several servers)')
    .optional(),
  /** The durable pull consumer every replica shares: any replica can take any batch. */
  busConsumer: z.string().regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, - and _ only').default('natlens-hub'),
  /** Batches one replica stores at the same time (each is one transaction). */
  busConcurrency: z.number().int().min(1).max(64).default(4),
  /** A batch not acknowledged this long after delivery goes to another replica (kept alive while it is being stored). */
  busAckWaitMs: duration.min(1000).default(30_000),
  /** Batches delivered and not yet acknowledged, across all replicas: the server stops delivering beyond it. */
  busMaxAckPending: z.number().int().min(1).default(1000),
  /** Deliveries of a batch whose storing keeps failing before it goes to the dead-letter stream (consumer max_deliver). */
  busMaxDeliver: z.number().int().min(2).max(1000).default(5),
  /** The stream's limits (the hub owns them; agents only create the stream when it is missing). */
  busStreamMaxAgeMs: duration.min(60_000).default(24 * 3600_000),
  busStreamMaxBytes: z.number().int().min(1 << 20).default(1024 ** 3),
  /** How the hub authenticates to NATS and checks its certificate (NATLENS_BUS_USER, _PASSWORD_FILE, _NKEY_SEED_FILE, _CREDS_FILE, _TLS_*). */
  busAuth: z.custom<NatsClientAuth>((v) => typeof v === 'object' && v !== null, 'expected NATS client settings').default({}),
}).refine((c) => c.ingestTokens.length > 0 || c.nodeTokens.length > 0 || c.nodeTokenSecret !== undefined, {
  message: 'no ingest token: set NATLENS_HUB_TOKENS (comma-separated) or NATLENS_HUB_TOKEN_FILE, or pass --token-file; or give agents node tokens (NATLENS_HUB_NODE_TOKEN_FILE, NATLENS_NODE_TOKEN_SECRET_FILE)',
  path: ['ingestTokens'],
});

export type HubConfig = z.infer<typeof hubConfigSchema>;
export type HubConfigInput = z.input<typeof hubConfigSchema>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`the hub cannot start; fix these settings:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export interface HubFlags {
  store?: string;
  port?: number;
  host?: string;
  socket?: string;
  inventory?: string;
  kubeconfig?: string;
  tokenFile?: string;
  readTokenFile?: string;
  nodeTokenFile?: string;
  tlsCertFile?: string;
  tlsKeyFile?: string;
  maxBodyBytes?: number;
  maxReportBodyBytes?: number;
  rawRetentionHours?: number;
  rollupRetentionDays?: number;
  logLevel?: string;
  alertRules?: string;
  alertWebhook?: string[];
  alertmanager?: string[];
  alertInterval?: string;
  alertWindow?: string;
  alertResend?: string;
  dashboardUrl?: string;
  bus?: string;
  busConcurrency?: number;
}

/** One token per line (blank lines and # comments skipped), or comma-separated in an environment variable. */
function tokensFrom(text: string): string[] {
  return text
    .split(/[\n,]/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

/**
 * Flags win over environment variables. Tokens come from NATLENS_HUB_TOKENS / NATLENS_HUB_READ_TOKENS /
 * NATLENS_HUB_NODE_TOKENS / NATLENS_NODE_TOKEN_SECRET or from files (--token-file, --read-token-file,
 * --node-token-file, NATLENS_HUB_TOKEN_FILE, NATLENS_HUB_READ_TOKEN_FILE, NATLENS_HUB_NODE_TOKEN_FILE,
 * NATLENS_NODE_TOKEN_SECRET_FILE), never from a flag's value (ps shows flags).
 */
export function loadHubConfig(flags: HubFlags, env: NodeJS.ProcessEnv, readFile: (path: string) => string): HubConfig {
  const problems: string[] = [];
  const tokens = (inline: string | undefined, file: string | undefined, what: string): string[] | undefined => {
    let list = inline === undefined ? undefined : tokensFrom(inline);
    if (file) {
      try {
        list = [...(list ?? []), ...tokensFrom(readFile(file))];
      } catch (err) {
        problems.push(`${what} file ${file}: ${(err as Error).message}`);
      }
    }
    return list;
  };
  const durationMs = (text: string | undefined, what: string): number | undefined => {
    if (text === undefined || text === '') return undefined;
    const ms = parseDuration(text);
    if (ms === undefined) problems.push(`${what}: "${text}" is not a duration; write e.g. 30s, 5m or 1h`);
    return ms;
  };
  const list = (flag: string[] | undefined, env: string | undefined): string[] | undefined =>
    flag && flag.length > 0 ? flag : env ? env.split(',').map((v) => v.trim()).filter((v) => v !== '') : undefined;
  let alertRules: AlertRuleOverrides | undefined;
  const rulesFile = flags.alertRules ?? env['NATLENS_ALERT_RULES'];
  if (rulesFile) {
    try {
      alertRules = parseAlertRulesFile(readFile(rulesFile), rulesFile);
    } catch (err) {
      if (err instanceof AlertRulesError) problems.push(...err.problems.map((p) => `alert rules ${rulesFile}: ${p}`));
      else problems.push(`alert rules ${rulesFile}: ${(err as Error).message}`);
    }
  }
  const nodeTokens: { node: string; token: string }[] = [];
  const nodeTokenSources: [string | undefined, string][] = [[env['NATLENS_HUB_NODE_TOKENS'], 'NATLENS_HUB_NODE_TOKENS']];
  const nodeTokenFile = flags.nodeTokenFile ?? env['NATLENS_HUB_NODE_TOKEN_FILE'];
  if (nodeTokenFile) {
    try {
      nodeTokenSources.push([readFile(nodeTokenFile), `node token file ${nodeTokenFile}`]);
    } catch (err) {
      problems.push(`node token file ${nodeTokenFile}: ${(err as Error).message}`);
    }
  }
  for (const [text, where] of nodeTokenSources) {
    if (!text) continue;
    const parsed = parseNodeTokens(text, where);
    problems.push(...parsed.problems);
    nodeTokens.push(...parsed.tokens);
  }
  let nodeTokenSecret = env['NATLENS_NODE_TOKEN_SECRET'] || undefined;
  if (env['NATLENS_NODE_TOKEN_SECRET_FILE']) {
    try {
      nodeTokenSecret = readFile(env['NATLENS_NODE_TOKEN_SECRET_FILE']).trim();
    } catch (err) {
      problems.push(`node token secret file ${env['NATLENS_NODE_TOKEN_SECRET_FILE']}: ${(err as Error).message}`);
    }
  }
  const tlsFiles = readTlsFiles({ certFile: flags.tlsCertFile ?? env['NATLENS_HUB_TLS_CERT_FILE'], keyFile: flags.tlsKeyFile ?? env['NATLENS_HUB_TLS_KEY_FILE'] }, readFile, 'hub TLS');
  problems.push(...tlsFiles.problems);
  const tls = tlsFiles.material.cert && tlsFiles.material.key ? { cert: tlsFiles.material.cert, key: tlsFiles.material.key } : undefined;
  const busAuth = busAuthFromEnv(env, readFile);
  problems.push(...busAuth.problems);
  const hours = (h: number | undefined) => (h === undefined ? undefined : h * 3600_000);
  const days = (d: number | undefined) => (d === undefined ? undefined : d * 24);
  const raw = {
    store: flags.store ?? env['NATLENS_STORE'],
    storeStatementTimeoutMs: durationMs(env['NATLENS_STORE_STATEMENT_TIMEOUT'], 'store statement timeout'),
    maxQueryWindowMs: durationMs(env['NATLENS_HUB_MAX_QUERY_WINDOW'], 'hub max query window'),
    port: flags.port ?? numberFrom(env['NATLENS_HUB_PORT']),
    host: flags.host ?? env['NATLENS_HUB_HOST'],
    socket: flags.socket ?? env['NATLENS_HUB_SOCKET'],
    inventory: flags.inventory ?? env['NATLENS_INVENTORY'],
    kubeconfig: flags.kubeconfig ?? env['KUBECONFIG'],
    inCluster: env['KUBERNETES_SERVICE_HOST'] !== undefined,
    ingestTokens: tokens(env['NATLENS_HUB_TOKENS'], flags.tokenFile ?? env['NATLENS_HUB_TOKEN_FILE'], 'token') ?? [],
    readTokens: tokens(env['NATLENS_HUB_READ_TOKENS'], flags.readTokenFile ?? env['NATLENS_HUB_READ_TOKEN_FILE'], 'read token'),
    nodeTokens,
    nodeTokenSecret,
    tls,
    maxBodyBytes: flags.maxBodyBytes ?? numberFrom(env['NATLENS_HUB_MAX_BODY_BYTES']),
    maxReportBodyBytes: flags.maxReportBodyBytes ?? numberFrom(env['NATLENS_HUB_MAX_REPORT_BODY_BYTES']),
    maxClockSkewMs: durationMs(env['NATLENS_HUB_MAX_CLOCK_SKEW'], 'hub max clock skew'),
    rawRetentionMs: hours(flags.rawRetentionHours ?? numberFrom(env['NATLENS_RAW_RETENTION_HOURS'])),
    rollupRetentionMs: hours(days(flags.rollupRetentionDays ?? numberFrom(env['NATLENS_ROLLUP_RETENTION_DAYS']))),
    logLevel: flags.logLevel ?? env['NATLENS_LOG_LEVEL'],
    alertRules,
    alertWebhooks: list(flags.alertWebhook, env['NATLENS_ALERT_WEBHOOKS']),
    alertmanagers: list(flags.alertmanager, env['NATLENS_ALERTMANAGERS']),
    alertIntervalMs: durationMs(flags.alertInterval ?? env['NATLENS_ALERT_INTERVAL'], 'alert interval'),
    alertWindowMs: durationMs(flags.alertWindow ?? env['NATLENS_ALERT_WINDOW'], 'alert window'),
    alertResendMs: durationMs(flags.alertResend ?? env['NATLENS_ALERT_RESEND'], 'alert re-send interval'),
    dashboardUrl: flags.dashboardUrl ?? env['NATLENS_DASHBOARD_URL'],
    bus: flags.bus ?? env['NATLENS_BUS'],
    busConsumer: env['NATLENS_BUS_CONSUMER'],
    busConcurrency: flags.busConcurrency ?? numberFrom(env['NATLENS_BUS_CONCURRENCY']),
    busAckWaitMs: durationMs(env['NATLENS_BUS_ACK_WAIT'], 'bus ack wait'),
    busMaxDeliver: numberFrom(env['NATLENS_BUS_MAX_DELIVER']),
    busStreamMaxAgeMs: durationMs(env['NATLENS_BUS_STREAM_MAX_AGE'], 'bus stream max age'),
    busStreamMaxBytes: numberFrom(env['NATLENS_BUS_STREAM_MAX_BYTES']),
    busAuth: busAuth.auth,
  };
  const result = hubConfigSchema.safeParse(Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined)));
  if (!result.success) {
    for (const issue of result.error.issues) problems.push(`${issue.path.join('.') || 'config'}: ${issue.message}`);
  }
  if (problems.length > 0 || !result.success) throw new ConfigError(problems);
  return result.data;
}

function numberFrom(text: string | undefined): number | undefined {
  return text === undefined || text === '' ? undefined : Number(text);
}
