import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyConntrackZone, renderZoneIptablesRules, renderZoneNftRuleset, renderZoneRules, ZONE_NFT_TABLE, type ZoneRuleBackend } from './conntrack-zone';
import { run, runIn } from '../runtime/exec';
import { resolveLab } from '../topology/addressing';
import { exampleTopology } from '../testing';

describe('a node\'s conntrack zone', () => {
  it('in iptables mode: CT --zone in the raw table, for what the node receives and what it sends', () => {
    expect(renderZoneIptablesRules(7).split('\n')).toEqual([
      '*raw',
      ':PREROUTING ACCEPT [0:0]',
      ':OUTPUT ACCEPT [0:0]',
      '-A PREROUTING -m comment --comment "natlens lab: CNI conntrack zone 7" -j CT --zone 7',
      '-A OUTPUT -m comment --comment "natlens lab: CNI conntrack zone 7" -j CT --zone 7',
      'COMMIT',
      '',
    ]);
  });

  it('in nftables mode: a table of its own, beside kube-proxy\'s, with ct zone set at priority raw', () => {
    const ruleset = renderZoneNftRuleset(7);
    expect(ruleset.startsWith(`table ip ${ZONE_NFT_TABLE} {\n`)).toBe(true);
    expect(ruleset).not.toContain('kube-proxy');
    for (const hook of ['prerouting', 'output']) expect(ruleset).toContain(`\ttype filter hook ${hook} priority raw; policy accept;\n\t\tct zone set 7 comment`);
    expect(renderZoneRules(7, 'nftables')).toBe(ruleset);
    expect(renderZoneRules(7, 'iptables')).toBe(renderZoneIptablesRules(7));
  });

  it('comes from the topology: node3 of udp-dns is in zone 7, the others in the default zone', () => {
    const lab = resolveLab(exampleTopology('udp-dns.yaml'));
    expect(lab.nodes.map((n) => [n.name, n.conntrackZone])).toEqual([
      ['node1', undefined],
      ['node2', undefined],
      ['node3', 7],
    ]);
  });
});

describe.each<ZoneRuleBackend>(['iptables', 'nftables'])('a node\'s conntrack zone with the %s backend (real kernel)', (backend) => {
  const netns = `t${randomBytes(3).toString('hex')}-zone`;
  const dir = mkdtempSync(join(tmpdir(), 'natlens-zone-'));
  beforeAll(async () => {
    await run(['ip', 'netns', 'add', netns]);
    await runIn(netns, ['ip', 'link', 'set', 'lo', 'up']);
    await runIn(netns, ['ip', 'addr', 'add', '198.18.204.1/32', 'dev', 'lo']);
  });
  afterAll(async () => {
    await run(['ip', 'netns', 'del', netns]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('puts a query and its answer in the zone: one entry, zone 11, answered', async () => {
    const file = join(dir, 'zone.rules');
    writeFileSync(file, renderZoneRules(11, backend));
    await applyConntrackZone(netns, file, backend, 'nft');
    const exchange = [
      'import socket',
      's = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("198.18.204.1", 5353))',
      'c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); c.bind(("198.18.204.1", 40000)); c.settimeout(2)',
      'c.sendto(b"q", ("198.18.204.1", 5353)); d, a = s.recvfrom(16); s.sendto(d, a); print(c.recv(16).decode())',
    ].join('\n');
    expect((await runIn(netns, ['python3', '-c', exchange])).trim()).toBe('q');
    const entries = (await runIn(netns, ['conntrack', '-L', '-p', 'udp'])).split('\n').filter((line) => line.startsWith('udp'));
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatch(/sport=40000 dport=5353 src=198\.18\.204\.1 dst=198\.18\.204\.1 sport=5353 dport=40000 .*zone=11 /);
  });
});
