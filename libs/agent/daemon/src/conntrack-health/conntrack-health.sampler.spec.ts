import { emptyLeanEntry, emptyLeanTuple, type ConntrackStatsReading, type LeanConntrackEntry } from '@natlens/agent-conntrack';
import pino from 'pino';
import { agentConfigSchema } from '../config/agent-config';
import { AgentMetrics } from '../metrics/agent-metrics';
import type { ConntrackHealthPort } from './conntrack-health.repository';
import { ConntrackHealthSampler } from './conntrack-health.sampler';
import type { SourceNatRule } from './nat-port-ranges';

/** A node as plain values: what the repository would have read. */
class ScriptedNode implements ConntrackHealthPort {
  reading: ConntrackStatsReading | Error = { counters: { insertFailed: 0, drop: 0, earlyDrop: 0, clashResolve: 0 }, cpus: 2, entries: 10, maxEntries: 262144, parseErrors: [] };
  table: LeanConntrackEntry[] | Error = [];
  rules: SourceNatRule[] = [{ target: 'masquerade', ports: { min: 40000, max: 40063 }, origin: 'nftables', family: 'ipv4' }];
  ruleProblems: string[] = [];
  sysctls: Record<string, number | undefined> = { nf_conntrack_max: 131072, nf_conntrack_buckets: 65536 };
  closed = false;
  async readStats() {
    if (this.reading instanceof Error) throw this.reading;
    return this.reading;
  }
  async dumpTable(onEntries: (entries: readonly LeanConntrackEntry[]) => void) {
    if (this.table instanceof Error) throw this.table;
    onEntries(this.table);
    return this.table.length;
  }
  async readSysctl(name: 'nf_conntrack_max' | 'nf_conntrack_buckets') {
    return this.sysctls[name];
  }
  async readSourceNatRules() {
    return { rules: this.rules, problems: this.ruleProblems };
  }
  close() {
    this.closed = true;
  }
}

function masqueraded(port: number): LeanConntrackEntry {
  const e = emptyLeanEntry('dump', 'ipv4', 1, 0);
  e.original = { ...emptyLeanTuple(), proto: 'tcp', src: '198.18.9.5', sport: 50000 + port, dst: '198.51.100.10', dport: 80 };
  e.reply = { ...emptyLeanTuple(), proto: 'tcp', src: '198.18.2.7', sport: 8080, dst: '198.18.1.1', dport: 40000 + port };
  return e;
}

