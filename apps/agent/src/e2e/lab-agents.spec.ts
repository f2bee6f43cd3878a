import { expectRecordsEqualTruth, SCENARIOS, useLabAgents } from './lab-agent-suite';
import { expectUdpRecordsEqualTruth, UDP_SCENARIOS } from './lab-agent-udp';

/*
 * The agent against the real kernel with the conntrack source (`--source conntrack`; the default is the best
 * available, eBPF here: lab-agents-ebpf.spec.ts): one `natlens agent` inside each node namespace of a lab, exporting to
 * a real HTTP receiver, for every example. Every connection the pods saw (the lab's ground truth) must come out as
 * exactly one entry-leg record with the right Service, endpoint pod, entry node, verdict and client address as the
 * pod saw it; connections that crossed nodes also produce exactly one forwarded leg.
 */
describe.each(SCENARIOS)('agents in lab $example (real kernel)', (scenario) => {
  const suite = useLabAgents(scenario.example, 'conntrack');

  it('records every connection the pods saw exactly once, with the right pod, entry node, verdict and client', async () => {
    await expectRecordsEqualTruth(suite, scenario, 'conntrack');
  });
});

// UDP Services (lab-agent-udp.ts): every datagram is a connection, recorded once, in its node's conntrack zone.
describe.each(UDP_SCENARIOS)('agents in lab $example, UDP (real kernel)', (scenario) => {
  const suite = useLabAgents(scenario.example, 'conntrack');

  it('records every UDP query the pods answered exactly once, with the right pod, entry node, verdict, client and zone', async () => {
    await expectUdpRecordsEqualTruth(suite, scenario, 'conntrack');
  });
});
