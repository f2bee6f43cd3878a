import { KubeEndpointSlice, KubeService } from '@natlens/shared-model';
import { CLUSTER_CIDR, ResolvedNode, SERVICE_CIDR } from '../topology/addressing';
import { ProxyMode } from '../topology/topology.schema';
import { KubeProxyNode } from './kube-proxy-node';
import { iptablesRestoreFile, renderIptablesRules } from './render-iptables';
import { renderNftablesRules } from './render-nftables';

/*
 * kube-proxy as a lab node runs it, with each mode's defaults: the iptables mode takes node ports on every local
 * address (127.0.0.1 included, hence route_localnet), the nftables mode on the node's primary IP only
 * (`--nodeport-addresses primary`, its default since it cannot serve 127.0.0.1).
 */

export interface LabNodeRules {
  mode: ProxyMode;
  /** The file extension of its rules: `.rules` (iptables-restore) or `.nft` (nft -f). */
  extension: string;
  text: string;
}

export interface LabNodeRulesInput {
  mode: ProxyMode;
  node: ResolvedNode;
  services: KubeService[];
  endpointSlices: KubeEndpointSlice[];
  /** Whether kube-proxy's nfacct counters exist in the node (iptables mode adds `-m nfacct` matches then). */
  nfacctCounters: boolean;
  /** The topology's `kubeProxy.masqueradePortRange`, parsed. */
  masqueradePorts?: { min: number; max: number };
}

export function labKubeProxyNode(node: ResolvedNode): KubeProxyNode {
  return { nodeName: node.name, nodeIP: node.address, nodeAddresses: ['127.0.0.1', node.address, node.podGateway], clusterCidr: CLUSTER_CIDR };
}

export function renderLabNodeRules(input: LabNodeRulesInput): LabNodeRules {
  const base = {
    ...labKubeProxyNode(input.node),
    services: input.services,
    endpointSlices: input.endpointSlices,
    ...(input.masqueradePorts ? { masqueradePorts: input.masqueradePorts } : {}),
  };
  if (input.mode === 'nftables') {
    return { mode: 'nftables', extension: 'nft', text: renderNftablesRules({ ...base, nodePortAddresses: ['primary'], serviceCidrs: [SERVICE_CIDR] }) };
  }
  const rules = renderIptablesRules({ ...base, localhostNodePorts: true, nfacctCounters: input.nfacctCounters, randomFully: true });
  return { mode: 'iptables', extension: 'rules', text: iptablesRestoreFile(rules) };
}
