import fc from 'fast-check';
import { ParseError } from '@natlens/agent-wire';
import { formatProxyV1, formatProxyV2, parseProxyProtocol, PROXY_V2_SIGNATURE } from './proxy-protocol';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('parseProxyProtocol', () => {
  it.each([
    [
      // The header of proxy-protocol.txt section 2.2, written out by hand: 198.51.100.79:40000 -> 203.0.113.10:80
      'v2 PROXY TCP4',
      hex('0d0a0d0a000d0a515549540a 21 11 000c c633644f cb00710a 9c40 0050'),
      { version: 2, command: 'PROXY', family: 'TCP4', source: { address: '198.51.100.79', port: 40000 }, destination: { address: '203.0.113.10', port: 80 } },
      28,
    ],
    ['v2 LOCAL (health check)', hex('0d0a0d0a000d0a515549540a 20 00 0000'), { version: 2, command: 'LOCAL', family: 'UNKNOWN' }, 16],
    [
      'v2 PROXY TCP6',
      Buffer.concat([
        hex('0d0a0d0a000d0a515549540a 21 21 0024'),
        hex('20010db8000000000000000000000001 20010db8000000000000000000000002 1f90 0050'),
      ]),
      { version: 2, command: 'PROXY', family: 'TCP6', source: { address: '2001:db8:0:0:0:0:0:1', port: 8080 }, destination: { address: '2001:db8:0:0:0:0:0:2', port: 80 } },
      52,
    ],
    [
      'v1 TCP4',
      Buffer.from('PROXY TCP4 198.51.100.79 203.0.113.10 40000 80\r\nGET / HTTP/1.1\r\n'),
      { version: 1, command: 'PROXY', family: 'TCP4', source: { address: '198.51.100.79', port: 40000 }, destination: { address: '203.0.113.10', port: 80 } },
      48,
    ],
    ['v1 UNKNOWN', Buffer.from('PROXY UNKNOWN\r\n'), { version: 1, command: 'PROXY', family: 'UNKNOWN' }, 15],
  ])('%s', (_name, bytes, value, consumed) => {
    expect(parseProxyProtocol(bytes)).toEqual({ kind: 'header', value, consumed });
  });

  it.each([
    ['plain HTTP', 'none', Buffer.from('GET / HTTP/1.1\r\n')],
    ['empty', 'none', Buffer.alloc(0)],
    ['half a v2 signature', 'incomplete', PROXY_V2_SIGNATURE.subarray(0, 5)],
    ['v2 header without its addresses', 'incomplete', hex('0d0a0d0a000d0a515549540a 21 11 000c c633')],
    ['v1 without CRLF yet', 'incomplete', Buffer.from('PROXY TCP4 198.51.100.79')],
    ['P only', 'incomplete', Buffer.from('P')],
  ])('%s -> %s', (_name, kind, bytes) => {
    expect(parseProxyProtocol(bytes).kind).toBe(kind);
  });

  it.each([
    ['v2 with version 1', hex('0d0a0d0a000d0a515549540a 11 11 000c 00000000 00000000 0000 0000'), 12],
    ['v2 with command 5', hex('0d0a0d0a000d0a515549540a 25 11 000c 00000000 00000000 0000 0000'), 12],
    ['v2 TCP4 with a short address block', hex('0d0a0d0a000d0a515549540a 21 11 0004 00000000'), 14],
    ['v1 with a bad family', Buffer.from('PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n'), 6],
    ['v1 with a bad port', Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 99999 2\r\n'), 0],
    ['v1 line over 107 bytes', Buffer.from(`PROXY TCP4 ${'1'.repeat(120)}`), 107],
  ])('rejects %s with the offset', (_name, bytes, offset) => {
    expect(() => parseProxyProtocol(bytes)).toThrow(ParseError);
    try {
      parseProxyProtocol(bytes);
    } catch (err) {
      expect((err as ParseError).offset).toBe(offset);
    }
  });

  const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.'));
  const endpoint = fc.record({ address: ipv4, port: fc.nat(65535) });

  it('round-trips every v2 and v1 header it formats', () => {
    fc.assert(
      fc.property(endpoint, endpoint, fc.uint8Array({ maxLength: 32 }), (source, destination, payload) => {
        for (const [format, version] of [[formatProxyV2, 2], [formatProxyV1, 1]] as const) {
          const header = format(source, destination);
          const parsed = parseProxyProtocol(Buffer.concat([header, payload]));
          expect(parsed).toEqual({ kind: 'header', consumed: header.length, value: { version, command: 'PROXY', family: 'TCP4', source, destination } });
        }
      }),
    );
  });

  it('never throws anything but ParseError on random bytes after a signature', () => {
    fc.assert(
      fc.property(fc.constantFrom(PROXY_V2_SIGNATURE, Buffer.from('PROXY ')), fc.uint8Array({ maxLength: 200 }), (prefix, tail) => {
        try {
          const result = parseProxyProtocol(Buffer.concat([prefix, tail]));
          if (result.kind === 'header') expect(result.consumed).toBeLessThanOrEqual(prefix.length + tail.length);
        } catch (err) {
          expect(err).toBeInstanceOf(ParseError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
