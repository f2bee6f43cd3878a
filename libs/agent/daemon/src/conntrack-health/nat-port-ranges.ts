/*
 * The source-port ranges the node's SNAT rules may choose from, read from `iptables-save -t nat`,
 * `ip6tables-save -t nat` and `nft list ruleset` output. Pure: text in, rules out; a line it does not understand is skipped (the rulesets hold
 * much more than NAT).
 *
 * Without a port range the kernel keeps the connection's own source port when the translated tuple is free, and
 * otherwise picks from 1024-65535 (nf_nat_l4proto_unique_tuple() in net/netfilter/nf_nat_proto.c, for source ports
 * of 1024 and up; `--random-fully` changes how, not where). That is the range reported with basis 'kernel-default'.
 */

export interface PortRange {
  min: number;
  max: number;
}

export interface SourceNatRule {
  target: 'masquerade' | 'snat';
  /** SNAT --to-source / `snat to` addresses (inclusive, IPv4 dotted quads or one IPv6 address); none for masquerade. */
  addresses?: { first: string; last: string };
  /** --to-ports / `to :a-b` / `--to-source addr:a-b`; absent when the rule names no ports. */
  ports?: PortRange;
  /** Where the rule came from. */
  origin: 'iptables' | 'nftables';
  /** The addresses it translates: iptables-save's are IPv4, ip6tables-save's IPv6, nft's its table's family. */
  family: 'ipv4' | 'ipv6' | 'any';
}

/** The range the kernel picks source ports from when a rule names none (for original ports >= 1024). */
export const KERNEL_DEFAULT_SNAT_PORTS: PortRange = { min: 1024, max: 65535 };

function portRange(text: string | undefined): PortRange | undefined {
  if (text === undefined) return undefined;
  const match = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text);
  if (!match) return undefined;
  const min = Number(match[1]);
  const max = Number(match[2] ?? match[1]);
  if (min < 1 || max > 65535 || min > max) return undefined;
  return { min, max };
}

/** `a.b.c.d`, `a.b.c.d-e.f.g.h`, either followed by `:ports`; IPv6 as `[addr]:ports` or a bare address. */
function toSource(text: string): Pick<SourceNatRule, 'addresses' | 'ports'> | undefined {
  const bracketed = /^\[([0-9a-fA-F:.]+)\](?::(.+))?$/.exec(text);
  if (bracketed?.[1] !== undefined) return withPorts({ first: bracketed[1], last: bracketed[1] }, bracketed[2]);
  if (text.startsWith(':')) return withPorts(undefined, text.slice(1));
  if (text.split(':').length > 2) return { addresses: { first: text, last: text } }; // a bare IPv6 address
  const [addresses, ports] = text.split(':') as [string, string | undefined];
  const [first, last] = addresses.split('-') as [string, string | undefined];
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(first) || (last !== undefined && !/^\d{1,3}(\.\d{1,3}){3}$/.test(last))) return undefined;
  return withPorts({ first, last: last ?? first }, ports);
}

function withPorts(addresses: SourceNatRule['addresses'], ports: string | undefined): Pick<SourceNatRule, 'addresses' | 'ports'> | undefined {
  const range = portRange(ports);
  if (ports !== undefined && range === undefined) return undefined;
  return { ...(addresses ? { addresses } : {}), ...(range ? { ports: range } : {}) };
}

