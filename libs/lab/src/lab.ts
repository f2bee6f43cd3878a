import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { EDGE_NODE_SIDE_ADDRESS, PROXY_HEALTHZ_PORT, ResolvedLab, ResolvedService, resolveLab, serviceKey } from './topology/addressing';
import { parseMasqueradePortRange, ProxyMode, Topology } from './topology/topology.schema';
import { buildInventory } from './inventory/build-inventory';
import { renderLabNodeRules } from './kube-proxy/lab-node-rules';
import { KUBE_PROXY_NFACCT_COUNTERS } from './kube-proxy/render-iptables';
import { applyConntrackZone, renderZoneRules } from './cni/conntrack-zone';
import { KubeEndpointSlice, KubeService } from '@natlens/shared-model';
import { applyRules, buildNetwork, createNamespace, destroyNamespace, ensureNfacctCounters, existingNamespaces } from './runtime/network-builder';
import { launchDaemon, runOnce, waitForFiles } from './runtime/daemon-launcher';
import { IptablesFlavour, LabState, labDir, namespacesFor, readState, statePath, writeState } from './runtime/lab-state';
import { checkPrerequisites } from './runtime/prerequisites';
import { PodTruth, readPodTruth, truthFileName } from './truth/ground-truth';
import type { EchoServerConfig } from './daemons/echo-server';
import type { HealthServerConfig } from './daemons/health-server';
import type { LoadBalancerConfig, LoadBalancerStatus } from './daemons/load-balancer';
import type { TrafficConfig, TrafficResult } from './daemons/traffic-client';
import { nextUdpSourcePort, parseUdpSourcePort } from './daemons/udp-source-ports';

export interface LabUpOptions {
  iptables?: IptablesFlavour;
  /** kube-proxy's mode on every node; overrides the topology's `kubeProxy.mode`. */
  proxyMode?: ProxyMode;
  /** How often the load balancer checks node health (ms). */
  healthCheckIntervalMs?: number;
  log?: Logger;
}

export interface LabSummary {
  name: string;
  nodes: { name: string; netns: string; addresses: string[] }[];
  pods: { namespace: string; name: string; node: string; netns: string; ip: string }[];
  clients: { name: string; netns: string; address: string }[];
  services: { namespace: string; name: string; type: string; clusterIP: string; loadBalancerIP?: string; nodePorts: number[]; healthCheckNodePort?: number }[];
  /** How the nodes' kube-proxy runs. */
  kubeProxy: { mode: ProxyMode };
  inventory: string;
  truth: string;
}

const READY_TIMEOUT_MS = 30_000;

export function inventoryPath(name: string): string {
  return join(labDir(name), 'inventory.json');
}

export function truthDir(name: string): string {
  return join(labDir(name), 'truth');
}

/** Where a node's kube-proxy rules are written: `<node>.rules` (iptables-restore) or `<node>.nft` (nft -f). */
export function rulesPath(name: string, node: string, extension = 'rules'): string {
  return join(labDir(name), 'rules', `${node}.${extension}`);
}

