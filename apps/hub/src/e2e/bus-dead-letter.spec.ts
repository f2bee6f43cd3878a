import { agentInboxPrefix, agentNatsUser, HUB_INBOX_PREFIX, natsClientOptions, type NatsClientAuth, renderNatsAuthorization } from '@natlens/shared-auth';
import type { FlowBatch } from '@natlens/shared-model';
import { connect, type NatsConnection } from 'nats';
import { Client as PgClient } from 'pg';
import { flowRecord, startTestHub, startTestPostgres, type TestHub, type TestPostgres } from '@natlens/hub-server/testing';

/*
 * A batch the store always refuses, for real: Debian's nats-server with natlens's users (the hub's consume-only user
 * must be allowed to publish dead letters), a private PostgreSQL whose `flows` table refuses node "poison" (a trigger,
 * as a constraint or a bad row would), and the hub consuming in-process with max_deliver 3. The batch is delivered
 * exactly three times, then kept in the dead-letter stream and counted; other nodes' batches flow past it; the hub's
 * /metrics shows the stream's fill against its limits and the backlog while the batch waits.
 */
type NatsTestServerModule = typeof import('@natlens/agent-daemon/testing');

const HUB_PASSWORD = 'hub-nats-password-0123456789';
const AGENT_PASSWORD = 'agent-nats-password-0123456789';
const ADMIN_PASSWORD = 'admin-nats-password-0123456789';
const MAX_DELIVER = 3;
const STREAM_MAX_BYTES = 64 << 20;

