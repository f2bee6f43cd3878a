import { readFileSync } from 'node:fs';
import { ParseError } from '@natlens/agent-wire';
import { FIXTURES_DIR } from '../testing';
import { parseConntrackDump } from './conntrack-dump';

describe('parseConntrackDump', () => {
  // Both files are one `conntrack -L` of node3's table in the np-cluster lab, taken a second apart (fixtures/README.md).
  const text = parseConntrackDump(readFileSync(`${FIXTURES_DIR}/np-cluster-node3.conntrack-extended.txt`, 'utf8'));
  const xml = parseConntrackDump(readFileSync(`${FIXTURES_DIR}/np-cluster-node3.conntrack.xml`, 'utf8'));

  it('reads -o extended and -o xml of the same table to the same tuples', () => {
    expect(text.format).toBe('text');
    expect(xml.format).toBe('xml');
    expect(text.errors).toEqual([]);
    expect(xml.errors).toEqual([]);
    expect(text.entries).toHaveLength(9);
    const tuples = (entries: typeof text.entries) => entries.map((e) => ({ original: e.original, reply: e.reply, state: e.state })).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    expect(tuples(xml.entries)).toEqual(tuples(text.entries));
  });

  it('reads a NodePort entry of node3: DNAT to web-1 and SNAT to the node', () => {
    expect(text.entries[0]).toEqual({
      original: { src: '198.51.100.79', sport: 58504, dst: '198.18.0.13', dport: 30080, proto: 'tcp' },
      reply: { src: '198.19.1.11', sport: 8080, dst: '198.18.0.13', dport: 52595, proto: 'tcp' },
      state: 'TIME_WAIT',
      timeout: 104,
      mark: 0,
      flags: ['ASSURED'],
    });
    expect(xml.entries[0]).toMatchObject({ id: '3700733801', flags: ['ASSURED'] });
  });

  it('reads a portless protocol (IGMP, "unknown 2") with ports 0', () => {
    expect(text.entries.find((e) => e.original.proto === 'other')).toMatchObject({ original: { src: '198.19.3.1', dst: '224.0.0.22', sport: 0, dport: 0 }, flags: ['UNREPLIED'] });
  });

  it('reads counters, zone and id (format of `conntrack -L -o extended,id` with nf_conntrack_acct=1)', () => {
    const line =
      'ipv4     2 udp      17 29 src=198.51.100.79 dst=198.18.255.10 sport=5353 dport=53 packets=1 bytes=60 src=198.19.1.11 dst=198.51.100.79 sport=53 dport=5353 packets=1 bytes=120 mark=0 zone=3 use=1 id=1234\n';
    expect(parseConntrackDump(line).entries[0]).toEqual({
      original: { src: '198.51.100.79', sport: 5353, dst: '198.18.255.10', dport: 53, proto: 'udp' },
      reply: { src: '198.19.1.11', sport: 53, dst: '198.51.100.79', dport: 5353, proto: 'udp' },
      timeout: 29,
      counters: { original: { packets: 1, bytes: 60 }, reply: { packets: 1, bytes: 120 } },
      mark: 0,
      zone: 3,
      id: '1234',
      flags: [],
    });
  });

  it('reports bad lines with their byte offset and keeps the others', () => {
    const good = 'tcp      6 104 TIME_WAIT src=1.1.1.1 dst=2.2.2.2 sport=1 dport=2 src=2.2.2.2 dst=1.1.1.1 sport=2 dport=1 [ASSURED] mark=0 use=1\n';
    const dump = parseConntrackDump(`${good}garbage here\n${good.replace('sport=1 ', 'sport=70000 ')}${good}`);
    expect(dump.entries).toHaveLength(2);
    expect(dump.errors.map((e) => [e.offset, e instanceof ParseError])).toEqual([
      [good.length, true],
      [good.length + 'garbage here\n'.length, true],
    ]);
  });
});
