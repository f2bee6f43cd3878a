import { describeAgentsInLab, SCENARIOS } from './lab-agent-suite';
import { describeUdpAgentsInLab, UDP_SCENARIOS } from './lab-agent-udp';

/*
 * lab-agents.spec.ts with kube-proxy in nftables mode: the same examples, agents and ground truth. The NAT is the
 * same (conntrack holds the same translations whichever wrote the rules), but the rules are not: one `ip kube-proxy`
 * table of verdict maps, numgen picking endpoints, and the drop for want of a local endpoint an nftables `drop`
 * verdict in filter-input (no-endpoint-nodeports), which must still come out as `dropped-no-local-endpoint`.
 */
for (const scenario of SCENARIOS) describeAgentsInLab(scenario, 'nftables');
for (const scenario of UDP_SCENARIOS) describeUdpAgentsInLab(scenario, 'nftables');
