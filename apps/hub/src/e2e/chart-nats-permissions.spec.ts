import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { agentInboxPrefix, agentPermissions, HUB_INBOX_PREFIX, hubPermissions, natsClientOptions } from '@natlens/shared-auth';
import { connect, type NatsConnection } from 'nats';
import { ensureFlowStream } from '../bus/flow-stream';

/*
 * The Helm chart's bundled NATS server renders its users from deploy/helm/natlens/files/nats-permissions.json (Helm
 * cannot run our code). It must grant exactly what natlens' own renderer grants (libs/shared/auth; per-node users are
 * tested in bus-auth.spec.ts): the hub's permissions as they are, and the shared agent user those of every node at
 * once (the node's subject token a wildcard). Then a real nats-server runs the users block the way
 * templates/bundled-nats.yaml writes it (passwords from the environment).
 */
const root = join(__dirname, '..', '..', '..', '..');
const chart = JSON.parse(readFileSync(join(root, 'deploy', 'helm', 'natlens', 'files', 'nats-permissions.json'), 'utf8')) as { hub: unknown; sharedAgent: unknown };
const agentSrc = join(root, 'apps', 'agent', 'src');
type NatsTestServerModule = typeof import('../../../agent/src/export/nats-test-server');

describe("the chart's NATS permissions", () => {
  it("are the hub's", () => {
    expect(chart.hub).toEqual(hubPermissions());
  });

  it("are every agent node's at once for the shared agent user", () => {
    const anyNode = JSON.parse(JSON.stringify(agentPermissions('node-x')).replace(/node-x/g, '*')) as unknown;
    expect(chart.sharedAgent).toEqual(anyNode);
  });

  describe('on a real nats-server, written as the chart writes them', () => {
    let nats: Awaited<ReturnType<NatsTestServerModule['startTestNatsServer']>>;
    const connections: NatsConnection[] = [];
    beforeAll(async () => {
      const { startTestNatsServer } = (await import(join(agentSrc, 'export', 'nats-test-server'))) as NatsTestServerModule;
      nats = await startTestNatsServer({
        config: [
          'authorization {',
          '  users = [',
          `    { user: "natlens-hub", password: $NATLENS_HUB_NATS_PASSWORD, permissions: ${JSON.stringify(chart.hub)} }`,
          `    { user: "natlens-agent", password: $NATLENS_AGENT_NATS_PASSWORD, permissions: ${JSON.stringify(chart.sharedAgent)} }`,
          '  ]',
          '}',
        ].join('\n'),
        // nats-server resolves $NATLENS_…_PASSWORD from its environment, as in the chart's StatefulSet
        env: { NATLENS_HUB_NATS_PASSWORD: 'chart-hub-password', NATLENS_AGENT_NATS_PASSWORD: 'chart-agent-password' },
      });
    });
    afterAll(async () => {
      for (const nc of connections) await nc.close().catch(() => undefined);
      await nats?.dispose();
    });
    const open = async (user: string, password: string, inboxPrefix: string) => {
      const nc = await connect({ servers: nats.url, timeout: 3000, ...natsClientOptions({ user, password, inboxPrefix }) });
      connections.push(nc);
      return nc;
    };
    const code = (promise: Promise<unknown>) => promise.then(() => 'ok', (err: { code?: string }) => err.code ?? 'error');

    it('lets the hub make the stream, agents publish any node, and nobody purge or publish what is not theirs', async () => {
      const hub = await open('natlens-hub', 'chart-hub-password', HUB_INBOX_PREFIX);
      expect(await ensureFlowStream(await hub.jetstreamManager(), { maxAgeMs: 3600_000, maxBytes: 64 << 20 })).toBe('created');
      const agent = await open('natlens-agent', 'chart-agent-password', agentInboxPrefix('node1'));
      const body = new TextEncoder().encode('{}');
      expect(await code(agent.jetstream().publish('natlens.flows.node1', body))).toBe('ok');
      expect(await code(agent.jetstream().publish('natlens.flows.node2', body))).toBe('ok');
      expect(await code((await agent.jetstreamManager({ checkAPI: false })).streams.purge('NATLENS_FLOWS'))).toBe('PERMISSIONS_VIOLATION');
      expect(await code(hub.jetstream().publish('natlens.flows.node1', body))).toBe('PERMISSIONS_VIOLATION');
      expect(await code((await hub.jetstreamManager()).streams.purge('NATLENS_FLOWS'))).toBe('PERMISSIONS_VIOLATION');
      expect(await code(connect({ servers: nats.url, timeout: 3000 }))).toBe('AUTHORIZATION_VIOLATION');
    });
  });
});
