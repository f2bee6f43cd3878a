import type { ServiceEvidence } from '@natlens/shared-analysis';
import type { FlowRecord } from '@natlens/shared-model';
import type { PodTruth } from '@natlens/lab';
import { useLabHub } from './lab-hub-suite';

/*
 * The proxying load balancers of the lab on the real kernel, with both record sources in every node agent
 * (`--source conntrack,pcap`: conntrack over netlink and tcpdump on every interface of the node's namespace), into
 * the hub (SQLite) and its evidence, compared with what the echo pods recorded:
 *
 * - lb-proxy-protocol: the LB sends a PROXY v2 header naming the client; the pods' sockets show the LB's address,
 *   the header shows alice. The evidence must count alice as the client as sent, every connection as `proxied`,
 *   and say that the client IP reaches the pods via PROXY protocol.
 * - lb-proxy-xff: the LB is an HTTP proxy that adds X-Forwarded-For: the same, read from the request's headers in the
 *   first payload bytes the capture sees.
 * - lb-proxy: the LB is a plain TCP proxy and forwards the HTTP request unchanged, without X-Forwarded-For: nothing
 *   names the client, so the LB is the only client there is, and no connection may claim otherwise.
 *
 * Both: each connection counted once although two sources saw it (the merge in apps/agent/src/pipeline).
 */
const ALICE = '198.51.100.79';
const LB = '198.18.0.254';

interface Scenario {
  example: string;
  connections: number;
  /** What the evidence must say about clients. */
  distinctOriginal: string[];
  proxied: boolean;
}

const scenarios: Scenario[] = [
  { example: 'lb-proxy-protocol.yaml', connections: 40, distinctOriginal: [ALICE], proxied: true },
  { example: 'lb-proxy-xff.yaml', connections: 40, distinctOriginal: [ALICE], proxied: true },
  { example: 'lb-proxy.yaml', connections: 40, distinctOriginal: [LB], proxied: false },
];

describe.each(scenarios)('capture + conntrack for lab $example (real kernel → agents → hub)', ({ example, connections, distinctOriginal, proxied }) => {
  // the agents are ready (their tcpdumps listen) before the first connection
  const { lab, hub: testHub } = useLabHub(example, ['--source', 'conntrack,pcap']);

  it('shows the real client when a header carried it, and counts each connection once', async () => {
    const since = Date.now() - 1000;
    expect((await lab.traffic({ service: 'default/web', via: { kind: 'lb' }, client: 'alice', connections })).failed).toBe(0);
    const truth: PodTruth[] = lab.truth(since);
    const served = truth.reduce((sum, p) => sum + Object.values(p.seen).reduce((a, b) => a + b, 0), 0);
    expect(served).toBe(connections);
    // ground truth: what the echo servers read from the PROXY header (nothing without one)
    const realClients = truth.flatMap((p) => Object.keys(p.realClients ?? {}));
    expect([...new Set(realClients)]).toEqual(proxied ? [ALICE] : []);

    const evidence = async () => {
      const res = await testHub().request('GET', `/api/services/default/web/evidence?from=${since}&to=${Date.now() + 60_000}`);
      expect(res.status).toBe(200);
      return res.body as ServiceEvidence;
    };
    const settled = (e: ServiceEvidence) => e.connections >= connections && (!proxied || (e.byVerdict.proxied ?? 0) >= connections);
    // the capture reports a connection after its first request is decoded (tcpdump flushes every second)
    const deadline = Date.now() + 30_000;
    let e = await evidence();
    while (!settled(e) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 300));
      e = await evidence();
    }
    await new Promise((r) => setTimeout(r, 6000)); // past the merge's hold: a capture record left unjoined would show now
    e = await evidence();

    expect(e.connections).toBe(connections);
    expect(e.byVerdict).toEqual(proxied ? { proxied: connections } : { preserved: connections });
    expect(e.clients).toEqual({ distinctOriginal: distinctOriginal.length, distinctSeenByPods: 1, viaProxy: proxied ? connections : 0 });
    const perPod = Object.fromEntries(truth.map((p) => [p.pod, Object.values(p.seen).reduce((a, b) => a + b, 0)]));
    expect(Object.fromEntries(e.endpoints.map((ep) => [ep.pod, ep.connections]))).toEqual(perPod);
    const codes = e.findings.map((f) => f.code);
    if (proxied) {
      expect(codes).toContain('proxied-clients');
      expect(e.findings.find((f) => f.code === 'proxied-clients')?.message).toMatch(/client IP reaches the pods via PROXY protocol/);
    } else {
      expect(codes).not.toContain('proxied-clients');
    }

    // the records: one per connection, from conntrack (its flow identity and translation), with the capture's client
    const res = await testHub().request('GET', `/api/flows?service=default/web&from=${since}&limit=1000`);
    const flows = (res.body as { flows: FlowRecord[] }).flows.filter((f) => f.leg === 'entry');
    expect(flows).toHaveLength(connections);
    // distinct connections by their whole original tuple: the proxy's connections to two nodes may share a source port
    expect(new Set(flows.map((f) => `${f.original.src}:${f.original.sport}>${f.original.dst}:${f.original.dport}`)).size).toBe(connections);
    for (const flow of flows) {
      expect(flow).toMatchObject({ source: 'conntrack', original: { src: LB }, snat: false, dnat: true });
      if (proxied) expect(flow.realClient?.ip).toBe(ALICE);
      else expect(flow.realClient).toBeUndefined();
    }
    if (proxied) {
      const byClient = await testHub().request('GET', `/api/flows?service=default/web&client=${ALICE}&from=${since}&limit=1000`);
      expect((byClient.body as { flows: FlowRecord[] }).flows.filter((f) => f.leg === 'entry')).toHaveLength(connections);
    }
  });
});