/** Builds the lab; on any failure removes what it made and rethrows. */
export async function labUp(topology: Topology, options: LabUpOptions = {}): Promise<LabSummary> {
  const resolved = resolveLab(topology);
  const lab: ResolvedLab = options.proxyMode ? { ...resolved, kubeProxy: { ...resolved.kubeProxy, mode: options.proxyMode } } : resolved;
  await checkPrerequisites(options.iptables ?? 'nft', lab.kubeProxy.mode);
  const dir = labDir(lab.name);
  if ((await existingNamespaces()).some((ns) => ns.startsWith(`${lab.name}-`)) || safeExists(statePath(lab.name))) {
    throw new Error(`a lab named "${lab.name}" already exists; remove it with \`natlens lab down ${lab.name}\` or pick another name`);
  }
  const ns = namespacesFor(lab);
  const state: LabState = {
    name: lab.name,
    createdAt: new Date().toISOString(),
    iptables: options.iptables ?? 'nft',
    namespaces: [],
    processes: [],
    lab,
    netns: ns,
    ready: false,
  };
  for (const sub of ['truth', 'rules', 'logs', 'run']) mkdirSync(join(dir, sub), { recursive: true });
  writeState(state);
  const log = options.log;
  try {
    const all = [ns.edge, ...Object.values(ns.nodes), ...Object.values(ns.pods), ...Object.values(ns.clients)];
    for (const netns of all) {
      // Recorded before it exists: a crash between the two leaves a name `lab down` tolerates, never an orphan.
      state.namespaces.push(netns);
      writeState(state);
      await createNamespace(netns);
    }
    log?.info({ lab: lab.name, namespaces: all.length }, 'namespaces created');
    await buildNetwork(lab, ns);

    const inventory = buildInventory(lab);
    writeFileSync(inventoryPath(lab.name), JSON.stringify(inventory, null, 2));
    const services = inventory.items.filter((o): o is KubeService => o.kind === 'Service');
    const endpointSlices = inventory.items.filter((o): o is KubeEndpointSlice => o.kind === 'EndpointSlice');
    const mode = lab.kubeProxy.mode;
    for (const node of lab.nodes) {
      const netns = ns.nodes[node.name] as string;
      // iptables mode: kube-proxy's metrics counters first, as kube-proxy makes them before its first sync
      const nfacctCounters = mode === 'iptables' && (await ensureNfacctCounters(netns, KUBE_PROXY_NFACCT_COUNTERS));
      if (mode === 'iptables' && !nfacctCounters) log?.warn({ node: node.name }, 'nfacct counters could not be created (apt-get install nfacct); rendering without them, as kube-proxy would');
      state.nfacctCounters = nfacctCounters;
      const range = lab.kubeProxy.masqueradePortRange;
      const rules = renderLabNodeRules({ mode, node, services, endpointSlices, nfacctCounters, ...(range ? { masqueradePorts: parseMasqueradePortRange(range) } : {}) });
      const file = rulesPath(lab.name, node.name, rules.extension);
      writeFileSync(file, rules.text);
      await applyRules(netns, file, mode, state.iptables);
      if (node.conntrackZone !== undefined) {
        // A CNI's zone beside kube-proxy's rules: in the raw table (iptables mode) or a table of its own (nftables).
        const zoneFile = join(dir, 'rules', `${node.name}.conntrack-zone`);
        writeFileSync(zoneFile, renderZoneRules(node.conntrackZone, mode));
        await applyConntrackZone(netns, zoneFile, mode, state.iptables);
      }
    }
    writeState(state);
    log?.info({ lab: lab.name, proxyMode: mode }, 'network and kube-proxy rules in place');

    await startDaemons(lab, state, options);
    state.ready = true;
    writeState(state);
    log?.info({ lab: lab.name }, 'lab ready');
    return summarize(state);
  } catch (err) {
    log?.error({ lab: lab.name, err: (err as Error).message }, 'lab up failed; removing what was made');
    await labDown(lab.name).catch(() => undefined);
    throw err;
  }
}

function safeExists(path: string): boolean {
  try {
    readFileSync(path);
    return true;
  } catch {
    return false;
  }
}

