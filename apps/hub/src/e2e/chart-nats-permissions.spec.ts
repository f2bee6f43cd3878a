import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { agentInboxPrefix, agentPermissions, HUB_INBOX_PREFIX, hubPermissions, natsClientOptions } from '@natlens/shared-auth';
import { startTestHub, type TestHub } from '@natlens/hub-server/testing';
import { connect, type NatsConnection } from 'nats';
import { parseAllDocuments } from 'yaml';

/*
 * The Helm chart's bundled NATS server takes its users from deploy/helm/natlens/files/nats-permissions.json (Helm
 * cannot run our code). It must grant exactly what natlens' own renderer grants (libs/shared/auth; per-node users are
 * tested in bus-auth.spec.ts): the hub's permissions as they are, and the shared agent user those of every node at
 * once (the node's subject token a wildcard). Then a real nats-server runs the `authorization` block helm renders
 * into the chart's ConfigMap, with the passwords in the environment variables the chart's StatefulSet sets; the hub
 * consumes under its user and agents publish under theirs.
 */
const root = join(__dirname, '..', '..', '..', '..');
const chart = JSON.parse(readFileSync(join(root, 'deploy', 'helm', 'natlens', 'files', 'nats-permissions.json'), 'utf8')) as { hub: unknown; sharedAgent: unknown };

interface RenderedObject {
  kind: string;
  data?: Record<string, string>;
  spec?: { template: { spec: { containers: { env?: { name: string; valueFrom?: { secretKeyRef?: { key: string } } }[] }[] } } };
}

/** The chart's bundled-nats.yaml as helm renders it for a default install (helm from tools/k8s/k8s-tools.js). */
function renderBundledNats(): RenderedObject[] {
  const helm = execFileSync(process.execPath, [join(root, 'tools', 'k8s', 'k8s-tools.js'), 'helm'], { encoding: 'utf8' }).trim();
  const text = execFileSync(helm, ['template', 'natlens', join(root, 'deploy', 'helm', 'natlens'), '--namespace', 'natlens', '--show-only', 'templates/bundled-nats.yaml'], { encoding: 'utf8' });
  return parseAllDocuments(text).map((doc) => doc.toJS() as RenderedObject).filter((o) => o !== null);
}

/** The `authorization { … }` block of a nats-server configuration (braces balanced; permissions are JSON inside). */
function authorizationBlock(conf: string): string {
  const start = conf.indexOf('authorization {');
  if (start < 0) throw new Error(`no authorization block in the chart's nats.conf:\n${conf}`);
  let depth = 0;
  for (let i = conf.indexOf('{', start); i < conf.length; i++) {
    if (conf[i] === '{') depth++;
    else if (conf[i] === '}' && --depth === 0) return conf.slice(start, i + 1);
  }
  throw new Error(`the chart's authorization block is not closed:\n${conf}`);
}

describe("the chart's NATS permissions", () => {
  it("are the hub's", () => {
    expect(chart.hub).toEqual(hubPermissions());
  });

  it("are every agent node's at once for the shared agent user", () => {
    const anyNode = JSON.parse(JSON.stringify(agentPermissions('node-x')).replace(/node-x/g, '*')) as unknown;
    expect(chart.sharedAgent).toEqual(anyNode);
  });

  describe('on a real nats-server, as the chart renders them', () => {
    let nats: Awaited<ReturnType<typeof import('@natlens/agent-daemon/testing')['startTestNatsServer']>>;
    let hub: TestHub | undefined;
    const connections: NatsConnection[] = [];
    const passwords = { 'nats-hub-password': 'chart-hub-password-0123456789', 'nats-agent-password': 'chart-agent-password-0123456789' };
    beforeAll(async () => {
      const objects = renderBundledNats();
      const conf = objects.find((o) => o.kind === 'ConfigMap')?.data?.['nats.conf'] ?? '';
      // the StatefulSet gives nats-server the hub Secret's passwords under the names the configuration reads
      const env = Object.fromEntries(
        (objects.find((o) => o.kind === 'StatefulSet')?.spec?.template.spec.containers[0]?.env ?? []).map((e) => [e.name, passwords[e.valueFrom?.secretKeyRef?.key as keyof typeof passwords] ?? '']),
      );
      expect(Object.keys(env).sort()).toEqual(['NATLENS_AGENT_NATS_PASSWORD', 'NATLENS_HUB_NATS_PASSWORD']);
      const { startTestNatsServer } = await import('@natlens/agent-daemon/testing');
      nats = await startTestNatsServer({ config: authorizationBlock(conf), env });
    });
    afterAll(async () => {
      for (const nc of connections) await nc.close().catch(() => undefined);
      await hub?.close();
      await nats?.dispose();
    });
    const open = async (user: string, password: string, inboxPrefix: string) => {
      const nc = await connect({ servers: nats.url, timeout: 3000, ...natsClientOptions({ user, password, inboxPrefix }) });
      connections.push(nc);
      return nc;
    };
    const code = (promise: Promise<unknown>) => promise.then(() => 'ok', (err: { code?: string }) => err.code ?? 'error');

    it('lets the hub make the stream and consume, agents publish any node, and nobody purge or publish what is not theirs', async () => {
      hub = await startTestHub({ bus: nats.url, busAuth: { user: 'natlens-hub', password: passwords['nats-hub-password'] }, busAckWaitMs: 2000 });
      const deadline = Date.now() + 20_000;
      let bus: { state?: string } | undefined;
      while (Date.now() < deadline && (bus = ((await hub.request('GET', '/healthz')).body as { bus?: { state?: string } }).bus)?.state !== 'consuming') await new Promise((r) => setTimeout(r, 100));
      expect(bus?.state).toBe('consuming');
      const agent = await open('natlens-agent', passwords['nats-agent-password'], agentInboxPrefix('node1'));
      const body = new TextEncoder().encode('{}');
      expect(await code(agent.jetstream().publish('natlens.flows.node1', body))).toBe('ok');
      expect(await code(agent.jetstream().publish('natlens.flows.node2', body))).toBe('ok');
      expect(await code((await agent.jetstreamManager({ checkAPI: false })).streams.purge('NATLENS_FLOWS'))).toBe('PERMISSIONS_VIOLATION');
      const hubUser = await open('natlens-hub', passwords['nats-hub-password'], HUB_INBOX_PREFIX);
      expect(await code(hubUser.jetstream().publish('natlens.flows.node1', body))).toBe('PERMISSIONS_VIOLATION');
      expect(await code((await hubUser.jetstreamManager()).streams.purge('NATLENS_FLOWS'))).toBe('PERMISSIONS_VIOLATION');
      expect(await code(connect({ servers: nats.url, timeout: 3000 }))).toBe('AUTHORIZATION_VIOLATION');
    });
  });
});
