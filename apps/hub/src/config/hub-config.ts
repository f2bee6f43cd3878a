import { z } from 'zod';

/*
 * The hub's whole configuration, validated once at boot: the process refuses to start and lists every bad setting.
 * Only this module reads process.env (through the `env` argument).
 */

const storeUrl = z
  .string()
  .refine((v) => /^(sqlite:\/\/\/.+|sqlite:[^/].*|postgres(ql)?:\/\/.+)$/.test(v), 'expected sqlite:///path/to/natlens.db or postgres://user@host:port/db');

const duration = z.number().int().positive();

export const hubConfigSchema = z.strictObject({
  store: storeUrl.default('sqlite:///var/lib/natlens/natlens.db'),
  port: z.number().int().min(0).max(65535).default(8470),
  host: z.string().min(1).default('0.0.0.0'),
  socket: z.string().min(1).optional(),
  inventory: z.string().min(1).optional(),
  kubeconfig: z.string().min(1).optional(),
  ingestTokens: z.array(z.string().min(16, 'a token must be at least 16 characters')).min(1, 'no ingest token: set NATLENS_HUB_TOKENS (comma-separated) or NATLENS_HUB_TOKEN_FILE, or pass --token-file'),
  readTokens: z.array(z.string().min(16, 'a token must be at least 16 characters')).default([]),
  maxBodyBytes: z.number().int().min(1024).default(16 << 20),
  rawRetentionMs: duration.default(24 * 3600_000),
  rollupRetentionMs: duration.default(30 * 24 * 3600_000),
  retentionIntervalMs: duration.min(1000).default(10 * 60_000),
  logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
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
  maxBodyBytes?: number;
  rawRetentionHours?: number;
  rollupRetentionDays?: number;
  logLevel?: string;
}

/** One token per line (blank lines and # comments skipped), or comma-separated in an environment variable. */
function tokensFrom(text: string): string[] {
  return text
    .split(/[\n,]/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

/**
 * Flags win over environment variables. Tokens come from NATLENS_HUB_TOKENS / NATLENS_HUB_READ_TOKENS or from files
 * (--token-file, --read-token-file, NATLENS_HUB_TOKEN_FILE, NATLENS_HUB_READ_TOKEN_FILE), never from a flag's value
 * (ps shows flags).
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
  const hours = (h: number | undefined) => (h === undefined ? undefined : h * 3600_000);
  const days = (d: number | undefined) => (d === undefined ? undefined : d * 24);
  const raw = {
    store: flags.store ?? env['NATLENS_STORE'],
    port: flags.port ?? numberFrom(env['NATLENS_HUB_PORT']),
    host: flags.host ?? env['NATLENS_HUB_HOST'],
    socket: flags.socket ?? env['NATLENS_HUB_SOCKET'],
    inventory: flags.inventory ?? env['NATLENS_INVENTORY'],
    kubeconfig: flags.kubeconfig ?? env['KUBECONFIG'],
    ingestTokens: tokens(env['NATLENS_HUB_TOKENS'], flags.tokenFile ?? env['NATLENS_HUB_TOKEN_FILE'], 'token') ?? [],
    readTokens: tokens(env['NATLENS_HUB_READ_TOKENS'], flags.readTokenFile ?? env['NATLENS_HUB_READ_TOKEN_FILE'], 'read token'),
    maxBodyBytes: flags.maxBodyBytes ?? numberFrom(env['NATLENS_HUB_MAX_BODY_BYTES']),
    rawRetentionMs: hours(flags.rawRetentionHours ?? numberFrom(env['NATLENS_RAW_RETENTION_HOURS'])),
    rollupRetentionMs: hours(days(flags.rollupRetentionDays ?? numberFrom(env['NATLENS_ROLLUP_RETENTION_DAYS']))),
    logLevel: flags.logLevel ?? env['NATLENS_LOG_LEVEL'],
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
