import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ConntrackStatCounters } from '../netlink/conntrack-stats';

/*
 * The statistics reader against the real kernel, in a namespace of its own: its figures equal what conntrack-tools
 * reads over the same interface (`conntrack -S`, `conntrack -C`), and they move when connections are made.
 */
const exec = promisify(execFile);
const ROOT = join(__dirname, '..', '..', '..', '..', '..');
const PROBE = join(__dirname, 'probe', 'stats-probe.ts');
const netns = `ctst-${randomBytes(3).toString('hex')}`;
const ADDRESS = '198.18.202.1';

interface Reading {
  counters: ConntrackStatCounters;
  cpus: number;
  entries: number;
  maxEntries: number | undefined;
  parseErrors: string[];
}

async function read(): Promise<Reading> {
  const { stdout } = await exec('ip', ['netns', 'exec', netns, process.execPath, '-r', require.resolve('@swc-node/register'), PROBE], {
    cwd: ROOT,
    env: { ...process.env, SWC_NODE_PROJECT: join(ROOT, 'tsconfig.base.json') },
    timeout: 60_000,
  });
  return JSON.parse(stdout) as Reading;
}

const inNetns = (...args: string[]) => execFileSync('ip', ['netns', 'exec', netns, ...args], { encoding: 'utf8' });

/** 20 TCP connections on lo (each leaves a TIME_WAIT entry for 2 minutes) and 3 ICMP messages of unknown type 99. */
const WORKLOAD = `
import socket, struct
srv = socket.socket(); srv.bind(("${ADDRESS}", 18091)); srv.listen(64)
for _ in range(20):
    c = socket.create_connection(("${ADDRESS}", 18091)); a, _ = srv.accept(); c.close(); a.close()
h = struct.pack("!BBHHH", 99, 0, 0, 0x4242, 1); s = sum(struct.unpack("!4H", h)); s = (s & 0xFFFF) + (s >> 16)
raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
for _ in range(3): raw.sendto(struct.pack("!BBHHH", 99, 0, ~s & 0xFFFF, 0x4242, 1), ("${ADDRESS}", 0))
`;

beforeAll(() => {
  execFileSync('ip', ['netns', 'add', netns]);
  inNetns('ip', 'link', 'set', 'lo', 'up');
  inNetns('ip', 'addr', 'add', `${ADDRESS}/32`, 'dev', 'lo');
  // conntrack is only active in a namespace once a rule needs it
  inNetns('iptables', '-A', 'INPUT', '-m', 'conntrack', '--ctstate', 'NEW', '-j', 'ACCEPT');
});

afterAll(() => {
  execFileSync('ip', ['netns', 'del', netns]);
});

describe('ConntrackStatsReader (real kernel)', () => {
  it('reads what conntrack -S and -C read, and the figures move with connections', async () => {
    const before = await read();
    inNetns('python3', '-c', WORKLOAD);
    const after = await read();
    const toolPerCpu = inNetns('conntrack', '-S');
    const toolCount = Number(inNetns('conntrack', '-C').trim());

    expect(after.parseErrors).toEqual([]);
    expect(after.cpus).toBe(cpus().length);
    expect(after.maxEntries).toBe(Number(inNetns('cat', '/proc/sys/net/netfilter/nf_conntrack_max').trim()));
    // TIME_WAIT entries last 120 s, so the count is still the same when the tool reads it.
    expect(after.entries).toBe(toolCount);
    expect(after.entries - before.entries).toBeGreaterThanOrEqual(20);
    // The same counters, summed over the CPUs conntrack -S lists one by one.
    const toolSum: Record<string, number> = {};
    for (const [, name = '', value] of toolPerCpu.matchAll(/(\w+)=(\d+)/g)) if (name !== 'cpu') toolSum[name] = (toolSum[name] ?? 0) + Number(value);
    expect(after.counters).toEqual({
      found: toolSum['found'],
      invalid: toolSum['invalid'],
      insert: toolSum['insert'],
      insertFailed: toolSum['insert_failed'],
      drop: toolSum['drop'],
      earlyDrop: toolSum['early_drop'],
      error: toolSum['error'],
      searchRestart: toolSum['search_restart'],
      clashResolve: toolSum['clash_resolve'],
      chainTooLong: toolSum['chaintoolong'],
    });
    // ICMP of a type conntrack does not know is counted in `error` on this kernel (once on the way out, once in).
    expect((after.counters.error ?? 0) - (before.counters.error ?? 0)).toBeGreaterThanOrEqual(3);
  });
});
