import { deriveNodeToken } from '@natlens/shared-auth';
import { ConfigError, loadAgentConfig } from './agent-config';

const noFile = (path: string): string => {
  throw new Error(`ENOENT: no such file ${path}`);
};

describe('loadAgentConfig', () => {
  it('takes flags over environment, and the token from a file', () => {
    const sut = loadAgentConfig(
      { node: 'node1', inventory: '/lab/inventory.json', hub: 'unix:/run/hub.sock', hubTokenFile: '/etc/natlens/token', flushIntervalMs: 500 },
      { NATLENS_NODE: 'other', NATLENS_HUB_TOKEN: 'from-env' },
      () => 'from-file\n',
    );
    expect(sut).toMatchObject({ node: 'node1', hub: 'unix:/run/hub.sock', hubToken: 'from-file', flushIntervalMs: 500 });
    // no --source: the agent picks the best available at boot (eBPF where the kernel allows it)
    expect(sut.sources).toBeUndefined();
  });

  it.each([
    ['ebpf', ['ebpf']],
    ['ebpf,conntrack,pcap', ['ebpf', 'conntrack', 'pcap']],
    [' conntrack , pcap ', ['conntrack', 'pcap']],
  ])('takes --source %j as %j', (source, sources) => {
    expect(loadAgentConfig({ node: 'n', inventory: '/i.json', source }, {}, noFile).sources).toEqual(sources);
  });

  it('takes NATLENS_SOURCES when there is no flag', () => {
    expect(loadAgentConfig({ node: 'n', inventory: '/i.json' }, { NATLENS_SOURCES: 'ebpf,pcap' }, noFile).sources).toEqual(['ebpf', 'pcap']);
  });

  it.each([
    [{}, {}, 8 << 20],
    [{}, { NATLENS_EBPF_RING_BUFFER_BYTES: '1048576' }, 1 << 20],
    [{ ebpfRingBufferBytes: 2 << 20 }, { NATLENS_EBPF_RING_BUFFER_BYTES: '1048576' }, 2 << 20],
  ])('sizes the eBPF ring buffer from --ebpf-ring-buffer-bytes %j, else NATLENS_EBPF_RING_BUFFER_BYTES %j (default 8 MiB)', (flags, env, bytes) => {
    expect(loadAgentConfig({ node: 'n', inventory: '/i.json', ...flags }, env, noFile).ebpfRingBufferBytes).toBe(bytes);
  });

  it.each([['3000000'], ['2048'], ['lots']])('refuses an eBPF ring buffer of %s bytes (a power of two of at least a page)', (bytes) => {
    expect(() => loadAgentConfig({ node: 'n', inventory: '/i.json' }, { NATLENS_EBPF_RING_BUFFER_BYTES: bytes }, noFile)).toThrow(/ebpfRingBufferBytes/);
  });

  it('refuses to start and lists every bad setting', () => {
    let error: ConfigError | undefined;
    try {
      loadAgentConfig({ node: 'n', hub: 'ftp://hub', source: 'conntrack,carrier-pigeon', flushIntervalMs: 1, hubTokenFile: '/missing' }, {}, noFile);
    } catch (err) {
      error = err as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const text = error?.problems.join('\n') ?? '';
    expect(text).toMatch(/hub token file \/missing: ENOENT/);
    expect(text).toMatch(/hub: expected http\(s\):\/\/host:port or unix:\/path/);
    expect(text).toMatch(/sources\.1/);
    expect(text).toMatch(/flushIntervalMs/);
  });

  it('takes the health-check and node-report settings, with defaults a load balancer would use', () => {
    expect(loadAgentConfig({ node: 'n', inventory: '/i.json' }, {}, noFile)).toMatchObject({ healthCheckIntervalMs: 5000, healthCheckTimeoutMs: 1000, proxyHealthzPort: 10256, nodeReportIntervalMs: 5000, nodePortAddresses: [] });
    const sut = loadAgentConfig({ node: 'n', inventory: '/i.json', healthCheckIntervalMs: 0, nodePortAddresses: '10.0.0.0/8, primary' }, { NATLENS_NODE_REPORT_INTERVAL_MS: '1000', NATLENS_PROXY_HEALTHZ_PORT: '0' }, noFile);
    expect(sut).toMatchObject({ healthCheckIntervalMs: 0, nodeReportIntervalMs: 1000, proxyHealthzPort: 0, nodePortAddresses: ['10.0.0.0/8', 'primary'] });
  });

  it('takes the conntrack sampling settings: every 5 s with SNAT pairs on /metrics by default, from flags or the environment', () => {
    expect(loadAgentConfig({ node: 'n', inventory: '/i.json' }, {}, noFile)).toMatchObject({ conntrackSampleIntervalMs: 5000, snatPairMetrics: true });
    expect(loadAgentConfig({ node: 'n', inventory: '/i.json' }, { NATLENS_CONNTRACK_SAMPLE_INTERVAL_MS: '0', NATLENS_SNAT_PAIR_METRICS: 'false' }, noFile)).toMatchObject({ conntrackSampleIntervalMs: 0, snatPairMetrics: false });
    expect(loadAgentConfig({ node: 'n', inventory: '/i.json', conntrackSampleIntervalMs: 1000, snatPairMetrics: false }, { NATLENS_SNAT_PAIR_METRICS: 'true' }, noFile)).toMatchObject({ conntrackSampleIntervalMs: 1000, snatPairMetrics: false });
    expect(() => loadAgentConfig({ node: 'n', inventory: '/i.json', conntrackSampleIntervalMs: 50 }, {}, noFile)).toThrow(/conntrackSampleIntervalMs: expected 0 \(off\) or at least 500 ms/);
  });

  it('refuses a node-port address that is neither a CIDR nor primary, and a probe interval under 100 ms', () => {
    const problems = (() => {
      try {
        loadAgentConfig({ node: 'n', inventory: '/i.json', nodePortAddresses: 'eth0', healthCheckIntervalMs: 5 }, {}, noFile);
        return [];
      } catch (err) {
        return (err as ConfigError).problems;
      }
    })();
    expect(problems).toEqual([expect.stringMatching(/^healthCheckIntervalMs: expected 0 \(off\) or at least 100 ms/), expect.stringMatching(/^nodePortAddresses\.0: expected a CIDR/)]);
  });

  it('asks for cluster metadata when it has none', () => {
    expect(() => loadAgentConfig({ node: 'n' }, {}, noFile)).toThrow(/no cluster metadata: pass --inventory FILE, --kubeconfig FILE/);
  });

  const SECRET = 'shared-node-token-secret-0123456789abcdef';
  const files: Record<string, string> = { '/s/secret': `${SECRET}\n`, '/s/read': '# readers\nagent-read-token-000000000\nagent-read-token-111111111\n' };
  const readFile = (path: string) => {
    const text = files[path];
    if (text === undefined) throw new Error(`ENOENT: no such file ${path}`);
    return text;
  };

  it('derives its node token from the shared secret, and uses it as its NATS password with NATLENS_BUS_AUTH=node-token', () => {
    const sut = loadAgentConfig({ node: 'ip-10-0-0-7.ec2.internal', inventory: '/i.json', bus: 'nats://nats:4222' }, { NATLENS_NODE_TOKEN_SECRET_FILE: '/s/secret', NATLENS_BUS_AUTH: 'node-token' }, readFile);
    const token = deriveNodeToken(SECRET, 'ip-10-0-0-7.ec2.internal');
    expect(sut.hubToken).toBe(token);
    expect(sut.busAuth).toEqual({ user: 'natlens-agent-ip-10-0-0-7.ec2.internal', password: token });
  });

  it('reads its local API read tokens from a file and the environment', () => {
    const sut = loadAgentConfig({ node: 'n', inventory: '/i.json', readTokenFile: '/s/read' }, { NATLENS_AGENT_READ_TOKENS: 'agent-read-token-222222222' }, readFile);
    expect(sut.readTokens).toEqual(['agent-read-token-222222222', 'agent-read-token-000000000', 'agent-read-token-111111111']);
  });

  it.each([
    ['a token and a secret', { NATLENS_HUB_TOKEN: 'x'.repeat(20), NATLENS_NODE_TOKEN_SECRET: SECRET }, 'n', /give the agent one of them/],
    ['a short secret', { NATLENS_NODE_TOKEN_SECRET: 'short' }, 'n', /at least 32 characters/],
    ['a node name no token can be derived for', { NATLENS_NODE_TOKEN_SECRET: SECRET }, 'Node_1', /not a Kubernetes node name/],
    ['node-token NATS auth without a token', { NATLENS_BUS_AUTH: 'node-token' }, 'n', /needs the node token/],
    ['an unknown NATS auth mode', { NATLENS_BUS_AUTH: 'magic' }, 'n', /expected node-token/],
    ['a short read token', { NATLENS_AGENT_READ_TOKENS: 'short' }, 'n', /readTokens\.0: a token must be at least 16 characters/],
    ['a missing hub CA file', { NATLENS_HUB_CA_FILE: '/nope.crt' }, 'n', /hub CA file \/nope\.crt: ENOENT/],
  ])('refuses %s', (_name, env, node, problem) => {
    let error: ConfigError | undefined;
    try {
      loadAgentConfig({ node, inventory: '/i.json' }, env, readFile);
    } catch (err) {
      error = err as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(error?.problems).toEqual(expect.arrayContaining([expect.stringMatching(problem)]));
  });
});
