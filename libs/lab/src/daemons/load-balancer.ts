import { execFile } from 'node:child_process';
import { writeFileSync, renameSync } from 'node:fs';
import { get } from 'node:http';
import { connect, createServer, Socket } from 'node:net';
import { ForwardedForInserter } from './forwarded-for';
import { formatProxyV2 } from '@natlens/agent-pcap';
import type { Logger } from 'pino';

/*
 * The cloud load balancer in front of the lab, running in the edge namespace.
 * - forward: a packet-forwarding LB (like a cloud NLB or MetalLB in BGP mode): the LB IP is an ECMP route over the
 *   healthy nodes, hashed on the 4-tuple, so packets reach the node with the client's own source address.
 * - proxy / proxy-xff / proxy-protocol: an L7/L4 proxy that terminates TCP and opens its own connection to
 *   node:nodePort, so the node (and the pod) see the LB's address. proxy forwards the bytes unchanged (nothing names
 *   the client); proxy-xff is an HTTP proxy that adds `X-Forwarded-For: <client>` to each request's headers, as L7
 *   load balancers do; proxy-protocol prepends a PROXY v2 header carrying the client.
 * Either way a node is used only while its health check passes (healthCheckNodePort for Local policy, kube-proxy's
 * :10256/healthz for Cluster policy), checked every interval.
 * forward takes a distribution: per-node routes over every healthy node; single-node routes everything to one of them,
 * as MetalLB in L2 mode does (the node that answers ARP for the address): the first healthy node in the topology's
 * order, kept while it stays healthy (no move back when an earlier node recovers), replaced when it fails.
 */
export interface LoadBalancerConfig {
  intervalMs: number;
  timeoutMs: number;
  /** Consecutive failed checks before a node is taken out (cloud LBs default to 2-3): one slow answer is no outage. */
  unhealthyThreshold: number;
  nodes: { name: string; address: string }[];
  services: LoadBalancedService[];
  statusFile: string;
  readyFile: string;
}

export interface LoadBalancedService {
  key: string;
  ip: string;
  mode: 'forward' | 'proxy' | 'proxy-xff' | 'proxy-protocol';
  /** forward only: over every healthy node, or all to one of them. */
  distribution: 'per-node' | 'single-node';
  ports: { port: number; nodePort: number }[];
  healthCheck: { port: number; path: string };
}

export interface LoadBalancerStatus {
  checkedAt: string;
  /** receivingNodes: where the LB sends connections now (every healthy node, or the one a single-node LB chose). */
  services: Record<string, { ip: string; mode: string; distribution: string; healthyNodes: string[]; receivingNodes: string[] }>;
}

/** The nodes a service's traffic goes to: all healthy ones, or one of them, kept while it stays healthy. */
export function receivingNodes(distribution: LoadBalancedService['distribution'], healthy: string[], current: string[] | undefined): string[] {
  if (distribution === 'per-node') return healthy;
  const kept = current?.find((node) => healthy.includes(node));
  if (kept) return [kept];
  return healthy.length > 0 ? [healthy[0] as string] : [];
}

