import { readFileSync } from 'node:fs';
import { FIXTURES_DIR } from '../testing';
import { parseConntrackDump, type ConntrackDumpEntry } from './conntrack-dump';
import { openConntrackDumpStream } from './conntrack-dump-stream';

async function readAll(bytes: Buffer, chunkSize: number, workerThresholdBytes: number) {
  const sut = openConntrackDumpStream({ workerThresholdBytes, maxErrors: 5 });
  const entries: ConntrackDumpEntry[] = [];
  try {
    for (let i = 0; i < bytes.length; i += chunkSize) {
      sut.push(bytes.subarray(i, i + chunkSize));
      entries.push(...sut.take());
    }
    const threaded = sut.threaded;
    const summary = await sut.end();
    entries.push(...sut.take());
    return { entries, summary, threaded };
  } finally {
    sut.close();
  }
}

describe('openConntrackDumpStream', () => {
  const xml = readFileSync(`${FIXTURES_DIR}/np-cluster-node3.conntrack.xml`);

  it.each([
    ['in place (below the threshold)', 1 << 20, false],
    ['in a worker thread', 0, true],
  ])('reads a real dump %s to what the reader makes of it', async (_how, threshold, threaded) => {
    const result = await readAll(xml, 333, threshold);
    const { entries, summary } = result;
    expect(result.threaded).toBe(threaded);
    const expected = parseConntrackDump(xml);
    expect(entries).toEqual(expected.entries);
    expect(summary).toEqual({ format: 'xml', errors: [], errorCount: 0 });
  });

  it('moves to the worker when the dump passes the threshold, handing out each entry once, in order', async () => {
    const result = await readAll(xml, 100, 1500);
    expect(result.threaded).toBe(true);
    expect(result.entries).toEqual(parseConntrackDump(xml).entries);
  });

  it('brings the worker\'s errors back as ParseErrors with their offsets, capped and counted', async () => {
    const bytes = Buffer.from(`<conntrack>\n${'<flow>'.repeat(1000)}`);
    const { summary, threaded } = await readAll(bytes, 100, 0);
    expect(threaded).toBe(true);
    expect(summary.errorCount).toBe(1000);
    expect(summary.errors.map((e) => [e.name, e.offset])).toEqual([0, 1, 2, 3, 4].map((i) => ['ParseError', 12 + 6 * i]));
  });
});