/** `-A CHAIN … -j MASQUERADE [--to-ports a-b]` and `-j SNAT --to-source addr[:a-b]` lines of iptables-save (or ip6tables-save). */
export function parseIptablesSourceNat(text: string, family: 'ipv4' | 'ipv6' = 'ipv4'): SourceNatRule[] {
  const rules: SourceNatRule[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('-A ')) continue;
    const words = line.trim().split(/\s+/);
    const jump = words.indexOf('-j');
    const target = jump >= 0 ? words[jump + 1] : undefined;
    const option = (name: string) => {
      const at = words.indexOf(name, jump);
      return at >= 0 ? words[at + 1] : undefined;
    };
    if (target === 'MASQUERADE') {
      const ports = option('--to-ports');
      const range = portRange(ports);
      if (ports !== undefined && range === undefined) continue;
      rules.push({ target: 'masquerade', ...(range ? { ports: range } : {}), origin: 'iptables', family });
    } else if (target === 'SNAT') {
      const source = option('--to-source');
      const parsed = source === undefined ? undefined : toSource(source);
      if (parsed) rules.push({ target: 'snat', ...parsed, origin: 'iptables', family });
    }
  }
  return rules;
}

/** `masquerade [to :a-b] [fully-random]` and `snat [ip|ip6] to addr[:a-b]` statements of `nft list ruleset`. */
export function parseNftSourceNat(text: string): SourceNatRule[] {
  const rules: SourceNatRule[] = [];
  let family: SourceNatRule['family'] = 'any';
  for (const line of text.split('\n')) {
    const table = /^table\s+(\S+)\s/.exec(line);
    if (table) {
      family = table[1] === 'ip' ? 'ipv4' : table[1] === 'ip6' ? 'ipv6' : 'any'; // inet: both
      continue;
    }
    const masquerade = /(?:^|\s)masquerade(?:\s+to\s+:(\S+))?(?:\s|$)/.exec(line);
    if (masquerade) {
      const range = portRange(masquerade[1]);
      if (masquerade[1] !== undefined && range === undefined) continue;
      rules.push({ target: 'masquerade', ...(range ? { ports: range } : {}), origin: 'nftables', family });
      continue;
    }
    const snat = /(?:^|\s)snat(?:\s+(?:ip|ip6))?\s+to\s+(\S+)/.exec(line);
    if (snat?.[1] !== undefined) {
      const parsed = toSource(snat[1]);
      if (parsed) rules.push({ target: 'snat', ...parsed, origin: 'nftables', family });
    }
  }
  return rules;
}

function ipv4Number(address: string): number | undefined {
  const parts = address.split('.').map(Number);
  if (parts.length !== 4 || parts.some((part) => !Number.isInteger(part) || part < 0 || part > 255)) return undefined;
  return parts.reduce((n, part) => n * 256 + part, 0);
}

function addressIn(address: string, range: { first: string; last: string }): boolean {
  const [value, first, last] = [ipv4Number(address), ipv4Number(range.first), ipv4Number(range.last)];
  if (value === undefined || first === undefined || last === undefined) return address === range.first;
  return value >= first && value <= last;
}

export interface ResolvedRange {
  range: PortRange;
  rangeBasis: 'nat-rule' | 'kernel-default';
}

/**
 * The range a pair's translated ports come from. The agent cannot tell which rule matched a connection, so it
 * takes the narrowest range a rule of the address's family names (an SNAT rule for this address, or a masquerade
 * rule) that holds every port
 * the pair uses; a port outside a rule's range proves that rule did not translate it. No such rule: the kernel's
 * default.
 */
export function resolveSnatRange(snatAddress: string, portsInUse: Iterable<number>, rules: readonly SourceNatRule[]): ResolvedRange {
  const used = [...portsInUse];
  const family = snatAddress.includes(':') ? 'ipv6' : 'ipv4';
  let best: PortRange | undefined;
  for (const rule of rules) {
    if (!rule.ports || (rule.family !== 'any' && rule.family !== family)) continue;
    if (rule.target === 'snat' && !(rule.addresses && addressIn(snatAddress, rule.addresses))) continue;
    const { min, max } = rule.ports;
    if (!used.every((port) => port >= min && port <= max)) continue;
    if (!best || max - min < best.max - best.min) best = rule.ports;
  }
  return best ? { range: { ...best }, rangeBasis: 'nat-rule' } : { range: { ...KERNEL_DEFAULT_SNAT_PORTS }, rangeBasis: 'kernel-default' };
}
