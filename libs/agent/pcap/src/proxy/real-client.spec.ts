import fc from 'fast-check';
import { formatProxyV1, formatProxyV2 } from '../proxy-protocol';
import { realClientFromPayload } from './real-client';

const http = (...headers: string[]) => Buffer.from(`GET /x HTTP/1.1\r\nHost: web\r\n${headers.map((h) => `${h}\r\n`).join('')}\r\n`);
const lb = { address: '198.18.0.254', port: 30080 };

describe('realClientFromPayload', () => {
  it.each([
    ['PROXY v2 (the lab LB)', formatProxyV2({ address: '198.51.100.79', port: 40000 }, lb), { ip: '198.51.100.79', port: 40000, via: 'proxy-v2' }],
    ['PROXY v1 then HTTP', Buffer.concat([formatProxyV1({ address: '198.51.100.7', port: 1234 }, lb), http()]), { ip: '198.51.100.7', port: 1234, via: 'proxy-v1' }],
    ['PROXY wins over X-Forwarded-For', Buffer.concat([formatProxyV2({ address: '198.51.100.79', port: 1 }, lb), http('X-Forwarded-For: 192.0.2.1')]), { ip: '198.51.100.79', port: 1, via: 'proxy-v2' }],
    ['X-Forwarded-For, leftmost', http('X-Forwarded-For: 192.0.2.44, 10.0.0.1'), { ip: '192.0.2.44', via: 'x-forwarded-for', chain: ['192.0.2.44', '10.0.0.1'] }],
    ['X-Forwarded-For over two lines', http('x-forwarded-for: unknown', 'X-Forwarded-For: 192.0.2.5'), { ip: '192.0.2.5', via: 'x-forwarded-for', chain: ['unknown', '192.0.2.5'] }],
    ['X-Forwarded-For with a port', http('X-Forwarded-For: 192.0.2.44:5555'), { ip: '192.0.2.44', port: 5555, via: 'x-forwarded-for', chain: ['192.0.2.44:5555'] }],
    ['Forwarded (RFC 7239) with IPv6', http('Forwarded: for="[2001:DB8::7]:4711";proto=http;by=203.0.113.43'), { ip: '2001:db8::7', port: 4711, via: 'forwarded', chain: ['[2001:DB8::7]:4711'] }],
    ['Forwarded, first of several, wins over X-Forwarded-For', http('X-Forwarded-For: 192.0.2.1', 'Forwarded: for=192.0.2.60;proto=http, for=198.51.100.17'), { ip: '192.0.2.60', via: 'forwarded', chain: ['192.0.2.60', '198.51.100.17'] }],
    ['Forwarded obfuscated then real', http('Forwarded: for=_hidden, for=198.51.100.17'), { ip: '198.51.100.17', via: 'forwarded', chain: ['_hidden', '198.51.100.17'] }],
  ])('%s', (_name, bytes, value) => {
    expect(realClientFromPayload(bytes)).toEqual({ kind: 'found', value });
  });

  it.each([
    ['PROXY v2 LOCAL + HTTP without headers', Buffer.concat([Buffer.from('0d0a0d0a000d0a515549540a20000000', 'hex'), http()]), 'none'],
    ['plain HTTP', http(), 'none'],
    ['TLS ClientHello', Buffer.from('160301020001', 'hex'), 'none'],
    ['SSH banner', Buffer.from('SSH-2.0-OpenSSH_9.2\r\n'), 'none'],
    ['a bad PROXY header', Buffer.from('PROXY TCP9 x\r\n'), 'none'],
    ['half a request line', Buffer.from('GET /index.ht'), 'incomplete'],
    ['a method only', Buffer.from('PO'), 'incomplete'],
    ['headers not finished', Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n'), 'incomplete'],
    ['half a PROXY v2 header', formatProxyV2({ address: '1.2.3.4', port: 1 }, lb).subarray(0, 20), 'incomplete'],
  ])('%s -> %s', (_name, bytes, kind) => {
    expect(realClientFromPayload(bytes).kind).toBe(kind);
  });

  it('never throws on random bytes, with or without an HTTP start', () => {
    fc.assert(
      fc.property(fc.constantFrom('', 'GET / HTTP/1.1\r\n', 'PROXY ', 'X-Forwarded-For: '), fc.uint8Array({ maxLength: 300 }), (prefix, random) => {
        const result = realClientFromPayload(Buffer.concat([Buffer.from(prefix), Buffer.from(random)]));
        expect(['found', 'none', 'incomplete']).toContain(result.kind);
      }),
      { numRuns: 2000 },
    );
  });
});
