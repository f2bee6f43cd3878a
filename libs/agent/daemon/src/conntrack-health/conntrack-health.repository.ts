import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { CONNTRACK_STATUS_BITS, ConntrackReader, ConntrackStatsReader, type ConntrackStatsReading, type LeanConntrackEntry } from '@natlens/agent-conntrack';
import { parseIptablesSourceNat, parseNftSourceNat, type SourceNatRule } from './nat-port-ranges';

/*
 * Everything the conntrack health sampler reads from the node, all in the agent's own network namespace (the node's,
 * with hostNetwork): ctnetlink statistics, a conntrack dump, the two sysctls, and the NAT rules as iptables-save,
 * ip6tables-save and nft print them. The sampler only sees this interface, so its tests can hand it plain values.
 */
export interface ConntrackHealthPort {
  readStats(): Promise<ConntrackStatsReading>;
  /** Dumps the source-NATed entries; they arrive in batches so the table is never held at once. Resolves with the count. */
  dumpTable(onEntries: (entries: readonly LeanConntrackEntry[]) => void): Promise<number>;
  readSysctl(name: 'nf_conntrack_max' | 'nf_conntrack_buckets'): Promise<number | undefined>;
  /** The SNAT/masquerade rules, and a sentence per tool that could not be read (absent, refused). */
  readSourceNatRules(): Promise<{ rules: SourceNatRule[]; problems: string[] }>;
  close(): void;
}

const exec = promisify(execFile);
/** enum ip_conntrack_status: IPS_SRC_NAT_BIT is 4 (nf_conntrack_common.h); set when NAT changed the source. */
const IPS_SRC_NAT = 1 << CONNTRACK_STATUS_BITS.indexOf('SRC_NAT');
const TOOL_TIMEOUT_MS = 10_000;

export class ConntrackHealthRepository implements ConntrackHealthPort {
  private stats: ConntrackStatsReader | undefined;
  private dumper: ConntrackReader | undefined;
  private onDumpEntries: ((entries: readonly LeanConntrackEntry[]) => void) | undefined;

  async readStats(): Promise<ConntrackStatsReading> {
    if (!this.stats) {
      const reader = new ConntrackStatsReader();
      reader.open();
      this.stats = reader;
    }
    return this.stats.read();
  }

  async dumpTable(onEntries: (entries: readonly LeanConntrackEntry[]) => void): Promise<number> {
    if (!this.dumper) {
      // No multicast group: the reader's event socket stays silent, so it needs no buffer to speak of.
      const reader = new ConntrackReader({ groups: 0, receiveBufferBytes: 64 << 10, decode: 'lean' });
      reader.start({
        onEntries: () => undefined,
        onLeanEntries: (entries, via) => {
          if (via === 'dump') this.onDumpEntries?.(entries);
        },
        onLoss: () => undefined,
        onParseErrors: () => undefined,
      });
      this.dumper = reader;
    }
    this.onDumpEntries = onEntries;
    try {
      // Only source-NATed entries: the kernel filters (Linux 5.19+), so a big table of untranslated connections costs
      // the agent little; SnatPortTally checks each entry itself for older kernels, which send the whole table.
      return (await this.dumper.dump({ status: { bits: IPS_SRC_NAT, mask: IPS_SRC_NAT } })).entries;
    } finally {
      this.onDumpEntries = undefined;
    }
  }

  async readSysctl(name: 'nf_conntrack_max' | 'nf_conntrack_buckets'): Promise<number | undefined> {
    try {
      const value = Number((await readFile(`/proc/sys/net/netfilter/${name}`, 'utf8')).trim());
      return Number.isInteger(value) && value >= 0 ? value : undefined;
    } catch {
      return undefined; // nf_conntrack not loaded yet, or /proc/sys not mounted
    }
  }

  async readSourceNatRules(): Promise<{ rules: SourceNatRule[]; problems: string[] }> {
    const problems: string[] = [];
    const run = async (command: string, args: string[], parse: (text: string) => SourceNatRule[]): Promise<SourceNatRule[]> => {
      try {
        const { stdout } = await exec(command, args, { timeout: TOOL_TIMEOUT_MS, maxBuffer: 64 << 20 });
        return parse(stdout);
      } catch (err) {
        problems.push(`${command} ${args.join(' ')}: ${(err as Error).message.split('\n')[0]}`);
        return [];
      }
    };
    const [iptables, ip6tables, nft] = await Promise.all([
      run('iptables-save', ['-t', 'nat'], (text) => parseIptablesSourceNat(text, 'ipv4')),
      run('ip6tables-save', ['-t', 'nat'], (text) => parseIptablesSourceNat(text, 'ipv6')),
      run('nft', ['list', 'ruleset'], parseNftSourceNat),
    ]);
    return { rules: [...iptables, ...ip6tables, ...nft], problems };
  }

  close(): void {
    this.stats?.close();
    this.dumper?.close();
    this.stats = undefined;
    this.dumper = undefined;
  }
}