async function waitFor(condition: () => Promise<boolean> | boolean, timeoutMs: number, what: () => string | Promise<string>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${await what()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const batchOf = (node: string, count = 1): FlowBatch => ({ node, sentAt: Date.now(), records: Array.from({ length: count }, () => flowRecord({ node })) });

describe('a batch that always fails: max_deliver, then the dead-letter stream', () => {
  let nats: Awaited<ReturnType<NatsTestServerModule['startTestNatsServer']>>;
  let pg: TestPostgres;
  let hub: TestHub;
  const connections: NatsConnection[] = [];

  const open = async (auth: NatsClientAuth) => {
    const nc = await connect({ servers: nats.url, timeout: 3000, ...natsClientOptions(auth) });
    connections.push(nc);
    return nc;
  };
  const agent = (node: string) => open({ user: agentNatsUser(node), password: AGENT_PASSWORD, inboxPrefix: agentInboxPrefix(node) });
  const metrics = async () => (await fetch(`${hub.hub.url}/metrics`)).text();
  const metric = async (name: string) => {
    const line = (await metrics()).split('\n').find((l) => l.startsWith(`${name} `));
    return line === undefined ? undefined : Number(line.split(' ')[1]);
  };

  beforeAll(async () => {
    const { startTestNatsServer } = await import('@natlens/agent-daemon/testing');
    const authorization = renderNatsAuthorization({
      hub: { user: 'natlens-hub', password: HUB_PASSWORD },
      agents: ['node1', 'poison'].map((node) => ({ node, credential: { user: agentNatsUser(node), password: AGENT_PASSWORD } })),
    });
    // an operator's user with no restrictions, to read the dead letters as `nats stream view` would
    const withAdmin = authorization.replace(/\n {2}\]\n\}\n$/, `\n    { user: "admin", password: "${ADMIN_PASSWORD}" }\n  ]\n}\n`);
    expect(withAdmin).toContain('user: "admin"');
    nats = await startTestNatsServer({ config: withAdmin });
    // The stream and consumer as a hub before max_deliver left them (deliveries unlimited): the hub updates them.
    const admin = await open({ user: 'admin', password: ADMIN_PASSWORD });
    const jsm = await admin.jetstreamManager();
    await jsm.streams.add({ name: 'NATLENS_FLOWS', subjects: ['natlens.flows.>', 'natlens.nodes.>'], max_bytes: STREAM_MAX_BYTES });
    await jsm.consumers.add('NATLENS_FLOWS', { durable_name: 'natlens-hub', ack_policy: 'explicit' as never, filter_subject: 'natlens.flows.>' });
    expect((await jsm.consumers.info('NATLENS_FLOWS', 'natlens-hub')).config.max_deliver).toBe(-1);
    pg = startTestPostgres();
    hub = await startTestHub({
      store: pg.url,
      bus: nats.url,
      busAuth: { user: 'natlens-hub', password: HUB_PASSWORD },
      busAckWaitMs: 2000,
      busMaxDeliver: MAX_DELIVER,
      busStreamMaxBytes: STREAM_MAX_BYTES,
    });
    await waitFor(async () => ((await hub.request('GET', '/healthz')).body as { bus?: { state?: string } }).bus?.state === 'consuming', 20_000, async () => JSON.stringify((await hub.request('GET', '/healthz')).body));
    // The store refuses every record of node "poison", whatever the batch: the hub's migrations made `flows`.
    const client = new PgClient({ connectionString: pg.url });
    await client.connect();
    try {
      await client.query(`CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN IF NEW.node = 'poison' THEN RAISE EXCEPTION 'the store refuses node poison (test trigger)'; END IF; RETURN NEW; END $$`);
      await client.query('CREATE TRIGGER refuse_poison BEFORE INSERT OR UPDATE ON flows FOR EACH ROW EXECUTE FUNCTION refuse_poison()');
    } finally {
      await client.end();
    }
  }, 90_000);

  afterAll(async () => {
    for (const nc of connections) await nc.close().catch(() => undefined);
    await hub?.close();
    await nats?.dispose();
    pg?.stop();
  });

  it('delivers it max_deliver times, publishes it to natlens-deadletter.<node>, counts it, and lets other batches through', async () => {
    const poison = batchOf('poison', 2);
    const poisonBody = new TextEncoder().encode(JSON.stringify(poison));
    const poisonAgent = (await agent('poison')).jetstream();
    const published = await poisonAgent.publish('natlens.flows.poison', poisonBody, { msgID: 'poison:000001' });
    await (await agent('node1')).jetstream().publish('natlens.flows.node1', new TextEncoder().encode(JSON.stringify(batchOf('node1', 3))));
    await waitFor(async () => (await hub.hub.repository.countFlows()) === 3, 20_000, async () => `${await hub.hub.repository.countFlows()} stored`);

    // While it waits for its next delivery it is the backlog: one batch, as old as it is, against the stream's limits.
    let backlogSeen = { messages: 0, bytes: 0, oldestAgeSeconds: 0 };
    await waitFor(
      async () => {
        const [messages, bytes, oldestAgeSeconds] = [await metric('natlens_hub_bus_backlog_messages'), await metric('natlens_hub_bus_backlog_bytes'), await metric('natlens_hub_bus_backlog_oldest_age_seconds')];
        if ((messages ?? 0) >= 1 && (oldestAgeSeconds ?? 0) > 0) backlogSeen = { messages: messages ?? 0, bytes: bytes ?? 0, oldestAgeSeconds: oldestAgeSeconds ?? 0 };
        return backlogSeen.messages >= 1;
      },
      15_000,
      async () => (await metrics()).split('\n').filter((l) => /natlens_hub_bus_(backlog|stream)/.test(l)).join('\n'),
    );
    expect(backlogSeen.bytes).toBeGreaterThan(0);
    expect(backlogSeen.oldestAgeSeconds).toBeLessThan(60);

    await waitFor(async () => (await metric('natlens_hub_bus_dead_lettered_batches_total')) === 1, 30_000, async () => (await metrics()).split('\n').filter((l) => /natlens_hub_bus_/.test(l) && !l.startsWith('#')).join('\n'));
    expect(await metric('natlens_hub_bus_failed_batches_total')).toBe(MAX_DELIVER);

    // The dead letter: the batch unchanged, with where it came from and why it was given up.
    const admin = await open({ user: 'admin', password: ADMIN_PASSWORD });
    const jsm = await admin.jetstreamManager();
    const deadLetters = await jsm.streams.info('NATLENS_DEADLETTER');
    expect(deadLetters.state.messages).toBe(1);
    const letter = await jsm.streams.getMessage('NATLENS_DEADLETTER', { last_by_subj: 'natlens-deadletter.poison' });
    expect(letter.subject).toBe('natlens-deadletter.poison');
    expect(new TextDecoder().decode(letter.data)).toBe(JSON.stringify(poison));
    expect({
      subject: letter.header.get('Natlens-Original-Subject'),
      sequence: letter.header.get('Natlens-Stream-Sequence'),
      messageId: letter.header.get('Natlens-Original-Msg-Id'),
      deliveries: letter.header.get('Natlens-Deliveries'),
      problem: letter.header.get('Natlens-Problem'),
    }).toEqual({ subject: 'natlens.flows.poison', sequence: String(published.seq), messageId: 'poison:000001', deliveries: String(MAX_DELIVER), problem: expect.stringMatching(/refuses node poison/) });

    // Never delivered again: past another ack wait and nak delay, still 3 + 1 deliveries, and no backlog.
    await new Promise((r) => setTimeout(r, 7000));
    expect(await metric('natlens_hub_bus_consumed_batches_total')).toBe(MAX_DELIVER + 1);
    const consumer = await jsm.consumers.info('NATLENS_FLOWS', 'natlens-hub');
    expect({ pending: consumer.num_pending, ackPending: consumer.num_ack_pending, maxDeliver: consumer.config.max_deliver }).toEqual({ pending: 0, ackPending: 0, maxDeliver: MAX_DELIVER });
    await waitFor(async () => (await metric('natlens_hub_bus_backlog_messages')) === 0, 10_000, async () => `${await metric('natlens_hub_bus_backlog_messages')} in the backlog`);
    expect(await metric('natlens_hub_bus_backlog_oldest_age_seconds')).toBe(0);
    expect(await hub.hub.repository.countFlows()).toBe(3);
  }, 90_000);

  it('dead-letters a batch whose dead letter was refused at its last delivery, from the max-deliveries advisory', async () => {
    const admin = await open({ user: 'admin', password: ADMIN_PASSWORD });
    const jsm = await admin.jetstreamManager();
    const failedBefore = (await metric('natlens_hub_bus_failed_batches_total')) ?? 0;
    // The dead-letter stream is full and refuses new messages while the batch has its last delivery.
    const deadLetterConfig = (await jsm.streams.info('NATLENS_DEADLETTER')).config;
    await jsm.streams.update('NATLENS_DEADLETTER', { ...deadLetterConfig, max_msgs: 1, discard: 'new' as never });
    const poison = batchOf('poison', 1);
    const published = await (await agent('poison')).jetstream().publish('natlens.flows.poison', new TextEncoder().encode(JSON.stringify(poison)));
    await waitFor(async () => (await metric('natlens_hub_bus_failed_batches_total')) === failedBefore + MAX_DELIVER, 30_000, async () => `${await metric('natlens_hub_bus_failed_batches_total')} failed`);
    await new Promise((r) => setTimeout(r, 1000));
    expect(await metric('natlens_hub_bus_dead_lettered_batches_total')).toBe(1);
    // The operator makes room; the server gives up on the batch (max_deliver) and a hub replica hears it.
    await jsm.streams.update('NATLENS_DEADLETTER', deadLetterConfig);
    await waitFor(async () => (await metric('natlens_hub_bus_dead_lettered_batches_total')) === 2, 30_000, async () => (await metrics()).split('\n').filter((l) => /dead_letter|failed/.test(l)).join('\n'));
    const letter = await jsm.streams.getMessage('NATLENS_DEADLETTER', { last_by_subj: 'natlens-deadletter.poison' });
    expect(new TextDecoder().decode(letter.data)).toBe(JSON.stringify(poison));
    expect({ sequence: letter.header.get('Natlens-Stream-Sequence'), deliveries: letter.header.get('Natlens-Deliveries'), problem: letter.header.get('Natlens-Problem') }).toEqual({
      sequence: String(published.seq),
      deliveries: String(MAX_DELIVER),
      problem: expect.stringMatching(/not acknowledged in 3 deliveries/),
    });
    expect((await jsm.streams.info('NATLENS_DEADLETTER')).state.messages).toBe(2);
    expect(await metric('natlens_hub_bus_consumed_batches_total')).toBe(2 * MAX_DELIVER + 1);
  }, 90_000);

  it('keeps a batch through a database restart without spending its deliveries: nothing dead-lettered', async () => {
    const before = { stored: await hub.hub.repository.countFlows(), consumed: (await metric('natlens_hub_bus_consumed_batches_total')) ?? 0, failed: (await metric('natlens_hub_bus_failed_batches_total')) ?? 0 };
    const deadLettered = await metric('natlens_hub_bus_dead_lettered_batches_total');
    pg.shutDown();
    try {
      await (await agent('node1')).jetstream().publish('natlens.flows.node1', new TextEncoder().encode(JSON.stringify(batchOf('node1', 2))));
      // longer than max_deliver deliveries 5 s apart would take (3 × 5 s), the store away all along
      await waitFor(async () => ((await metric('natlens_hub_bus_failed_batches_total')) ?? 0) >= before.failed + 4, 30_000, async () => `${await metric('natlens_hub_bus_failed_batches_total')} failed`);
      await new Promise((r) => setTimeout(r, 5000));
    } finally {
      pg.startUp();
    }
    await waitFor(async () => (await hub.hub.repository.countFlows().catch(() => 0)) === before.stored + 2, 30_000, async () => `${await hub.hub.repository.countFlows().catch((e: Error) => e.message)} stored`);
    expect(await metric('natlens_hub_bus_dead_lettered_batches_total')).toBe(deadLettered);
    // one delivery, retried in place
    expect(await metric('natlens_hub_bus_consumed_batches_total')).toBe(before.consumed + 1);
  }, 90_000);

  it("exports the stream's fill against its limits on /metrics", async () => {
    const admin = await open({ user: 'admin', password: ADMIN_PASSWORD });
    const stream = await (await admin.jetstreamManager()).streams.info('NATLENS_FLOWS');
    await waitFor(async () => (await metric('natlens_hub_bus_stream_messages')) === stream.state.messages, 10_000, async () => `${await metric('natlens_hub_bus_stream_messages')} messages on /metrics, ${stream.state.messages} in the stream`);
    expect({
      bytes: await metric('natlens_hub_bus_stream_bytes'),
      maxBytes: await metric('natlens_hub_bus_stream_max_bytes'),
      maxAgeSeconds: await metric('natlens_hub_bus_stream_max_age_seconds'),
    }).toEqual({ bytes: stream.state.bytes, maxBytes: STREAM_MAX_BYTES, maxAgeSeconds: 24 * 3600 });
  });

  it('lets the hub publish dead letters but still no records, and agents no dead letters', async () => {
    const hubConnection = await open({ user: 'natlens-hub', password: HUB_PASSWORD, inboxPrefix: HUB_INBOX_PREFIX });
    const refused = await hubConnection
      .jetstream()
      .publish('natlens.flows.node1', new TextEncoder().encode(JSON.stringify(batchOf('node1'))))
      .then(() => 'published', (err: { code?: string }) => err.code);
    expect(refused).toBe('PERMISSIONS_VIOLATION');
    const agentRefused = await (await agent('poison'))
      .jetstream()
      .publish('natlens-deadletter.poison', new TextEncoder().encode('{}'))
      .then(() => 'published', (err: { code?: string }) => err.code);
    expect(agentRefused).toBe('PERMISSIONS_VIOLATION');
  });
});
