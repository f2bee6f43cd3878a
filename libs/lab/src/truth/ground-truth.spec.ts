import { aggregateTruth, parseTruthLines } from './ground-truth';

describe('aggregateTruth', () => {
  const lines = parseTruthLines(
    [
      '{"t":100,"port":8080,"client":"198.18.0.12","clientPort":41000}',
      '{"t":200,"port":8080,"client":"198.18.0.12","clientPort":41001}',
      '{"t":300,"port":8080,"client":"198.51.100.79","clientPort":41002}',
      '{"t":400,"port":8080,"client":"198.18.0.254","clientPort":41003,"realClient":"198.51.100.80","realClientPort":5000}',
      '{"t":450,"port":5353,"client":"198.18.0.12","clientPort":20001,"protocol":"udp"}',
      '',
    ].join('\n'),
  );

  it.each([
    [0, { seen: { '198.18.0.12': 3, '198.51.100.79': 1, '198.18.0.254': 1 }, realClients: { '198.51.100.80': 1 } }],
    [250, { seen: { '198.51.100.79': 1, '198.18.0.254': 1, '198.18.0.12': 1 }, realClients: { '198.51.100.80': 1 } }],
    [350, { seen: { '198.18.0.254': 1, '198.18.0.12': 1 }, realClients: { '198.51.100.80': 1 } }],
    [420, { seen: { '198.18.0.12': 1 } }],
    [500, { seen: {} }],
  ])('counts what the pod saw since %i, a UDP datagram like a TCP request', (since, expected) => {
    expect(aggregateTruth(lines, since)).toEqual(expected);
  });
});
