import { ConfigError, loadAgentConfig } from '../config/agent-config';

const noFile = (path: string): string => {
  throw new Error(`ENOENT: no such file ${path}`);
};

// The agent's choice of transport (config/agent-config.ts): HTTP to one hub, or NATS JetStream for hub replicas.
describe('loadAgentConfig: the NATS bus', () => {
  it.each([
    [{ bus: 'nats://nats:4222' }, {}, 'nats://nats:4222'],
    [{}, { NATLENS_BUS: 'nats://a:4222, nats://b:4222' }, 'nats://a:4222, nats://b:4222'],
    [{ bus: 'tls://nats.example:4222' }, { NATLENS_BUS: 'nats://ignored:4222' }, 'tls://nats.example:4222'],
  ])('takes %j / %j as %s', (flags, env, bus) => {
    expect(loadAgentConfig({ node: 'n', inventory: '/i.json', ...flags }, env, noFile).bus).toBe(bus);
  });

  it.each(['http://nats:4222', 'nats://', 'nats://a:4222,ftp://b'])('refuses %s', (bus) => {
    expect(() => loadAgentConfig({ node: 'n', inventory: '/i.json', bus }, {}, noFile)).toThrow(/bus: expected nats:\/\/host:port/);
  });

  it('refuses a hub URL and a bus together: records go one way', () => {
    let error: ConfigError | undefined;
    try {
      loadAgentConfig({ node: 'n', inventory: '/i.json', bus: 'nats://nats:4222' }, { NATLENS_HUB: 'http://hub:8470' }, noFile);
    } catch (err) {
      error = err as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(error?.problems).toEqual([expect.stringMatching(/pass either --hub \(NATLENS_HUB\) or --bus \(NATLENS_BUS\)/)]);
  });
});