async function startDaemons(lab: ResolvedLab, state: LabState, options: LabUpOptions): Promise<void> {
  const dir = labDir(lab.name);
  const ready: string[] = [];
  const readyFile = (id: string) => {
    const f = join(dir, 'run', `${id}.ready`);
    ready.push(f);
    return f;
  };
  const logFile = (id: string) => join(dir, 'logs', `${id}.log`);

  for (const pod of lab.pods) {
    const servicePorts = lab.services.filter((s) => s.endpoints.includes(pod)).flatMap((s) => s.ports);
    const targetPorts = (protocol: 'TCP' | 'UDP') => [...new Set(servicePorts.filter((p) => p.protocol === protocol).map((p) => p.targetPort))];
    const ports = targetPorts('TCP');
    const udpPorts = targetPorts('UDP');
    if (ports.length === 0 && udpPorts.length === 0) continue;
    const id = `echo-${pod.namespace}-${pod.name}`;
    const netns = state.netns.pods[`${pod.namespace}/${pod.name}`] as string;
    const config: EchoServerConfig = {
      namespace: pod.namespace,
      pod: pod.name,
      node: pod.node,
      podIP: pod.address,
      ports,
      udpPorts,
      truthFile: join(truthDir(lab.name), truthFileName(pod.namespace, pod.name)),
      readyFile: readyFile(id),
    };
    writeFileSync(config.truthFile, '');
    state.processes.push({ role: 'echo', netns, pid: launchDaemon(netns, 'echo', config, logFile(id)), subject: `${pod.namespace}/${pod.name}` });
  }

  for (const node of lab.nodes) {
    const id = `health-${node.name}`;
    const netns = state.netns.nodes[node.name] as string;
    const config: HealthServerConfig = {
      node: node.name,
      proxyHealthzPort: PROXY_HEALTHZ_PORT,
      services: lab.services
        .filter((s) => s.healthCheckNodePort !== undefined)
        .map((s) => ({
          namespace: s.namespace,
          name: s.name,
          healthCheckNodePort: s.healthCheckNodePort as number,
          localEndpoints: s.endpoints.filter((p) => p.node === node.name).length,
        })),
      readyFile: readyFile(id),
    };
    state.processes.push({ role: 'health', netns, pid: launchDaemon(netns, 'health', config, logFile(id)), subject: node.name });
  }

  // The load balancer's first health check must find every node's server listening, or it would start with a
  // wrong set of nodes and move flows (resetting them) once the stragglers answer.
  writeState(state);
  await waitForFiles(ready, READY_TIMEOUT_MS, `lab ${lab.name}`);

  const balanced = lab.services.filter((s) => s.loadBalancerIP);
  if (balanced.length > 0) {
    const config: LoadBalancerConfig = {
      intervalMs: options.healthCheckIntervalMs ?? 1000,
      timeoutMs: 1000,
      unhealthyThreshold: 2,
      nodes: lab.nodes.map((n) => ({ name: n.name, address: n.address })),
      services: balanced.map((s) => ({
        key: serviceKey(s),
        ip: s.loadBalancerIP as string,
        mode: s.loadBalancerMode ?? 'forward',
        distribution: s.loadBalancerDistribution ?? 'per-node',
        ports: s.ports.map((p) => ({ port: p.port, nodePort: p.nodePort as number })),
        healthCheck: s.healthCheckNodePort ? { port: s.healthCheckNodePort, path: '/healthz' } : { port: PROXY_HEALTHZ_PORT, path: '/healthz' },
      })),
      statusFile: join(dir, 'load-balancer.json'),
      readyFile: readyFile('load-balancer'),
    };
    state.processes.push({
      role: 'load-balancer',
      netns: state.netns.edge,
      pid: launchDaemon(state.netns.edge, 'load-balancer', config, logFile('load-balancer')),
      subject: balanced.map(serviceKey).join(','),
    });
  }
  writeState(state);
  await waitForFiles(ready, READY_TIMEOUT_MS, `lab ${lab.name}`);
}

