import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';

/*
 * The reader against the real kernel, in a namespace of its own: events and dumps of real connections, and the
 * ENOBUFS case the `netlink` npm package dies on.
 */
const exec = promisify(execFile);
const ROOT = join(__dirname, '..', '..', '..', '..', '..');
const PROBE = join(__dirname, 'probe', 'reader-probe.ts');
const netns = `ctr-${randomBytes(3).toString('hex')}`;

interface ProbeResult {
  /** Connections made. */
  connections: number;
  /** Distinct client tuples among them (the kernel may give a new connection the tuple of one in TIME_WAIT). */
  tuples: number;
  newEvents: number;
  dumped: number;
  losses: string[];
  parseErrors: number;
  enobufs: number;
  sample: { original: { src: string; dst: string; dport: number; proto: string }; counters?: unknown; tcp?: { state: string }; originalPackets?: number; tcpState?: string };
}

async function probe(connections: number, receiveBufferBytes: number, mode: 'live' | 'stalled', decode: 'full' | 'lean' = 'full'): Promise<ProbeResult> {
  const { stdout } = await exec(
    'ip',
    ['netns', 'exec', netns, process.execPath, '-r', require.resolve('@swc-node/register'), PROBE, String(connections), String(receiveBufferBytes), mode, decode],
    { cwd: ROOT, env: { ...process.env, SWC_NODE_PROJECT: join(ROOT, 'tsconfig.base.json') }, timeout: 60_000 },
  );
  return JSON.parse(stdout) as ProbeResult;
}

beforeAll(() => {
  execFileSync('ip', ['netns', 'add', netns]);
  const sh = (...args: string[]) => execFileSync('ip', ['netns', 'exec', netns, ...args]);
  sh('ip', 'link', 'set', 'lo', 'up');
  sh('ip', 'addr', 'add', '198.18.201.1/32', 'dev', 'lo');
  // conntrack is only active in a namespace once a rule needs it
  sh('iptables', '-A', 'INPUT', '-m', 'conntrack', '--ctstate', 'NEW', '-j', 'ACCEPT');
  sh('sysctl', '-q', '-w', 'net.netfilter.nf_conntrack_acct=1', 'net.netfilter.nf_conntrack_timestamp=1');
});

afterAll(() => {
  execFileSync('ip', ['netns', 'del', netns]);
});

describe('ConntrackReader (real kernel)', () => {
  it('reports a NEW event for every connection and finds each in a dump', async () => {
    const result = await probe(100, 8 << 20, 'live');
    expect(result).toMatchObject({ connections: 100, tuples: 100, newEvents: 100, dumped: 100, losses: [], parseErrors: 0, enobufs: 0 });
    expect(result.sample).toMatchObject({ original: { src: '198.18.201.1', dst: '198.18.201.1', dport: 18080, proto: 'tcp' }, tcp: { state: 'TIME_WAIT' } });
    expect(result.sample.counters).toBeDefined();
  });

  it('with the lean decoder: the same events and dump, as lean entries', async () => {
    const result = await probe(100, 8 << 20, 'live', 'lean');
    expect(result).toMatchObject({ connections: 100, tuples: 100, newEvents: 100, dumped: 100, losses: [], parseErrors: 0, enobufs: 0 });
    expect(result.sample).toMatchObject({ original: { src: '198.18.201.1', dst: '198.18.201.1', dport: 18080, proto: 'tcp' }, tcpState: 'TIME_WAIT' });
    expect(result.sample.originalPackets).toBeGreaterThan(0);
  });

  it('survives ENOBUFS: reports the loss, and a dump still finds every connection', async () => {
    // the smallest buffer the kernel grants, and the event loop blocked while 2000 connections are made
    const result = await probe(2000, 1, 'stalled');
    expect(result.connections).toBe(2000);
    expect(result.enobufs).toBeGreaterThan(0);
    expect(result.losses).toContain('enobufs');
    expect(result.newEvents).toBeLessThan(2000);
    expect(result.tuples).toBeGreaterThan(1900); // a few sequential connections may get an earlier one's tuple
    expect(result.dumped).toBe(result.tuples);
    expect(result.parseErrors).toBe(0);
  });

  it.each(['full', 'lean'] as const)('absorbs the same stall without loss when SO_RCVBUFFORCE grants a large buffer (%s decoder)', async (decode) => {
    const result = await probe(2000, 8 << 20, 'stalled', decode);
    expect(result.tuples).toBeGreaterThan(1900);
    expect(result).toMatchObject({ connections: 2000, newEvents: 2000, dumped: result.tuples, losses: [], enobufs: 0 });
  });
});
