import { emptyLeanEntry, emptyLeanTuple, type LeanConntrackEntry } from '@natlens/agent-conntrack';
import { SnatPortTally, snatPortShare } from './snat-port-usage';

/** A lean dump entry: original src:sport → dst:dport, answered by reply src:sport → dst:dport. */
function entry(proto: 'tcp' | 'udp' | 'icmp', original: [string, number, string, number], reply: [string, number, string, number]): LeanConntrackEntry {
  const e = emptyLeanEntry('dump', 'ipv4', 1, 0);
  e.original = { ...emptyLeanTuple(), proto, src: original[0], sport: original[1], dst: original[2], dport: original[3] };
  e.reply = { ...emptyLeanTuple(), proto, src: reply[0], sport: reply[1], dst: reply[2], dport: reply[3] };
  return e;
}

const MASQUERADE_40000_40063 = [{ target: 'masquerade' as const, ports: { min: 40000, max: 40063 }, origin: 'iptables' as const, family: 'ipv4' as const }];

describe('SnatPortTally', () => {
  it('counts distinct translated ports per (SNAT address, destination after DNAT, port, protocol)', () => {
    const sut = new SnatPortTally();
    sut.add([
      // a ClusterIP connection DNATed to 198.18.2.7:8080 and masqueraded to the node's 198.18.1.1:40000-40002
      entry('tcp', ['198.18.9.5', 51000, '198.51.100.10', 80], ['198.18.2.7', 8080, '198.18.1.1', 40000]),
      entry('tcp', ['198.18.9.5', 51001, '198.51.100.10', 80], ['198.18.2.7', 8080, '198.18.1.1', 40001]),
      entry('tcp', ['198.18.9.6', 51001, '198.51.100.10', 80], ['198.18.2.7', 8080, '198.18.1.1', 40002]),
      // the node's own address, only the port rewritten (masquerade from the address it already has)
      entry('udp', ['198.18.1.1', 53000, '198.18.2.8', 53], ['198.18.2.8', 53, '198.18.1.1', 40010]),
    ]);
    sut.add([entry('tcp', ['198.18.9.7', 51002, '198.51.100.10', 80], ['198.18.2.7', 8080, '198.18.1.1', 40001])]); // port 40001 again: one port
    expect(sut.pairs).toBe(2);
    expect(sut.top(MASQUERADE_40000_40063)).toEqual([
      { snatAddress: '198.18.1.1', destination: '198.18.2.7', destinationPort: 8080, protocol: 'tcp', inUse: 3, range: { min: 40000, max: 40063 }, rangeBasis: 'nat-rule' },
      { snatAddress: '198.18.1.1', destination: '198.18.2.8', destinationPort: 53, protocol: 'udp', inUse: 1, range: { min: 40000, max: 40063 }, rangeBasis: 'nat-rule' },
    ]);
  });

  it('leaves out connections without source NAT (DNAT only, or none) and protocols without ports', () => {
    const sut = new SnatPortTally();
    sut.add([
      entry('tcp', ['198.18.9.5', 51000, '198.51.100.10', 80], ['198.18.2.7', 8080, '198.18.9.5', 51000]), // DNAT only
      entry('tcp', ['198.18.9.5', 51003, '198.18.2.7', 8080], ['198.18.2.7', 8080, '198.18.9.5', 51003]), // no NAT
      entry('icmp', ['198.18.9.5', 0, '198.18.2.7', 0], ['198.18.2.7', 0, '198.18.1.1', 0]),
    ]);
    expect(sut.top([])).toEqual([]);
  });

  it('ranks by the share of the range in use and keeps the busiest 50', () => {
    const sut = new SnatPortTally();
    const entries: LeanConntrackEntry[] = [];
    for (let destination = 1; destination <= 60; destination++) {
      for (let port = 0; port < destination; port++) entries.push(entry('tcp', ['198.18.9.5', 20000 + port, `198.18.3.${destination}`, 80], [`198.18.3.${destination}`, 80, '198.18.1.1', 40000 + port]));
    }
    sut.add(entries);
    const top = sut.top(MASQUERADE_40000_40063);
    expect(top).toHaveLength(50);
    expect(top[0]).toMatchObject({ destination: '198.18.3.60', inUse: 60 });
    expect(top.at(-1)).toMatchObject({ destination: '198.18.3.11', inUse: 11 });
    expect(top.map(snatPortShare)[0]).toBeCloseTo(60 / 64);
  });
});
