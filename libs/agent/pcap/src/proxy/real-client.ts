import { isIP } from 'node:net';
import { ParseError } from '@natlens/agent-wire';
import { parseProxyProtocol } from '../proxy-protocol';

/*
 * Who is behind a proxy: read from the first bytes a client sent on a TCP connection. A PROXY protocol header
 * (v1/v2) comes first in the stream when the load balancer speaks it; otherwise an HTTP/1.x request may carry
 * X-Forwarded-For (de facto) or Forwarded (RFC 7239). The leftmost address is the client as the first proxy saw it;
 * anything in front of our own load balancer can write these headers, so this is evidence, not authentication.
 */

export interface RealClient {
  ip: string;
  port?: number;
  via: 'proxy-v1' | 'proxy-v2' | 'x-forwarded-for' | 'forwarded';
  /** X-Forwarded-For / Forwarded: every hop named, leftmost first. */
  chain?: string[];
}

export type RealClientResult = { kind: 'found'; value: RealClient } | { kind: 'none' } | { kind: 'incomplete' };

/** Past this many bytes without the end of the HTTP header, give up (nginx's default large_client_header_buffers is 8k). */
export const MAX_HTTP_HEADER_BYTES = 8192;
const HTTP_REQUEST_LINE = /^[A-Z]{3,10} \S+ HTTP\/1\.[01]\r\n/;
const HTTP_METHOD_PREFIX = /^[A-Z]{0,10}$/;
const HTTP_PARTIAL_REQUEST_LINE = /^[A-Z]{3,10} [^\r\n ]*(?: [^\r\n]{0,10})?\r?$/;

export function realClientFromPayload(firstBytes: Buffer): RealClientResult {
  let proxy;
  try {
    proxy = parseProxyProtocol(firstBytes);
  } catch (err) {
    if (err instanceof ParseError) return { kind: 'none' };
    throw err;
  }
  if (proxy.kind === 'incomplete') return proxy;
  if (proxy.kind === 'header') {
    const { value } = proxy;
    if (value.command === 'PROXY' && value.source) {
      return { kind: 'found', value: { ip: value.source.address, port: value.source.port, via: value.version === 1 ? 'proxy-v1' : 'proxy-v2' } };
    }
    // LOCAL (a health check) or an unknown family: no client; an HTTP request may still follow.
    return fromHttp(firstBytes.subarray(proxy.consumed));
  }
  return fromHttp(firstBytes);
}

function fromHttp(bytes: Buffer): RealClientResult {
  const head = bytes.subarray(0, MAX_HTTP_HEADER_BYTES).toString('latin1');
  const lineEnd = head.indexOf('\r\n');
  if (lineEnd < 0) {
    // Could this still become a request line? Then wait for more bytes.
    const couldBeHttp = head.length < MAX_HTTP_HEADER_BYTES && (HTTP_METHOD_PREFIX.test(head) || HTTP_PARTIAL_REQUEST_LINE.test(head));
    return couldBeHttp ? { kind: 'incomplete' } : { kind: 'none' };
  }
  if (!HTTP_REQUEST_LINE.test(head)) return { kind: 'none' };
  const end = head.indexOf('\r\n\r\n');
  const complete = end >= 0;
  const headerText = head.slice(lineEnd + 2, complete ? end : head.lastIndexOf('\r\n'));
  const forwardedFor: string[] = [];
  const forwarded: string[] = [];
  for (const line of headerText.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'x-forwarded-for') forwardedFor.push(...value.split(',').map((s) => s.trim()).filter(Boolean));
    else if (name === 'forwarded') forwarded.push(...forwardedElements(value));
  }
  // RFC 7239 section 7.4: Forwarded supersedes X-Forwarded-For when both are present.
  const chain = forwarded.length > 0 ? forwarded : forwardedFor;
  const via = forwarded.length > 0 ? 'forwarded' : 'x-forwarded-for';
  for (const hop of chain) {
    const node = parseNode(hop);
    if (node) return { kind: 'found', value: { ...node, via, chain } };
  }
  if (!complete && bytes.length < MAX_HTTP_HEADER_BYTES) return { kind: 'incomplete' };
  return { kind: 'none' };
}

/** The `for=` value of every element of a Forwarded header, in order. */
function forwardedElements(value: string): string[] {
  const out: string[] = [];
  for (const element of value.split(',')) {
    for (const pair of element.split(';')) {
      const eq = pair.indexOf('=');
      if (eq < 0) continue;
      if (pair.slice(0, eq).trim().toLowerCase() === 'for') out.push(pair.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1'));
    }
  }
  return out;
}

/** "198.51.100.79", "198.51.100.79:4711", "[2001:db8::7]:4711", "2001:db8::7"; "unknown" and "_hidden" are no address. */
function parseNode(text: string): { ip: string; port?: number } | undefined {
  const bracketed = /^\[([0-9a-fA-F:.]+)\](?::(\d{1,5}))?$/.exec(text);
  if (bracketed) return withPort(bracketed[1] ?? '', bracketed[2]);
  if (isIP(text)) return { ip: text.toLowerCase() };
  const v4port = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(text);
  if (v4port) return withPort(v4port[1] ?? '', v4port[2]);
  return undefined;
}

function withPort(ip: string, port: string | undefined): { ip: string; port?: number } | undefined {
  if (!isIP(ip)) return undefined;
  const n = port === undefined ? undefined : Number(port);
  return n !== undefined && n <= 65535 ? { ip: ip.toLowerCase(), port: n } : { ip: ip.toLowerCase() };
}