function probe(address: string, port: number, path: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = get({ host: address, port, path, timeout: timeoutMs, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

function ipRoute(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('ip', ['route', ...args], (err, _stdout, stderr) => (err ? reject(new Error(`ip route ${args.join(' ')}: ${stderr}`)) : resolve()));
  });
}

/** ECMP route over the healthy nodes; `unreachable` when none is healthy, so clients fail fast as with a real LB. */
export function forwardRouteArgs(ip: string, nextHops: string[]): string[] {
  if (nextHops.length === 0) return ['replace', 'unreachable', `${ip}/32`];
  if (nextHops.length === 1) return ['replace', `${ip}/32`, 'via', nextHops[0] as string];
  return ['replace', `${ip}/32`, ...nextHops.flatMap((hop) => ['nexthop', 'via', hop])];
}

export async function startLoadBalancer(config: LoadBalancerConfig, log: Logger): Promise<void> {
  const healthy = new Map<string, string[]>();
  const receiving = new Map<string, string[]>();
  const failures = new Map<string, number>();
  const roundRobin = new Map<string, number>();
  const nodeAddress = new Map(config.nodes.map((n) => [n.name, n.address]));

  const checkAll = async () => {
    const status: LoadBalancerStatus = { checkedAt: new Date().toISOString(), services: {} };
    for (const svc of config.services) {
      const results = await Promise.all(
        config.nodes.map((n) => probe(n.address, svc.healthCheck.port, svc.healthCheck.path, config.timeoutMs)),
      );
      const before = healthy.get(svc.key);
      const up = config.nodes
        .filter((node, i) => {
          const key = `${svc.key} ${node.name}`;
          const failed = results[i] ? 0 : (failures.get(key) ?? 0) + 1;
          failures.set(key, failed);
          const wasUp = before ? before.includes(node.name) : false;
          return failed === 0 || (wasUp && failed < config.unhealthyThreshold);
        })
        .map((n) => n.name);
      if (!before || before.join() !== up.join()) {
        const targets = receivingNodes(svc.distribution, up, receiving.get(svc.key));
        log.info({ service: svc.key, healthyNodes: up, receivingNodes: targets }, 'healthy nodes changed');
        if (svc.mode === 'forward') {
          await ipRoute(forwardRouteArgs(svc.ip, targets.map((n) => nodeAddress.get(n) as string)));
        }
        healthy.set(svc.key, up);
        receiving.set(svc.key, targets);
      }
      status.services[svc.key] = { ip: svc.ip, mode: svc.mode, distribution: svc.distribution, healthyNodes: up, receivingNodes: receiving.get(svc.key) ?? [] };
    }
    const tmp = `${config.statusFile}.tmp`;
    writeFileSync(tmp, JSON.stringify(status, null, 2));
    renameSync(tmp, config.statusFile);
  };

  for (const svc of config.services.filter((s) => s.mode !== 'forward')) {
    for (const { port, nodePort } of svc.ports) {
      await new Promise<void>((resolve, reject) => {
        const server = createServer((client) => proxyConnection(svc, client, port, nodePort));
        server.once('error', reject);
        server.listen({ host: svc.ip, port, backlog: 4096 }, () => resolve());
      });
    }
  }

  function proxyConnection(svc: LoadBalancedService, client: Socket, port: number, nodePort: number) {
    const nodes = healthy.get(svc.key) ?? [];
    if (nodes.length === 0) {
      client.destroy();
      return;
    }
    const turn = roundRobin.get(svc.key) ?? 0;
    roundRobin.set(svc.key, turn + 1);
    const target = nodeAddress.get(nodes[turn % nodes.length] as string) as string;
    const upstream = connect({ host: target, port: nodePort });
    if (svc.mode === 'proxy-protocol') {
      upstream.write(
        formatProxyV2(
          { address: client.remoteAddress ?? '0.0.0.0', port: client.remotePort ?? 0 },
          { address: svc.ip, port },
        ),
      );
    }
    if (svc.mode === 'proxy-xff') client.pipe(new ForwardedForInserter(client.remoteAddress ?? '0.0.0.0')).pipe(upstream);
    else client.pipe(upstream);
    upstream.pipe(client);
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close);
    upstream.on('error', close);
    upstream.setTimeout(10_000, close);
  }

  await checkAll();
  writeFileSync(config.readyFile, String(process.pid));
  log.info({ services: config.services.map((s) => `${s.key} ${s.ip} ${s.mode}`) }, 'load balancer ready');
  const loop = async () => {
    try {
      await checkAll();
    } catch (err) {
      log.error({ err: (err as Error).message }, 'health check round failed; retrying next interval');
    }
    setTimeout(loop, config.intervalMs);
  };
  setTimeout(loop, config.intervalMs);
}
