import { ResolvedLab, EDGE_CLIENT_SIDE_ADDRESS, EDGE_NODE_SIDE_ADDRESS, NODE_SUBNET_PREFIX, CLIENT_SUBNET_PREFIX } from '../topology/addressing';
import { run, runIn } from './exec';
import { IptablesFlavour, LabNamespaces } from './lab-state';
import { ProxyMode } from '../topology/topology.schema';

/*
 * Builds the lab's network, every command addressed to a namespace of the lab (`ip -n`, `ip netns exec`): the host's
 * own namespace is never touched. Shape:
 *
 *   client ns ──veth── [brclients  edge ns  brnodes] ──veth── node ns [cni0] ──veth── pod ns
 *   198.51.100.x        198.51.100.1   198.18.0.254          198.18.0.1N  198.19.N.1     198.19.N.1K
 *
 * The edge namespace is the clients' router and the load balancer; nodes share one L2 segment (brnodes) and reach
 * each other's pod CIDRs by host routes, as flannel's host-gw backend does.
 */

const EDGE_NODE_BRIDGE = 'brnodes';
const EDGE_CLIENT_BRIDGE = 'brclients';
const POD_BRIDGE = 'cni0';

const NODE_SYSCTLS = [
  'net.ipv4.ip_forward=1',
  // kube-proxy sets this so NodePorts answer on 127.0.0.1 too
  'net.ipv4.conf.all.route_localnet=1',
  // pods on one bridge talking through a Service IP: the reply is bridged, and only br_netfilter lets conntrack undo the DNAT
  'net.bridge.bridge-nf-call-iptables=1',
  'net.ipv4.conf.all.rp_filter=0',
  'net.ipv4.conf.default.rp_filter=0',
];
const EDGE_SYSCTLS = [
  'net.ipv4.ip_forward=1',
  // ECMP hashes on the 4-tuple (policy 1), so each connection of one client may land on a different node
  'net.ipv4.fib_multipath_hash_policy=1',
  'net.ipv4.conf.all.rp_filter=0',
  'net.ipv4.conf.default.rp_filter=0',
];

async function ipn(netns: string, ...args: string[]): Promise<void> {
  await run(['ip', '-n', netns, ...args]);
}

async function sysctl(netns: string, settings: string[]): Promise<void> {
  await runIn(netns, ['sysctl', '-q', '-w', ...settings]);
}

export async function createNamespace(netns: string): Promise<void> {
  await run(['ip', 'netns', 'add', netns]);
  await ipn(netns, 'link', 'set', 'lo', 'up');
}

/** A veth pair with one end in each namespace, created from inside the first so it never exists in the host's. */
async function vethBetween(nsA: string, nameA: string, nsB: string, nameB: string): Promise<void> {
  await ipn(nsA, 'link', 'add', nameA, 'type', 'veth', 'peer', 'name', nameB, 'netns', nsB);
}

