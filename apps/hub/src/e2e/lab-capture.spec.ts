import type { ServiceEvidence } from '@natlens/shared-analysis';
import type { FlowRecord } from '@natlens/shared-model';
import type { PodTruth } from '@natlens/lab';
import { waitForHealthCheckProbers } from '@natlens/lab/testing';
import { useLabHub } from './lab-hub-suite';

/*
 * The proxying load balancers of the lab on the real kernel, with two or three record sources in every node agent
 * (conntrack over netlink, the eBPF program, tcpdump on every interface of the node's namespace), into the hub
 * (SQLite) and its evidence, compared with what the echo pods recorded:
 *
 * - lb-proxy-protocol: the LB sends a PROXY v2 header naming the client; the pods' sockets show the LB's address,
 *   the header shows alice. The evidence must count alice as the client as sent, every connection as `proxied`,
 *   and say that the client IP reaches the pods via PROXY protocol.
 * - lb-proxy-xff: the LB is an HTTP proxy that adds X-Forwarded-For: the same, read from the request's headers in the
 *   first payload bytes the capture sees.
 * - lb-proxy: the LB is a plain TCP proxy and forwards the HTTP request unchanged, without X-Forwarded-For: nothing
 *   names the client, so the LB is the only client there is, and no connection may claim otherwise.
 *
 * Every pair of sources: each connection counted once although two or three sources saw it (the merge in
 * apps/agent/src/pipeline), its identity from the best-ranked source (conntrack, then eBPF), and its real client
 * from the capture whenever the capture runs. eBPF with the capture is the default path and the one that lost the
 * real client of most connections (their END came before the capture's report: ebpf.source.ts onBatch).
 * eBPF with conntrack reads no payload, so there the LB stays the client and nothing may claim a proxy.
 */
const ALICE = '198.51.100.79';
const LB = '198.18.0.254';

interface Scenario {
  example: string;
  /** The agents' `--source`. */
  sources: string;
  connections: number;
  /** Ground truth: the LB names the client in a header (PROXY v2, X-Forwarded-For). */
  header: boolean;
  /** What the evidence must say: the clients as sent, and whether every connection is `proxied`. */
  distinctOriginal: string[];
  proxied: boolean;
}

const PROXY_PROTOCOL = { example: 'lb-proxy-protocol.yaml', connections: 40, header: true };
const withCapture = (sources: string): Scenario[] => [
  { ...PROXY_PROTOCOL, sources, distinctOriginal: [ALICE], proxied: true },
  { example: 'lb-proxy-xff.yaml', sources, connections: 40, header: true, distinctOriginal: [ALICE], proxied: true },
  { example: 'lb-proxy.yaml', sources, connections: 40, header: false, distinctOriginal: [LB], proxied: false },
];

const scenarios: Scenario[] = [
  ...withCapture('conntrack,pcap'),
  ...withCapture('ebpf,pcap'),
  { ...PROXY_PROTOCOL, sources: 'ebpf,conntrack,pcap', distinctOriginal: [ALICE], proxied: true },
  // no capture, nothing reads the header: the LB is the client the evidence can see
  { ...PROXY_PROTOCOL, sources: 'ebpf,conntrack', distinctOriginal: [LB], proxied: false },
];

/** The source whose identity a merged record keeps: the best-ranked one running (source-merge.ts RANK). */
const decidingSource = (sources: string): FlowRecord['source'] => (['conntrack', 'ebpf', 'pcap'] as const).find((s) => sources.split(',').includes(s)) ?? 'pcap';

describe.each(scenarios)('--source $sources, lab $example (real kernel → agents → hub)', ({ example, sources, connections, header, distinctOriginal, proxied }) => {
  // the agents are ready (their tcpdumps listen) before the first connection
  const { lab, agents, hub: testHub } = useLabHub(example, ['--source', sources]);

  it(proxied ? 'shows the real client the header carried, and counts each connection once' : 'shows the load balancer as the only client, and counts each connection once', async () => {
    await waitForHealthCheckProbers(agents);
    const since = Date.now() - 1000;
    expect((await lab.traffic({ service: 'default/web', via: { kind: 'lb' }, client: 'alice', connections })).failed).toBe(0);
    const truth: PodTruth[] = lab.truth(since);
    const served = truth.reduce((sum, p) => sum + Object.values(p.seen).reduce((a, b) => a + b, 0), 0);
    expect(served).toBe(connections);
    // ground truth: what the echo servers read from the PROXY header (nothing without one)
    const realClients = truth.flatMap((p) => Object.keys(p.realClients ?? {}));
    expect([...new Set(realClients)]).toEqual(header ? [ALICE] : []);

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
    // past the merge's hold: a capture record left unjoined, or a late re-send the hub took for older, would show now
    await new Promise((r) => setTimeout(r, 6000));
    e = await evidence();

    expect(e.connections).toBe(connections);
    expect(e.byVerdict).toEqual(proxied ? { proxied: connections } : { preserved: connections });
    expect(e.byEntry).toMatchObject({ loadBalancer: connections, nodePort: 0 });
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

    // the records: one per connection, from the best-ranked source (its identity and translation), with the capture's client
    const res = await testHub().request('GET', `/api/flows?service=default/web&from=${since}&limit=1000`);
    const flows = (res.body as { flows: FlowRecord[] }).flows.filter((f) => f.leg === 'entry');
    expect(flows).toHaveLength(connections);
    // distinct connections by their whole original tuple: the proxy's connections to two nodes may share a source port
    expect(new Set(flows.map((f) => `${f.original.src}:${f.original.sport}>${f.original.dst}:${f.original.dport}`)).size).toBe(connections);
    for (const flow of flows) {
      expect(flow).toMatchObject({ source: decidingSource(sources), original: { src: LB }, snat: false, dnat: true });
      // the LB delivered to the node port: its entry, told apart by the header, else by its health checks
      expect(flow.service).toMatchObject({ entry: 'loadBalancer', via: 'nodePort', viaBasis: proxied ? 'proxy-header' : 'health-check-prober' });
      if (proxied) expect(flow.realClient?.ip).toBe(ALICE);
      else expect(flow.realClient).toBeUndefined();
    }
    if (proxied) {
      const byClient = await testHub().request('GET', `/api/flows?service=default/web&client=${ALICE}&from=${since}&limit=1000`);
      expect((byClient.body as { flows: FlowRecord[] }).flows.filter((f) => f.leg === 'entry')).toHaveLength(connections);
    }
  });
});
