import { ConfigError, loadHubConfig } from './hub-config';

describe('loadHubConfig', () => {
  const files: Record<string, string> = { '/etc/natlens/tokens': '# agents\ningest-token-aaaaaaaaaaaa\n\ningest-token-bbbbbbbbbbbb\n', '/etc/natlens/read': 'read-token-cccccccccccccc',
    '/etc/natlens/alerts.yaml': 'rules:\n  LoadImbalance: {threshold: 1.5, for: 2m}\n',
    '/etc/natlens/bad-alerts.yaml': 'rules:\n  LoadImbalance: {threshold: -1, for: soon}\n  Nope: {}\n',
  };
  const readFile = (path: string) => {
    const text = files[path];
    if (text === undefined) throw new Error('ENOENT: no such file');
    return text;
  };

  it('applies defaults, tokens from a file', () => {
    const sut = loadHubConfig({ tokenFile: '/etc/natlens/tokens' }, {}, readFile);
    expect(sut).toMatchObject({
      store: 'sqlite:///var/lib/natlens/natlens.db',
      port: 8470,
      ingestTokens: ['ingest-token-aaaaaaaaaaaa', 'ingest-token-bbbbbbbbbbbb'],
      readTokens: [],
      rawRetentionMs: 24 * 3600_000,
      rollupRetentionMs: 30 * 24 * 3600_000,
    });
  });

  it('reads the input and query bounds (issue 18), with their defaults', () => {
    expect(loadHubConfig({ tokenFile: '/etc/natlens/tokens' }, {}, readFile)).toMatchObject({
      maxBodyBytes: 16 << 20,
      maxReportBodyBytes: 4 << 20,
      maxClockSkewMs: 10 * 60_000,
      maxQueryWindowMs: 32 * 24 * 3600_000,
      storeStatementTimeoutMs: 30_000,
    });
    const env = { NATLENS_HUB_MAX_REPORT_BODY_BYTES: '65536', NATLENS_HUB_MAX_CLOCK_SKEW: '2m', NATLENS_HUB_MAX_QUERY_WINDOW: '90d', NATLENS_STORE_STATEMENT_TIMEOUT: '0' };
    expect(loadHubConfig({ tokenFile: '/etc/natlens/tokens' }, env, readFile)).toMatchObject({ maxReportBodyBytes: 65536, maxClockSkewMs: 120_000, maxQueryWindowMs: 90 * 24 * 3600_000, storeStatementTimeoutMs: 0 });
    expect(() => loadHubConfig({ tokenFile: '/etc/natlens/tokens' }, { NATLENS_HUB_MAX_CLOCK_SKEW: 'soon', NATLENS_STORE_STATEMENT_TIMEOUT: '5x' }, readFile)).toThrow(
      /store statement timeout: "5x" is not a duration[\s\S]*hub max clock skew: "soon" is not a duration/,
    );
  });

  it('flags win over the environment', () => {
    const sut = loadHubConfig(
      { store: 'postgres://natlens@db/natlens', port: 9000, rawRetentionHours: 2, rollupRetentionDays: 7, readTokenFile: '/etc/natlens/read' },
      { NATLENS_STORE: 'sqlite:///tmp/x.db', NATLENS_HUB_PORT: '1', NATLENS_HUB_TOKENS: 'env-token-dddddddddddd, env-token-eeeeeeeeeeee' },
      readFile,
    );
    expect(sut).toMatchObject({ store: 'postgres://natlens@db/natlens', port: 9000, rawRetentionMs: 2 * 3600_000, rollupRetentionMs: 7 * 24 * 3600_000, ingestTokens: ['env-token-dddddddddddd', 'env-token-eeeeeeeeeeee'], readTokens: ['read-token-cccccccccccccc'] });
  });

  it('lists every bad setting at once', () => {
    let error: unknown;
    try {
      loadHubConfig({ store: 'mysql://db', port: 70_000, readTokenFile: '/missing' }, { NATLENS_HUB_TOKENS: 'short' }, readFile);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      'read token file /missing: ENOENT: no such file',
      expect.stringMatching(/^store: expected sqlite/),
      expect.stringMatching(/^port: /),
      expect.stringMatching(/^ingestTokens\.0: a token must be at least 16 characters/),
    ]);
  });

  it('refuses to start without an ingest token', () => {
    expect(() => loadHubConfig({}, {}, readFile)).toThrow(/no ingest token: set NATLENS_HUB_TOKENS/);
  });

  it('reads node-bound tokens, a derivation secret and NATS credentials', () => {
    const files2: Record<string, string> = { ...files, '/etc/natlens/node-tokens': '# one per node\nnode1=node1-token-000000000000\nip-10-0-0-7.ec2.internal=node2-token-000000000000\n', '/s/secret': 'shared-secret-0123456789abcdef0123456789\n', '/s/nats-pass': 'hub-nats-password\n' };
    const sut = loadHubConfig(
      { nodeTokenFile: '/etc/natlens/node-tokens' },
      { NATLENS_NODE_TOKEN_SECRET_FILE: '/s/secret', NATLENS_BUS: 'nats://nats:4222', NATLENS_BUS_USER: 'natlens-hub', NATLENS_BUS_PASSWORD_FILE: '/s/nats-pass' },
      (path) => {
        const text = files2[path];
        if (text === undefined) throw new Error('ENOENT: no such file');
        return text;
      },
    );
    expect(sut).toMatchObject({
      ingestTokens: [],
      nodeTokens: [
        { node: 'node1', token: 'node1-token-000000000000' },
        { node: 'ip-10-0-0-7.ec2.internal', token: 'node2-token-000000000000' },
      ],
      nodeTokenSecret: 'shared-secret-0123456789abcdef0123456789',
      busAuth: { user: 'natlens-hub', password: 'hub-nats-password' },
    });
  });

  it.each([
    ['a short derivation secret', {}, { NATLENS_HUB_TOKENS: 'ingest-token-aaaaaaaaaaaa', NATLENS_NODE_TOKEN_SECRET: 'short' }, /^nodeTokenSecret: the node token secret must be at least 32 characters/],
    ['a bad node=token entry', {}, { NATLENS_HUB_NODE_TOKENS: 'Node_1=whatever-token-000000' }, /^NATLENS_HUB_NODE_TOKENS entry 1: expected <node name>=<token>/],
    ['a TLS certificate without a key', { tlsCertFile: '/etc/natlens/tokens' }, { NATLENS_HUB_TOKENS: 'ingest-token-aaaaaaaaaaaa' }, /hub TLS: a certificate needs its key/],
    ['two NATS authentications', {}, { NATLENS_HUB_TOKENS: 'ingest-token-aaaaaaaaaaaa', NATLENS_BUS_USER: 'u', NATLENS_BUS_CREDS_FILE: '/etc/natlens/read' }, /NATLENS_BUS_USER and NATLENS_BUS_CREDS_FILE are both set/],
  ])('refuses %s', (_name, flags, env, problem) => {
    let error: unknown;
    try {
      loadHubConfig(flags, env, readFile);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual(expect.arrayContaining([expect.stringMatching(problem)]));
  });

  it('reads alert settings: rules file, receivers, durations', () => {
    const sut = loadHubConfig(
      { tokenFile: '/etc/natlens/tokens', alertRules: '/etc/natlens/alerts.yaml', alertWebhook: ['http://hooks.example/natlens', 'https://b.example/x'], alertInterval: '2s', alertWindow: '1m' },
      { NATLENS_ALERTMANAGERS: 'http://am1:9093, http://am2:9093', NATLENS_ALERT_WEBHOOKS: 'http://ignored.example' },
      readFile,
    );
    expect(sut).toMatchObject({
      alertRules: { LoadImbalance: { threshold: 1.5, forMs: 120_000 } },
      alertWebhooks: ['http://hooks.example/natlens', 'https://b.example/x'],
      alertmanagers: ['http://am1:9093', 'http://am2:9093'],
      alertIntervalMs: 2000,
      alertWindowMs: 60_000,
      alertResendMs: 60_000,
    });
  });

  it('has alert defaults: no receivers, every 30 s over 5 min', () => {
    expect(loadHubConfig({ tokenFile: '/etc/natlens/tokens' }, {}, readFile)).toMatchObject({ alertRules: {}, alertWebhooks: [], alertmanagers: [], alertIntervalMs: 30_000, alertWindowMs: 300_000 });
  });

  it('lists every problem of the alert settings, the rules file included', () => {
    let error: unknown;
    try {
      loadHubConfig({ tokenFile: '/etc/natlens/tokens', alertRules: '/etc/natlens/bad-alerts.yaml', alertWebhook: ['ftp://x'], alertInterval: 'often' }, {}, readFile);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const part of ['rules.LoadImbalance.threshold', 'rules.LoadImbalance.for', 'Nope', 'alert interval: "often"', 'alertWebhooks.0']) expect(problems).toContain(part);
  });

  it('reads cluster metadata through the pod\'s service account when it runs in a pod (the Helm chart)', () => {
    expect(loadHubConfig({ tokenFile: '/etc/natlens/tokens' }, {}, readFile).inCluster).toBe(false);
    expect(loadHubConfig({ tokenFile: '/etc/natlens/tokens' }, { KUBERNETES_SERVICE_HOST: '10.96.0.1' }, readFile).inCluster).toBe(true);
  });

  it('has no bus by default (HTTP ingest only); NATLENS_BUS and its settings turn it on', () => {
    expect(loadHubConfig({ tokenFile: '/etc/natlens/tokens' }, {}, readFile).bus).toBeUndefined();
    const sut = loadHubConfig(
      { tokenFile: '/etc/natlens/tokens', busConcurrency: 8 },
      { NATLENS_BUS: 'nats://nats-0:4222,nats://nats-1:4222', NATLENS_BUS_CONSUMER: 'hub-eu', NATLENS_BUS_CONCURRENCY: '2', NATLENS_BUS_ACK_WAIT: '10s', NATLENS_BUS_STREAM_MAX_AGE: '6h', NATLENS_BUS_STREAM_MAX_BYTES: String(10 * 1024 ** 3), NATLENS_BUS_MAX_DELIVER: '3' },
      readFile,
    );
    expect(sut).toMatchObject({ bus: 'nats://nats-0:4222,nats://nats-1:4222', busConsumer: 'hub-eu', busConcurrency: 8, busStreamMaxAgeMs: 6 * 3600_000, busStreamMaxBytes: 10 * 1024 ** 3, busAckWaitMs: 10_000, busMaxAckPending: 1000, busMaxDeliver: 3 });
    expect(loadHubConfig({ tokenFile: '/etc/natlens/tokens' }, {}, readFile).busMaxDeliver).toBe(5);
    expect(loadHubConfig({ tokenFile: '/etc/natlens/tokens', bus: 'nats://x:4222' }, { NATLENS_BUS: 'nats://y:4222' }, readFile).bus).toBe('nats://x:4222');
  });

  it('lists every bad bus setting', () => {
    let error: ConfigError | undefined;
    try {
      loadHubConfig({ tokenFile: '/etc/natlens/tokens', bus: 'http://nats:4222' }, { NATLENS_BUS_CONSUMER: 'a.b', NATLENS_BUS_CONCURRENCY: '0', NATLENS_BUS_STREAM_MAX_AGE: 'forever', NATLENS_BUS_MAX_DELIVER: '1' }, readFile);
    } catch (err) {
      error = err as ConfigError;
    }
    const text = error?.problems.join('\n') ?? '';
    expect(text).toMatch(/bus: expected nats:\/\/host:port/);
    expect(text).toMatch(/busConsumer: letters, digits/);
    expect(text).toMatch(/busConcurrency/);
    expect(text).toMatch(/busMaxDeliver/);
    expect(text).toMatch(/bus stream max age: "forever" is not a duration/);
  });

  it('names a missing rules file', () => {
    expect(() => loadHubConfig({ tokenFile: '/etc/natlens/tokens', alertRules: '/nowhere.yaml' }, {}, readFile)).toThrow(/alert rules \/nowhere\.yaml: ENOENT/);
  });
});