describe('ConntrackHealthSampler', () => {
  const config = agentConfigSchema.parse({ node: 'worker-1', inventory: '/unused', conntrackSampleIntervalMs: 60_000 });
  const make = () => {
    const node = new ScriptedNode();
    const metrics = new AgentMetrics();
    return { node, metrics, sut: new ConntrackHealthSampler(config, pino({ level: 'silent' }), metrics, node) };
  };

  it('keeps the latest statistics and the busiest SNAT pairs, and puts them on /metrics', async () => {
    const { node, metrics, sut } = make();
    node.table = [masqueraded(0), masqueraded(1), masqueraded(2)];
    await sut.sampleNow();
    expect(sut.latest()).toEqual({ at: expect.any(Number), counters: { insertFailed: 0, drop: 0, earlyDrop: 0, clashResolve: 0 }, entries: 10, max: 262144, buckets: 65536 });
    expect(sut.latestSnatPorts()).toEqual([{ snatAddress: '198.18.1.1', destination: '198.18.2.7', destinationPort: 8080, protocol: 'tcp', inUse: 3, range: { min: 40000, max: 40063 }, rangeBasis: 'nat-rule' }]);

    node.reading = { counters: { insertFailed: 4, drop: 1, earlyDrop: 0, clashResolve: 2 }, cpus: 2, entries: 12, maxEntries: 262144, parseErrors: [] };
    await sut.sampleNow();
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/natlens_agent_conntrack_stat_total\{counter="insert_failed"\} 4/);
    expect(text).toMatch(/natlens_agent_conntrack_stat_total\{counter="clash_resolve"\} 2/);
    expect(text).toMatch(/natlens_agent_conntrack_stat_total\{counter="early_drop"\} 0/);
    expect(text).toMatch(/natlens_agent_conntrack_entries 12/);
    expect(text).toMatch(/natlens_agent_conntrack_max 262144/);
    expect(text).toMatch(/natlens_agent_conntrack_buckets 65536/);
    expect(text).toMatch(/natlens_agent_conntrack_snat_ports_in_use\{snat_address="198.18.1.1",destination="198.18.2.7",destination_port="8080",protocol="tcp"\} 3/);
    expect(text).toMatch(/natlens_agent_conntrack_snat_port_range\{snat_address="198.18.1.1",destination="198.18.2.7",destination_port="8080",protocol="tcp",basis="nat-rule"\} 64/);
    expect(text).toMatch(/natlens_agent_conntrack_snat_busiest_share 0.046875/);
  });

  it('with --no-snat-pair-metrics: no pair labels on /metrics, only the busiest share (the node report keeps the pairs)', async () => {
    const node = new ScriptedNode();
    const metrics = new AgentMetrics();
    const sut = new ConntrackHealthSampler(agentConfigSchema.parse({ node: 'w', inventory: '/unused', snatPairMetrics: false }), pino({ level: 'silent' }), metrics, node);
    node.table = [masqueraded(0), masqueraded(1), masqueraded(2), masqueraded(3)];
    await sut.sampleNow();
    const text = await metrics.registry.metrics();
    expect(text).not.toMatch(/natlens_agent_conntrack_snat_ports_in_use\{/);
    expect(text).not.toContain('198.18.2.7');
    expect(text).toMatch(/natlens_agent_conntrack_snat_busiest_share 0.0625/);
    expect(sut.latestSnatPorts()).toHaveLength(1);
  });

  it('mirrors the kernel\'s counters: a counter that went down is a reset and adds its new value', async () => {
    const { node, metrics, sut } = make();
    const reading = (insertFailed: number): ConntrackStatsReading => ({ counters: { insertFailed }, cpus: 1, entries: 0, maxEntries: 1, parseErrors: [] });
    for (const value of [5, 7, 2, 3]) {
      node.reading = reading(value);
      await sut.sampleNow();
    }
    // 5, +2, reset (+2), +1
    expect(await metrics.registry.metrics()).toMatch(/natlens_agent_conntrack_stat_total\{counter="insert_failed"\} 10/);
  });

  it('takes nf_conntrack_max from the sysctl when the kernel does not send it, and null when neither says', async () => {
    const { node, sut } = make();
    node.reading = { counters: {}, cpus: 1, entries: 3, maxEntries: undefined, parseErrors: [] };
    await sut.sampleNow();
    expect(sut.latest()).toMatchObject({ max: 131072, buckets: 65536 });
    node.sysctls = {};
    await sut.sampleNow();
    expect(sut.latest()).toMatchObject({ max: null, buckets: null });
  });

  it('a part that fails leaves the others working, is counted, and says so in status()', async () => {
    const { node, metrics, sut } = make();
    node.reading = new Error('EPERM');
    node.table = [masqueraded(0)];
    await sut.sampleNow();
    expect(sut.latest()).toBeUndefined();
    expect(sut.latestSnatPorts()).toHaveLength(1);
    expect(sut.status()).toMatchObject({ samples: 1, problems: { stats: 'EPERM' } });

    node.reading = { counters: {}, cpus: 1, entries: 1, maxEntries: 1, parseErrors: [] };
    node.table = new Error('dump refused');
    await sut.sampleNow();
    expect(sut.latest()).toMatchObject({ entries: 1 });
    expect(sut.latestSnatPorts()).toBeUndefined(); // not the last good dump passed off as now
    expect(sut.status()).toMatchObject({ samples: 2, problems: { snat: 'dump refused' } });
    expect(sut.status()?.problems).not.toHaveProperty('stats');
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/natlens_agent_conntrack_sample_failures_total\{part="stats"\} 1/);
    expect(text).toMatch(/natlens_agent_conntrack_sample_failures_total\{part="snat"\} 1/);
  });

  it('without readable NAT rules, ranges are the kernel default and the problem is reported', async () => {
    const { node, sut } = make();
    node.rules = [];
    node.ruleProblems = ['iptables-save -t nat: spawn iptables-save ENOENT', 'nft list ruleset: spawn nft ENOENT'];
    node.table = [masqueraded(0)];
    await sut.sampleNow();
    expect(sut.latestSnatPorts()).toEqual([expect.objectContaining({ range: { min: 1024, max: 65535 }, rangeBasis: 'kernel-default' })]);
    expect(sut.status()?.problems).toMatchObject({ rules: expect.stringContaining('ENOENT') });
  });

  it('with an interval of 0 it never samples; closing closes the node\'s sockets', async () => {
    const node = new ScriptedNode();
    const sut = new ConntrackHealthSampler(agentConfigSchema.parse({ node: 'w', inventory: '/unused', conntrackSampleIntervalMs: 0 }), pino({ level: 'silent' }), new AgentMetrics(), node);
    sut.onApplicationBootstrap();
    expect(sut.status()).toBeNull();
    await sut.onModuleDestroy();
    expect(sut.latest()).toBeUndefined();
    expect(node.closed).toBe(true);
  });
});