export function summarize(state: LabState): LabSummary {
  const { lab, netns } = state;
  return {
    name: lab.name,
    nodes: lab.nodes.map((n) => ({ name: n.name, netns: netns.nodes[n.name] as string, addresses: [n.address, n.podGateway] })),
    pods: lab.pods.map((p) => ({ namespace: p.namespace, name: p.name, node: p.node, netns: netns.pods[`${p.namespace}/${p.name}`] as string, ip: p.address })),
    clients: lab.clients.map((c) => ({ name: c.name, netns: netns.clients[c.name] as string, address: c.address })),
    services: lab.services.map((s) => ({
      namespace: s.namespace,
      name: s.name,
      type: s.type,
      clusterIP: s.clusterIP,
      ...(s.loadBalancerIP ? { loadBalancerIP: s.loadBalancerIP } : {}),
      nodePorts: s.ports.map((p) => p.nodePort).filter((p): p is number => p !== undefined),
      ...(s.healthCheckNodePort ? { healthCheckNodePort: s.healthCheckNodePort } : {}),
    })),
    // a lab made before kube-proxy modes existed ran iptables
    kubeProxy: { mode: lab.kubeProxy?.mode ?? 'iptables' },
    inventory: inventoryPath(lab.name),
    truth: truthDir(lab.name),
  };
}

/**
 * Removes everything a lab made: its processes, its namespaces (and with them every veth, bridge, route and
 * iptables rule), and its directory. Works from the state file alone, whatever state the lab was left in.
 */
export async function labDown(name: string): Promise<{ removed: string[] }> {
  let namespaces: string[];
  try {
    namespaces = readState(name).namespaces;
  } catch {
    // No state file (a crash before it was written, or a second `down`): fall back to the naming convention.
    const roles = ['edge', 'node-', 'pod-', 'client-'];
    namespaces = (await existingNamespaces()).filter((ns) => roles.some((r) => ns.startsWith(`${name}-${r}`)));
  }
  for (const netns of [...namespaces].reverse()) await destroyNamespace(netns);
  rmSync(labDir(name), { recursive: true, force: true });
  return { removed: namespaces };
}

export type TrafficVia = { kind: 'node'; node: string } | { kind: 'lb' } | { kind: 'pod'; namespace: string; name: string };

export function parseVia(via: string): TrafficVia {
  if (via === 'lb') return { kind: 'lb' };
  const pod = /^pod:([^/]+)\/(.+)$/.exec(via);
  if (pod) return { kind: 'pod', namespace: pod[1] as string, name: pod[2] as string };
  if (via.startsWith('pod:')) throw new Error(`--via ${via}: write a pod as pod:<namespace>/<name>`);
  return { kind: 'node', node: via };
}

export interface TrafficOptions {
  service: string;
  via: TrafficVia;
  client?: string;
  connections: number;
  concurrency?: number;
  timeoutMs?: number;
  port?: string;
  /** TCP: open all connections at once and hold them open this long (SNAT port exhaustion). */
  holdMs?: number;
  /** UDP: each connection is a pair of queries sent at once from one source port (the DNS race). */
  pairs?: boolean;
}

export interface TrafficTarget {
  netns: string;
  host: string;
  port: number;
  /** The Service port's protocol: UDP sends one datagram per connection. */
  protocol: 'tcp' | 'udp';
}

/** Where a connection goes and from which namespace, for one `lab traffic` request. */
export function trafficTarget(state: LabState, options: TrafficOptions): TrafficTarget {
  const { lab, netns } = state;
  const svc = lab.services.find((s) => serviceKey(s) === options.service);
  if (!svc) throw new Error(`no service ${options.service} in lab ${lab.name}; it has: ${lab.services.map(serviceKey).join(', ')}`);
  const port = pickPort(svc, options.port);
  const protocol = port.protocol === 'UDP' ? 'udp' : 'tcp';
  const via = options.via;
  if (via.kind === 'pod') {
    const key = `${via.namespace}/${via.name}`;
    const podNs = netns.pods[key];
    if (!podNs) throw new Error(`no pod ${key} in lab ${lab.name}`);
    return { netns: podNs, host: svc.clusterIP, port: port.port, protocol };
  }
  const clientName = options.client ?? lab.clients[0]?.name;
  const clientNs = clientName ? netns.clients[clientName] : undefined;
  if (!clientName || !clientNs) throw new Error(`no client ${options.client ?? ''} in lab ${lab.name}; add one under clients: in the topology`);
  if (via.kind === 'lb') {
    if (!svc.loadBalancerIP) throw new Error(`${options.service} is type ${svc.type}: only LoadBalancer services have an LB to go through`);
    return { netns: clientNs, host: svc.loadBalancerIP, port: port.port, protocol };
  }
  const node = lab.nodes.find((n) => n.name === via.node);
  if (!node) throw new Error(`--via ${via.node}: not a node of lab ${lab.name} (nodes: ${lab.nodes.map((n) => n.name).join(', ')}), nor lb or pod:<ns>/<name>`);
  if (port.nodePort === undefined) throw new Error(`${options.service} is type ClusterIP: it has no node port; use --via pod:<ns>/<name>`);
  return { netns: clientNs, host: node.address, port: port.nodePort, protocol };
}

