import { indexFromInventoryFile, LAB_SEEDS_INVENTORY } from '@natlens/shared-cluster/testing';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import pino from 'pino';
import { AgentMetrics } from '../metrics/agent-metrics';
import { enrichConnection } from '@natlens/agent-records';
import type { ObservedConnection } from '@natlens/agent-records';
import { readCapture, type CaptureRecord } from '@natlens/agent-pcap';
import { CaptureSource, tcpdumpArguments, type CaptureProcess, type CaptureSourceOptions } from './capture.source';
import { servicePortFilter } from './capture-filter';
import { findTcpdump } from './tcpdump-process';

// Captures made in the lab (libs/agent/pcap/src/fixtures/README.md says how), read as tcpdump's stdout would be.
const FIXTURES = join(__dirname, '..', '..', '..', 'pcap', 'src', 'fixtures');
// The seeds lab's inventory (examples/seeds.yaml): default/web is a Local-policy LoadBalancer on node port 30080 with
// web-1 (198.19.1.11) on node1 and no pod on node3, like the labs the fixtures were captured in.
const index = indexFromInventoryFile(LAB_SEEDS_INVENTORY);
const cluster = { current: () => index, onChange: () => () => undefined };

class ScriptedTcpdump implements CaptureProcess {
  readonly stdout = new PassThrough();
  readonly stderr = new PassThrough();
  private exit: ((code: number | null, signal: string | null) => void) | undefined;
  killed = false;
  onExit(listener: (code: number | null, signal: string | null) => void): void {
    this.exit = listener;
  }
  onError(): void {
    // never fails to start
  }
  kill(): void {
    this.killed = true;
    this.exit?.(null, 'SIGTERM');
  }
  /** Writes the file in small chunks, as a pipe delivers it. */
  async play(file: string): Promise<void> {
    const bytes = readFileSync(join(FIXTURES, file));
    for (let at = 0; at < bytes.length; at += 333) {
      this.stdout.write(bytes.subarray(at, at + 333));
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
}

/** Resolves once `condition` holds (the live reader hands records over asynchronously, as a pipe does). */
async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function setup(options: Partial<CaptureSourceOptions> = {}): { sut: CaptureSource; spawned: { args: string[]; process: ScriptedTcpdump }[]; observed: ObservedConnection[] } {
  const spawned: { args: string[]; process: ScriptedTcpdump }[] = [];
  const observed: ObservedConnection[] = [];
  const sut = new CaptureSource(
    (args) => {
      const process = new ScriptedTcpdump();
      spawned.push({ args, process });
      return process;
    },
    cluster,
    new AgentMetrics(),
    pino({ level: 'silent' }),
    { interfaces: ['any'], pollIntervalMs: 60_000, ...options },
  );
  void sut.start({ observe: (batch) => observed.push(...batch), tableSynced: () => undefined });
  return { sut, spawned, observed };
}

describe('CaptureSource', () => {
  it('runs tcpdump on the Services\' ports and writes pcap to stdout', () => {
    const { sut, spawned } = setup();
    expect(servicePortFilter(index)).toMatch(/^tcp and \(.*port 30080.*\)$/);
    expect(spawned.map((s) => s.args)).toEqual([tcpdumpArguments('any', servicePortFilter(index))]);
    expect(spawned[0]?.args).toEqual(expect.arrayContaining(['-w', '-', '-U', '-i', 'any']));
    sut.stop();
    expect(spawned[0]?.process.killed).toBe(true);
  });

  it('turns the PROXY v2 connection of the lab LB into a proxied record naming the real client', async () => {
    const { sut, spawned, observed } = setup();
    await spawned[0]?.process.play('lb-proxy-protocol-node1-any.pcap');
    sut.poll(Date.now());
    expect(observed).toHaveLength(1);
    const record = enrichConnection(observed[0] as ObservedConnection, index, 'node1');
    expect(record).toMatchObject({
      source: 'pcap',
      verdict: 'proxied',
      realClient: { ip: '198.51.100.79', port: 58094 },
      original: { src: '198.18.0.254', dst: '198.18.0.11', dport: 30080 },
      translated: { src: '198.18.0.254', dst: '198.19.1.11', dport: 8080 },
      dnat: true,
      snat: false,
      // the LB delivered it to the node port, and its PROXY header says so
      service: { name: 'web', entry: 'loadBalancer', via: 'nodePort', viaBasis: 'proxy-header', externalTrafficPolicy: 'Local' },
      endpoint: { pod: 'web-1' },
      ended: true,
    });
    sut.stop();
  });

  it('turns unanswered SYNs on a node without a local endpoint into dropped-no-local-endpoint', async () => {
    const { sut, spawned, observed } = setup();
    await spawned[0]?.process.play('np-local-node3-any-drop.pcap');
    sut.poll(Date.now());
    expect(observed).toMatchObject([{ source: 'pcap', kind: 'destroy', dropped: true, state: 'UNANSWERED' }]);
    const record = enrichConnection(observed[0] as ObservedConnection, index, 'node3');
    expect(record).toMatchObject({ verdict: 'dropped-no-local-endpoint', service: { name: 'web' }, original: { src: '198.51.100.79', dst: '198.18.0.13', dport: 30080 } });
    // the same observation on node1, which has local endpoints, is not a no-local-endpoint drop
    expect(enrichConnection(observed[0] as ObservedConnection, index, 'node1').verdict).not.toBe('dropped-no-local-endpoint');
    sut.stop();
  });

  it('gives up a corrupted stream, counts it, and starts tcpdump again', async () => {
    const { sut, spawned } = setup({ restartDelayMs: 10 });
    const bytes = Buffer.from(readFileSync(join(FIXTURES, 'lb-proxy-protocol-node1-any.pcap')));
    const sixth = readCapture(bytes).records[5] as CaptureRecord;
    bytes.writeUInt32LE(0x4000_0000, sixth.offset + 8); // the sixth record's captured length: 1 GiB
    spawned[0]?.process.stdout.write(bytes);
    await until(() => spawned.length === 2);
    expect(spawned[0]?.process.killed).toBe(true);
    expect(sut.status()).toMatchObject({ fileErrors: 1, packets: 5, restarts: 1, running: ['any'] });
    // the new tcpdump's stream is read from its own start
    await spawned[1]?.process.play('lb-proxy-protocol-node1-any.pcap');
    await until(() => (sut.status()['packets'] as number) === 5 + 36);
    expect(sut.status()).toMatchObject({ fileErrors: 1 });
    sut.stop();
  });

  it('observes only once every tcpdump says it is listening, and again after a restart', async () => {
    const { sut, spawned } = setup();
    expect(sut.observing()).toBe(false);
    spawned[0]?.process.stderr.write('tcpdump: data link type LINUX_SLL2\n');
    await new Promise((r) => setImmediate(r));
    expect(sut.observing()).toBe(false);
    spawned[0]?.process.stderr.write('tcpdump: listening on any, link-type LINUX_SLL2 (Linux cooked v2), snapshot length 262144 bytes\n');
    await new Promise((r) => setImmediate(r));
    expect([sut.observing(), sut.status()['listening']]).toEqual([true, ['any']]);
    spawned[0]?.process.kill(); // tcpdump died: the source no longer sees anything until the next one listens
    expect(sut.observing()).toBe(false);
    sut.stop();
  });

  it('says how to get tcpdump when it is missing', () => {
    expect(() => findTcpdump('/nonexistent', [])).toThrow(/needs tcpdump.*apt-get install tcpdump/);
  });
});
