import { parseEchoAnswer, renderUdpEcho } from './echo-answer';

const pod = { namespace: 'default', pod: 'dns-1', node: 'node1', podIP: '198.19.1.11' };

describe('echo answers', () => {
  it('a UDP answer names the pod and the address and port its socket saw', () => {
    const answer = renderUdpEcho(pod, { address: '198.19.3.11', port: 20001 }, 18);
    expect(answer).toContain('\tclient_address=198.19.3.11\n');
    expect(answer).toContain('\tclient_port=20001\n');
    expect(answer).toContain('\tprotocol=udp\n');
    expect(parseEchoAnswer(answer)).toEqual({ pod: 'dns-1', client: '198.19.3.11' });
  });

  it.each([
    ['no Hostname line', '\tclient_address=1.2.3.4\n'],
    ['no client_address line', 'Hostname: dns-1\n'],
    ['nothing', ''],
  ])('a body with %s is no answer', (_what, body) => {
    expect(parseEchoAnswer(body)).toBeUndefined();
  });
});
