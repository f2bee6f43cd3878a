import { flowRecord, startTestHub, TEST_READ_TOKEN, type TestHub } from '../testing';
import { MAX_BUFFERED_PER_CLIENT } from './live.gateway';

/*
 * A client that stops reading: it speaks engine.io's polling transport by hand, joins default/web, and never polls
 * again, so everything the hub sends it waits in the server's write buffer. The hub must drop it from the room
 * rather than buffer without limit.
 */
describe('a live client that cannot keep up', () => {
  let sut: TestHub;
  beforeAll(async () => {
    sut = await startTestHub();
  });
  afterAll(async () => {
    await sut.close();
  });

  async function stalledSubscriber(service: string): Promise<void> {
    const open = await fetch(`${sut.hub.url}/socket.io/?EIO=4&transport=polling&service=${encodeURIComponent(service)}`);
    const handshake = await open.text();
    const sid = (JSON.parse(handshake.slice(1)) as { sid: string }).sid;
    const connect = await fetch(`${sut.hub.url}/socket.io/?EIO=4&transport=polling&sid=${sid}`, { method: 'POST', body: `40/live,${JSON.stringify({ token: TEST_READ_TOKEN })}` });
    expect(await connect.text()).toBe('ok');
    // from here on the client never polls
  }

  async function droppedCount(): Promise<number> {
    const text = await (await fetch(`${sut.hub.url}/metrics`)).text();
    return Number(/natlens_hub_live_dropped_total\{reason="slow-client"\} (\d+)/.exec(text)?.[1] ?? 0);
  }

  it('is removed from its room once its backlog passes the limit', async () => {
    await stalledSubscriber('default/web');
    const batch = () => Array.from({ length: MAX_BUFFERED_PER_CLIENT / 2 + 1 }, () => flowRecord({ service: { namespace: 'default', name: 'web' } }));
    await sut.ingest(batch());
    expect(await droppedCount()).toBe(0);
    await sut.ingest(batch());
    await sut.ingest(batch());
    expect(await droppedCount()).toBe(1);
    await sut.ingest(batch());
    expect(await droppedCount()).toBe(1); // no longer in the room: nothing more is queued for it
  });
});
