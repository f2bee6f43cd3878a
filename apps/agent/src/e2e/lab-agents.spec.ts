import { describeAgentsInLab, expectRecordsEqualTruth, expectSources, type LabAgents, runScenarioTraffic, type Scenario, SCENARIOS, useLabAgents, viaNode } from './lab-agent-suite';
import { describeUdpAgentsInLab, UDP_SCENARIOS } from './lab-agent-udp';

/*
 * The agent against the real kernel, with kube-proxy in iptables mode (lab-agents-nftables.spec.ts: nftables mode):
 * for every example, one lab whose nodes each run one `natlens agent` on the default source (eBPF here, with its own
 * netfilter links in its namespace) and one on the conntrack source, each set exporting to a real HTTP receiver.
 * Every connection the pods saw (the lab's ground truth) must come out of each set as exactly one entry-leg record
 * with the right Service, endpoint pod, entry node, verdict and client address as the pod saw it; connections that
 * crossed nodes also produce exactly one forwarded leg; where a Local-policy node has no endpoint, the connections
 * it drops come out as `dropped-no-local-endpoint`, one record per connection.
 */
for (const scenario of SCENARIOS) describeAgentsInLab(scenario, 'iptables');

// Both kernel sources in one agent: the same tuples, so each connection is still one record (conntrack, the
// better-ranked source, owns it).
describe('agents in lab nodeport-cluster.yaml, --source ebpf,conntrack (real kernel)', () => {
  const scenario: Scenario = { example: 'nodeport-cluster.yaml', traffic: [viaNode('node3', 50), viaNode('node1', 30)], verdict: () => 'snat-expected', entry: () => ({ entry: 'nodePort' }) };
  const { lab, sets } = useLabAgents(scenario.example, ['ebpf,conntrack'], 'iptables');
  const merged = sets['ebpf,conntrack'] as LabAgents;

  it('runs both sources in every agent', async () => {
    await expectSources(merged.agents, ['ebpf', 'conntrack']);
  });

  it('records every connection exactly once, as one merged record', async () => {
    await expectRecordsEqualTruth(merged, scenario, await runScenarioTraffic(lab, scenario), 'conntrack');
  });
});

// UDP Services (lab-agent-udp.ts): every datagram is a connection, recorded once, in its node's conntrack zone.
for (const scenario of UDP_SCENARIOS) describeUdpAgentsInLab(scenario, 'iptables');
