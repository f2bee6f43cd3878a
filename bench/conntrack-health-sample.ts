/*
 * bench/conntrack-health-sample: what one conntrack health sample costs the agent (libs/agent/daemon/src/
 * conntrack-health): the ctnetlink statistics and a dump of the source-NATed entries tallied into SNAT pairs, on a
 * table of N TIME_WAIT entries of which every Kth was source-NATed.
 *
 *   SWC_NODE_PROJECT=$PWD/tsconfig.base.json node -r @swc-node/register bench/conntrack-health-sample.ts [connections] [snatEvery] [samples]
 *
 * Defaults 20000 10 5. As root: it makes a throwaway namespace (cths-<random>, deleted at the end, also on failure),
 * adds two addresses on its lo (198.18.221.1-2) and `SNAT --to-source 198.18.221.1:20000-60000` for connections
 * from .2, makes the connections with python (each closed at once, so each leaves a TIME_WAIT entry for 120 s), then
 * runs itself inside the namespace to time the samples: CPU (user+system, the kernel's dump work included) and wall
 * time of each, as one JSON line. The first sample includes opening the sockets.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

const [connections = 20_000, snatEvery = 10, samples = 5] = process.argv.slice(2).filter((a) => a !== '--inside').map(Number);

async function inside(): Promise<void> {
  const { ConntrackHealthRepository } = await import('../libs/agent/daemon/src/conntrack-health/conntrack-health.repository');
  const { SnatPortTally } = await import('../libs/agent/daemon/src/conntrack-health/snat-port-usage');
  const repository = new ConntrackHealthRepository();
  const runs = [];
  for (let i = 0; i < samples; i++) {
    const cpu = process.cpuUsage();
    const started = performance.now();
    const tally = new SnatPortTally();
    const dumped = await repository.dumpTable((entries) => tally.add(entries));
    const stats = await repository.readStats();
    const used = process.cpuUsage(cpu);
    runs.push({ tableEntries: stats.entries, dumpedEntries: dumped, pairs: tally.pairs, cpuMs: Math.round((used.user + used.system) / 1000), wallMs: Math.round(performance.now() - started) });
  }
  repository.close();
  process.stdout.write(`${JSON.stringify({ connections, snatEvery, runs })}\n`);
}

function outside(): void {
  const netns = `cths-${randomBytes(3).toString('hex')}`;
  const sh = (...args: string[]) => execFileSync('ip', ['netns', 'exec', netns, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  execFileSync('ip', ['netns', 'add', netns]);
  try {
    sh('ip', 'link', 'set', 'lo', 'up');
    sh('ip', 'addr', 'add', '198.18.221.1/32', 'dev', 'lo');
    sh('ip', 'addr', 'add', '198.18.221.2/32', 'dev', 'lo');
    sh('iptables', '-t', 'nat', '-A', 'POSTROUTING', '-s', '198.18.221.2', '-p', 'tcp', '-j', 'SNAT', '--to-source', '198.18.221.1:20000-60000');
    sh('python3', '-c', `
import socket
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); srv.bind(("198.18.221.1", 18094)); srv.listen(1024)
for i in range(${connections}):
    c = socket.socket(); c.bind(("198.18.221.2" if i % ${snatEvery} == 0 else "198.18.221.1", 0)); c.connect(("198.18.221.1", 18094))
    a, _ = srv.accept(); c.close(); a.close()
`);
    process.stdout.write(sh(process.execPath, '-r', require.resolve('@swc-node/register'), __filename, '--inside', String(connections), String(snatEvery), String(samples)));
  } finally {
    execFileSync('ip', ['netns', 'del', netns]);
  }
}

if (process.argv.includes('--inside')) {
  inside().catch((err: Error) => {
    process.stderr.write(`${err.stack ?? err.message}\n`);
    process.exit(1);
  });
} else {
  outside();
}