export async function buildNetwork(lab: ResolvedLab, ns: LabNamespaces): Promise<void> {
  const edge = ns.edge;
  await sysctl(edge, EDGE_SYSCTLS);
  for (const [bridge, address, prefix] of [
    [EDGE_NODE_BRIDGE, EDGE_NODE_SIDE_ADDRESS, NODE_SUBNET_PREFIX],
    [EDGE_CLIENT_BRIDGE, EDGE_CLIENT_SIDE_ADDRESS, CLIENT_SUBNET_PREFIX],
  ] as const) {
    await ipn(edge, 'link', 'add', bridge, 'type', 'bridge');
    await ipn(edge, 'addr', 'add', `${address}/${prefix}`, 'dev', bridge);
    await ipn(edge, 'link', 'set', bridge, 'up');
  }

  for (const node of lab.nodes) {
    const nodeNs = ns.nodes[node.name] as string;
    const edgeSide = `vn${node.index}`;
    await vethBetween(edge, edgeSide, nodeNs, 'eth0');
    await ipn(edge, 'link', 'set', edgeSide, 'master', EDGE_NODE_BRIDGE, 'up');
    await ipn(nodeNs, 'addr', 'add', `${node.address}/${NODE_SUBNET_PREFIX}`, 'dev', 'eth0');
    await ipn(nodeNs, 'link', 'set', 'eth0', 'up');
    await ipn(nodeNs, 'route', 'add', 'default', 'via', EDGE_NODE_SIDE_ADDRESS);
    await ipn(nodeNs, 'link', 'add', POD_BRIDGE, 'type', 'bridge');
    await ipn(nodeNs, 'addr', 'add', `${node.podGateway}/24`, 'dev', POD_BRIDGE);
    await ipn(nodeNs, 'link', 'set', POD_BRIDGE, 'up');
    for (const other of lab.nodes) {
      if (other !== node) await ipn(nodeNs, 'route', 'add', other.podCidr, 'via', other.address);
    }
    await sysctl(nodeNs, NODE_SYSCTLS);
  }

  const podsOnNode = new Map<string, number>();
  for (const pod of lab.pods) {
    const node = lab.nodes.find((n) => n.name === pod.node);
    if (!node) throw new Error(`pod ${pod.namespace}/${pod.name}: unknown node ${pod.node}`);
    const nodeNs = ns.nodes[node.name] as string;
    const podNs = ns.pods[`${pod.namespace}/${pod.name}`] as string;
    const k = (podsOnNode.get(node.name) ?? 0) + 1;
    podsOnNode.set(node.name, k);
    const nodeSide = `vp${k}`;
    await vethBetween(nodeNs, nodeSide, podNs, 'eth0');
    await ipn(nodeNs, 'link', 'set', nodeSide, 'master', POD_BRIDGE, 'up');
    // kubelet's --hairpin-mode=hairpin-veth: a pod reaching itself through its Service is DNAT'd back to the very
    // port it came in on, which a bridge refuses unless the port is in hairpin mode.
    await ipn(nodeNs, 'link', 'set', nodeSide, 'type', 'bridge_slave', 'hairpin', 'on');
    await ipn(podNs, 'addr', 'add', `${pod.address}/24`, 'dev', 'eth0');
    await ipn(podNs, 'link', 'set', 'eth0', 'up');
    await ipn(podNs, 'route', 'add', 'default', 'via', node.podGateway);
  }

  let c = 0;
  for (const client of lab.clients) {
    c++;
    const clientNs = ns.clients[client.name] as string;
    const edgeSide = `vc${c}`;
    await vethBetween(edge, edgeSide, clientNs, 'eth0');
    await ipn(edge, 'link', 'set', edgeSide, 'master', EDGE_CLIENT_BRIDGE, 'up');
    await ipn(clientNs, 'addr', 'add', `${client.address}/${CLIENT_SUBNET_PREFIX}`, 'dev', 'eth0');
    await ipn(clientNs, 'link', 'set', 'eth0', 'up');
    await ipn(clientNs, 'route', 'add', 'default', 'via', EDGE_CLIENT_SIDE_ADDRESS);
  }

  for (const svc of lab.services) {
    if (!svc.loadBalancerIP) continue;
    if (svc.loadBalancerMode === 'forward') {
      // Until the first health check decides, no node gets the traffic.
      await ipn(edge, 'route', 'add', 'unreachable', `${svc.loadBalancerIP}/32`);
    } else {
      await ipn(edge, 'addr', 'add', `${svc.loadBalancerIP}/32`, 'dev', 'lo');
    }
  }
}

/** Loads a node's kube-proxy rules: iptables-restore (nft or legacy back end), or `nft -f` in nftables mode. */
export async function applyRules(netns: string, rulesFile: string, mode: ProxyMode, flavour: IptablesFlavour): Promise<void> {
  if (mode === 'nftables') {
    await runIn(netns, ['nft', '-f', rulesFile]);
    return;
  }
  const restore = flavour === 'legacy' ? 'iptables-legacy-restore' : 'iptables-restore';
  await runIn(netns, [restore, rulesFile]);
}

export async function saveRules(netns: string, flavour: IptablesFlavour, table?: 'filter' | 'nat'): Promise<string> {
  return runIn(netns, [flavour === 'legacy' ? 'iptables-legacy-save' : 'iptables-save', ...(table ? ['-t', table] : [])]);
}

/** `nft list ruleset` of the namespace: every nftables table in it (iptables-nft's too, if any). */
export async function listRuleset(netns: string): Promise<string> {
  return runIn(netns, ['nft', 'list', 'ruleset']);
}

/**
 * Creates kube-proxy's nfacct counters in the namespace, as kube-proxy does at start (nfnetlink_acct objects are per
 * network namespace). False when they cannot be made (no `nfacct` tool, or a kernel without nfnetlink_acct): kube-proxy
 * then writes its rules without the `-m nfacct` matches, and so does the lab.
 */
export async function ensureNfacctCounters(netns: string, names: readonly string[]): Promise<boolean> {
  for (const name of names) {
    try {
      await runIn(netns, ['nfacct', 'add', name]);
    } catch (err) {
      if (!/exists/i.test((err as Error).message)) return false;
    }
  }
  return true;
}

/** Kills whatever still runs in the namespace, then deletes it; a namespace already gone is fine. */
export async function destroyNamespace(netns: string): Promise<void> {
  const pids = await run(['ip', 'netns', 'pids', netns]).catch(() => '');
  for (const pid of pids.split(/\s+/).filter(Boolean)) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // already exited
    }
  }
  await run(['ip', 'netns', 'del', netns]).catch((err: Error) => {
    if (!/No such file|not found|Invalid argument/.test(err.message)) throw err;
  });
}

export async function existingNamespaces(): Promise<string[]> {
  const out = await run(['ip', 'netns', 'list']);
  return out
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter(Boolean);
}
