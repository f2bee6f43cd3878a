import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { loadAgentConfig } from '@natlens/agent-daemon';
import { loadHubConfig } from '@natlens/hub-server';
import { AGENT_NODE_FLAGS, relaunchCommand } from '../launch/node-flags';

/*
 * docker-compose.yml at the repository root cannot be run here (no container engine on the build machines), so this
 * checks its wiring instead: every URL one service uses names another service (or the host port it publishes), the
 * settings pass the hub's and the agent's own config validation, and the agent has only the capabilities it needs.
 */
type Service = { image?: string; command?: string[]; entrypoint?: string[]; environment?: Record<string, string>; ports?: string[]; network_mode?: string; cap_add?: string[]; privileged?: boolean; volumes?: string[]; depends_on?: unknown };
const root = join(__dirname, '..', '..', '..', '..');
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, Service> };
const services = compose.services;
const TOKEN = 'compose-token-0123456789abcdef';
/** Compose's ${VAR:?message} / ${VAR:-default} with VAR=NATLENS_TOKEN set, as the .env the comments ask for. */
const interpolate = (env: Record<string, string> = {}) =>
  Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v.replace(/\$\{(\w+)(?::[?-]([^}]*))?\}/g, (_, name: string, fallback: string) => (name === 'NATLENS_TOKEN' ? TOKEN : fallback ?? ''))]));
const service = (name: string): Service => {
  const s = services[name];
  if (!s) throw new Error(`docker-compose.yml has no service ${name}`);
  return s;
};

describe('docker-compose.yml', () => {
  it('has PostgreSQL, NATS, two hub replicas, the dashboard and an agent', () => {
    expect(Object.keys(services).sort()).toEqual(['agent', 'dashboard', 'hub-1', 'hub-2', 'nats', 'postgres']);
    expect(service('nats').command).toEqual(expect.arrayContaining(['-js']));
  });

  it.each(['hub-1', 'hub-2'])('%s stores in the compose PostgreSQL and consumes from the compose NATS, with a valid config', (name) => {
    const env = interpolate(service(name).environment);
    const config = loadHubConfig({}, env, () => '');
    const store = new URL(config.store);
    const pg = service('postgres').environment ?? {};
    expect([store.protocol, store.hostname, store.port || '5432', store.username, store.password, store.pathname.slice(1)]).toEqual(['postgres:', 'postgres', '5432', pg['POSTGRES_USER'], pg['POSTGRES_PASSWORD'], pg['POSTGRES_DB']]);
    expect(config.bus).toBe('nats://nats:4222');
    expect(config.ingestTokens).toEqual([TOKEN]);
    expect(service(name).command).toEqual(['hub', '--port', '8470']);
  });

  it('points the dashboard at a hub replica with the shared token', () => {
    const env = interpolate(service('dashboard').environment);
    const hub = new URL(env['NATLENS_HUB_URL'] ?? '');
    expect(services[hub.hostname]?.command).toEqual(['hub', '--port', hub.port]);
    expect(env['NATLENS_HUB_TOKEN']).toBe(TOKEN);
    // the dashboard's own server (sessions, TLS, proxy trust), not Next's standalone server.js
    expect(service('dashboard').entrypoint).toEqual(['node', 'dist/apps/dashboard/apps/dashboard/server/serve.mjs']);
    expect(env['PORT']).toBe('3000');
  });

  it('runs the agent on the host network with only NET_ADMIN, BPF, PERFMON and SYS_RESOURCE, publishing to the NATS port the host sees', async () => {
    const agent = service('agent');
    expect(agent.network_mode).toBe('host');
    expect(agent.privileged).toBeUndefined();
    expect([...(agent.cap_add ?? [])].sort()).toEqual(['BPF', 'NET_ADMIN', 'PERFMON', 'SYS_RESOURCE']);
    expect(agent.volumes).toEqual(expect.arrayContaining(['/sys/kernel/btf:/sys/kernel/btf:ro']));
    const env = interpolate(agent.environment);
    const bus = new URL(env['NATLENS_BUS'] ?? '');
    expect(service('nats').ports).toContain(`${bus.hostname}:${bus.port}:4222`);
    const inventory = agent.command?.[agent.command.indexOf('--inventory') + 1];
    const config = loadAgentConfig({ inventory }, env, () => '');
    expect(config).toMatchObject({ bus: 'nats://127.0.0.1:4222', node: 'natlens-host', spoolDir: '/var/lib/natlens/spool', readTokens: [TOKEN] });
    expect(config.hub).toBeUndefined();
  });

  it("starts the agent with its Node flags on node's command line, so natlens does not relaunch itself in the container", async () => {
    const entrypoint = service('agent').entrypoint ?? [];
    expect(entrypoint).toEqual(['node', ...AGENT_NODE_FLAGS, 'bin/natlens']);
    const execArgv = entrypoint.slice(1, -1);
    expect(relaunchCommand({ execPath: 'node', execArgv, script: 'bin/natlens', args: service('agent').command ?? [], env: {} })).toBeUndefined();
  });
});