function pickPort(svc: ResolvedService, name?: string) {
  const port = name === undefined ? svc.ports[0] : svc.ports.find((p) => p.name === name || String(p.port) === name);
  if (!port) throw new Error(`${serviceKey(svc)} has no port ${name}`);
  return port;
}

export async function labTraffic(name: string, options: TrafficOptions): Promise<TrafficResult> {
  const state = readState(name);
  const target = trafficTarget(state, options);
  const timeoutMs = options.timeoutMs ?? 1500;
  const concurrency = options.concurrency ?? 16;
  const config: TrafficConfig = { host: target.host, port: target.port, connections: options.connections, concurrency, timeoutMs, protocol: target.protocol };
  if (options.holdMs !== undefined) {
    if (target.protocol !== 'tcp') throw new Error(`${options.service}: held connections are for TCP ports; this one is UDP (try --pairs)`);
    config.holdMs = options.holdMs;
  }
  if (options.pairs) {
    if (target.protocol !== 'udp') throw new Error(`${options.service}: pairs of queries are for UDP ports; this one is TCP (try --hold-ms)`);
    config.pairs = true;
  }
  if (target.protocol === 'udp') config.firstSourcePort = claimUdpSourcePorts(name, options.connections);
  // generous: every connection could time out, one batch of `concurrency` at a time (a pair at a time; all at once)
  const batches = options.pairs ? options.connections : options.holdMs !== undefined ? 2 : Math.ceil(options.connections / concurrency);
  return runOnce<TrafficResult>(target.netns, 'traffic', config, 60_000 + (options.holdMs ?? 0) + batches * timeoutMs * 2);
}

/**
 * The first of `count` UDP source ports no recent datagram of this lab used (udp-source-ports.ts). The counter is
 * read and written synchronously, so the runs one process starts at once (the demo's ticks) never share ports.
 */
function claimUdpSourcePorts(name: string, count: number): number {
  const file = join(labDir(name), 'run', 'udp-source-port');
  let stored: string | undefined;
  try {
    stored = readFileSync(file, 'utf8');
  } catch {
    stored = undefined;
  }
  const first = parseUdpSourcePort(stored);
  writeFileSync(file, String(nextUdpSourcePort(first, count)));
  return first;
}

export function labTruth(name: string, since = 0): PodTruth[] {
  const state = readState(name);
  return state.lab.pods
    .filter((pod) => state.lab.services.some((s) => s.endpoints.some((e) => e.namespace === pod.namespace && e.name === pod.name)))
    .map((pod) => readPodTruth(truthDir(name), { namespace: pod.namespace, name: pod.name, node: pod.node }, since));
}

export function labLoadBalancerStatus(name: string): LoadBalancerStatus | undefined {
  try {
    return JSON.parse(readFileSync(join(labDir(name), 'load-balancer.json'), 'utf8')) as LoadBalancerStatus;
  } catch {
    return undefined;
  }
}

export { EDGE_NODE_SIDE_ADDRESS };
