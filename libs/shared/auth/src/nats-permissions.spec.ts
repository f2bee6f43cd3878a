import { agentInboxPrefix, agentPermissions, hubPermissions, renderNatsAuthorization } from './nats-permissions';

describe('NATS permissions', () => {
  it("give an agent its own node's subjects and inbox only", () => {
    expect(agentPermissions('ip-10-0-0-7.ec2.internal')).toEqual({
      publish: { allow: ['natlens.*.ip-10-0-0-7_ec2_internal'] },
      subscribe: { allow: ['_INBOX.natlens-agent.ip-10-0-0-7_ec2_internal.>'] },
    });
    expect(agentInboxPrefix('node1')).toBe('_INBOX.natlens-agent.node1');
  });

  it('let the hub consume and manage its streams, never purge, delete or publish records', () => {
    const hub = hubPermissions({ streams: ['NATLENS_FLOWS', 'NATLENS_NODES'] });
    expect(hub.publish.deny).toEqual(['natlens.>']);
    expect(hub.publish.allow).toEqual(expect.arrayContaining(['$JS.API.CONSUMER.MSG.NEXT.NATLENS_NODES.natlens-hub', '$JS.ACK.NATLENS_FLOWS.natlens-hub.>']));
    // the node reports' durable consumer beside the batches' (nodeReportConsumerName)
    expect(hub.publish.allow).toEqual(expect.arrayContaining(['$JS.API.CONSUMER.CREATE.NATLENS_FLOWS.natlens-hub-nodes.>', '$JS.API.CONSUMER.MSG.NEXT.NATLENS_FLOWS.natlens-hub-nodes', '$JS.ACK.NATLENS_FLOWS.natlens-hub-nodes.>']));
    expect(hub.publish.allow.filter((s) => s.includes('.natlens-hub-other'))).toEqual([]);
    for (const subject of hub.publish.allow) expect(subject).not.toMatch(/PURGE|DELETE|natlens\./);
    expect(hub.subscribe.allow).toEqual(expect.arrayContaining(['_INBOX.natlens-hub.>']));
    // dead letters: their own stream and subjects, outside natlens.> (the deny above does not cover them)
    expect(hub.publish.allow).toEqual(expect.arrayContaining(['$JS.API.STREAM.CREATE.NATLENS_DEADLETTER', '$JS.API.STREAM.UPDATE.NATLENS_DEADLETTER', 'natlens-deadletter.>']));
  });

  it('render a users block with passwords and nkeys, strings quoted', () => {
    const text = renderNatsAuthorization({
      hub: { user: 'natlens-hub', password: 'p"w' },
      agents: [{ node: 'node1', credential: { nkey: 'UABC' } }],
    });
    expect(text.startsWith('authorization {\n  users = [\n')).toBe(true);
    expect(text).toContain('{ user: "natlens-hub", password: "p\\"w",');
    expect(text).toContain('{ nkey: "UABC",');
    expect(text).toContain('publish: { allow: ["natlens.*.node1"] }');
  });
});
