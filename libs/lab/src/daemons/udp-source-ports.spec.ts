import { nextUdpSourcePort, parseUdpSourcePort, udpSourcePortAt, UDP_SOURCE_PORT_COUNT, UDP_SOURCE_PORT_FIRST } from './udp-source-ports';

describe('UDP source ports of lab traffic', () => {
  const last = UDP_SOURCE_PORT_FIRST + UDP_SOURCE_PORT_COUNT - 1;

  it.each([
    [UDP_SOURCE_PORT_FIRST, 0, UDP_SOURCE_PORT_FIRST],
    [UDP_SOURCE_PORT_FIRST, 599, UDP_SOURCE_PORT_FIRST + 599],
    [last, 0, last],
    [last, 1, UDP_SOURCE_PORT_FIRST],
    [last - 1, 3, UDP_SOURCE_PORT_FIRST + 1],
  ])('from %i, datagram %i leaves from port %i', (first, i, port) => {
    expect(udpSourcePortAt(first, i)).toBe(port);
  });

  it('gives consecutive runs disjoint ports until the range comes round', () => {
    const runs = [600, 200, 1000, 37];
    let first = UDP_SOURCE_PORT_FIRST;
    const used = new Set<number>();
    for (const count of runs) {
      for (let i = 0; i < count; i++) used.add(udpSourcePortAt(first, i));
      first = nextUdpSourcePort(first, count);
    }
    expect(used.size).toBe(runs.reduce((a, b) => a + b, 0));
    expect(first).toBe(UDP_SOURCE_PORT_FIRST + used.size);
  });

  it.each([
    [undefined, UDP_SOURCE_PORT_FIRST],
    ['', UDP_SOURCE_PORT_FIRST],
    ['junk', UDP_SOURCE_PORT_FIRST],
    ['80', UDP_SOURCE_PORT_FIRST],
    [`${last + 1}`, UDP_SOURCE_PORT_FIRST],
    ['20600\n', 20600],
  ])('reads the stored counter %j as %i', (text, port) => {
    expect(parseUdpSourcePort(text)).toBe(port);
  });
});
