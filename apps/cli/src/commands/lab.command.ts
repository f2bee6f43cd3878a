import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import type { ProxyMode } from '@natlens/lab';
import { emit, table } from '../output';
import { logger } from '../logger';

/** `--proxy-mode iptables|nftables`: kube-proxy's mode on every node, over the topology's `kubeProxy.mode`. */
export function proxyMode(value: string): ProxyMode {
  if (value !== 'iptables' && value !== 'nftables') throw new InvalidArgumentError('expected iptables or nftables');
  return value;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number ≥ 1');
  return n;
}

/** The lab (and its YAML and schema libraries) is loaded by the command that runs, not by `natlens --help`. */
const loadLab = () => import('@natlens/lab');

export async function loadTopologyFile(file: string, name?: string) {
  const { parseTopology } = await loadLab();
  const topology = parseTopology(readFileSync(file, 'utf8'), file);
  return name ? { ...topology, name } : topology;
}

export function labCommand(): Command {
  const lab = new Command('lab').description('build and drive a kube-proxy NAT lab in network namespaces');

  lab
    .command('up')
    .argument('<topology>', 'topology YAML file (see examples/)')
    .option('--name <name>', 'lab name (default: the topology name); namespaces are prefixed with it')
    .option('--proxy-mode <mode>', "kube-proxy's mode on every node: iptables or nftables (default: the topology's kubeProxy.mode, else iptables)", proxyMode)
    .option('--iptables <flavour>', 'iptables mode only: the nft or legacy back end', 'nft')
    .option('--json', 'print machine-readable JSON')
    .description('build the lab; print where its inventory and ground truth live')
    .action(async (file: string, opts: { name?: string; proxyMode?: ProxyMode; iptables: 'nft' | 'legacy'; json?: boolean }) => {
      const { labUp } = await loadLab();
      const summary = await labUp(await loadTopologyFile(file, opts.name), { iptables: opts.iptables, proxyMode: opts.proxyMode, log: opts.json ? undefined : logger() });
      emit(!!opts.json, summary, () =>
        [
          `lab ${summary.name} is up (kube-proxy ${summary.kubeProxy.mode} mode)`,
          table([
            ['NODE', 'NETNS', 'ADDRESSES'],
            ...summary.nodes.map((n) => [n.name, n.netns, n.addresses.join(' ')]),
          ]),
          table([
            ['SERVICE', 'TYPE', 'CLUSTER-IP', 'LB-IP', 'NODE-PORTS', 'HEALTH-CHECK'],
            ...summary.services.map((s) => [`${s.namespace}/${s.name}`, s.type, s.clusterIP, s.loadBalancerIP ?? '-', s.nodePorts.join(',') || '-', s.healthCheckNodePort ?? '-']),
          ]),
          `inventory: ${summary.inventory}`,
          `truth:     ${summary.truth}`,
          `next: natlens lab traffic ${summary.name} --service <ns/name> --via <node|lb|pod:ns/name> --connections 100`,
        ].join('\n'),
      );
    });

  lab
    .command('traffic')
    .argument('<lab>', 'lab name')
    .requiredOption('--service <ns/name>', 'the Service to connect to')
    .requiredOption('--via <entry>', 'a node name (its nodePort), lb (the load-balancer IP) or pod:<ns>/<name> (the ClusterIP, from that pod)')
    .option('--client <name>', 'which client makes the connections (default: the first)')
    .option('--connections <n>', 'how many connections', positiveInt, 100)
    .option('--concurrency <c>', 'at most this many at once', positiveInt, 16)
    .option('--timeout-ms <ms>', 'a connection with no answer by then has failed', positiveInt, 1500)
    .option('--port <name>', 'service port name or number (default: the first)')
    .option('--hold-ms <ms>', 'TCP: open all N connections at once and hold them open this long (exhausts SNAT ports)', positiveInt)
    .option('--pairs', 'UDP: each connection is two queries sent at once from one source port (the DNS race)')
    .option('--json', 'print machine-readable JSON')
    .description('make N real connections; print how many succeeded')
    .action(async (name: string, opts: { service: string; via: string; client?: string; connections: number; concurrency: number; timeoutMs: number; port?: string; holdMs?: number; pairs?: boolean; json?: boolean }) => {
      const { labTraffic, parseVia } = await loadLab();
      const result = await labTraffic(name, {
        service: opts.service,
        via: parseVia(opts.via),
        client: opts.client,
        connections: opts.connections,
        concurrency: opts.concurrency,
        timeoutMs: opts.timeoutMs,
        port: opts.port,
        ...(opts.holdMs !== undefined ? { holdMs: opts.holdMs } : {}),
        ...(opts.pairs ? { pairs: true } : {}),
      });
      emit(!!opts.json, result, () =>
        [
          `made ${result.made}, succeeded ${result.succeeded}, failed ${result.failed}`,
          ...Object.entries(result.servedBy).map(([pod, n]) => `  ${pod}: ${n}`),
          ...Object.entries(result.errors).map(([err, n]) => `  failed with ${err}: ${n}`),
          ...(result.pairs ? [`pairs: ${result.pairs.sent} sent, ${result.pairs.bothAnswered} answered twice, ${result.pairs.split} answered by two pods`] : []),
        ].join('\n'),
      );
      if (result.made > 0 && result.succeeded === 0) process.exitCode = 3;
    });

  lab
    .command('truth')
    .argument('<lab>', 'lab name')
    .option('--since <ms>', 'only requests at or after this time (ms since the epoch)', Number, 0)
    .option('--json', 'print machine-readable JSON')
    .description('for every pod, the client addresses its echo server saw and how often')
    .action(async (name: string, opts: { since: number; json?: boolean }) => {
      const { labTruth } = await loadLab();
      const truth = labTruth(name, opts.since);
      emit(!!opts.json, truth, () =>
        table([
          ['POD', 'NODE', 'SEEN CLIENT ADDRESS', 'COUNT', 'REAL CLIENT (PROXY)'],
          ...truth.flatMap((p) =>
            Object.entries(p.seen).map(([addr, n]) => [`${p.namespace}/${p.pod}`, p.node, addr, n, Object.keys(p.realClients ?? {}).join(',') || '-']),
          ),
        ]),
      );
    });

  lab
    .command('down')
    .argument('<lab>', 'lab name')
    .option('--json', 'print machine-readable JSON')
    .description('remove everything the lab made, even after a crash')
    .action(async (name: string, opts: { json?: boolean }) => {
      const { labDown } = await loadLab();
      const result = await labDown(name);
      emit(!!opts.json, result, () => `removed ${result.removed.length} namespaces of lab ${name}`);
    });

  lab
    .command('list')
    .option('--json', 'print machine-readable JSON')
    .description('the labs on this host')
    .action(async (opts: { json?: boolean }) => {
      const { listLabs, readState, summarize } = await loadLab();
      const labs = listLabs().map((name) => summarize(readState(name)));
      emit(!!opts.json, labs, () =>
        table([['LAB', 'KUBE-PROXY', 'NODES', 'PODS', 'SERVICES'], ...labs.map((l) => [l.name, l.kubeProxy.mode, l.nodes.length, l.pods.length, l.services.length])]),
      );
    });

  return lab;
}
