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
});
