import { PROXY_MODES } from '@natlens/lab/testing';
import { expectRecordsEqualTruth, SCENARIOS, useLabAgents } from './lab-agent-suite';

/*
 * The agent against the real kernel with the conntrack source (`--source conntrack`; the default is the best
 * available, eBPF here: lab-agents-ebpf.spec.ts): one `natlens agent` inside each node namespace of a lab, exporting to
 * a real HTTP receiver, for every example, under kube-proxy's iptables and nftables modes (conntrack holds the same
 * translations whichever wrote the NAT rules). Every connection the pods saw (the lab's ground truth) must come out as
 * exactly one entry-leg record with the right Service, endpoint pod, entry node, verdict and client address as the
 * pod saw it; connections that crossed nodes also produce exactly one forwarded leg.
 */
const cases = SCENARIOS.flatMap((scenario) => PROXY_MODES.map((proxyMode) => ({ ...scenario, proxyMode })));

describe.each(cases)('agents in lab $example, kube-proxy $proxyMode mode (real kernel)', (scenario) => {
  const suite = useLabAgents(scenario.example, 'conntrack', scenario.proxyMode);

  it('records every connection the pods saw exactly once, with the right pod, entry node, verdict and client', async () => {
    await expectRecordsEqualTruth(suite, scenario, 'conntrack');
  });
});
