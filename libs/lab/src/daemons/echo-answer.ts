/*
 * The words of an echo answer, shared by the TCP (HTTP) and UDP echo: the client reads which pod answered from the
 * `Hostname:` line and the address the pod saw from `client_address=`, whichever protocol carried them. Pure.
 */
export interface EchoIdentity {
  namespace: string;
  pod: string;
  node: string;
  podIP: string;
}

/** The lines every answer starts with, as registry.k8s.io/echoserver writes them. */
export function echoPreamble(config: EchoIdentity): string[] {
  return [
    `Hostname: ${config.pod}`,
    '',
    'Pod Information:',
    `\tnode name:\t${config.node}`,
    `\tpod name:\t${config.pod}`,
    `\tpod namespace:\t${config.namespace}`,
    `\tpod IP:\t${config.podIP}`,
    '',
    'Server values:',
    '\tserver_version=natlens-lab-echo',
    '',
  ];
}

/** The answer datagram to one UDP datagram: who answered, and the address and port the pod's socket saw. */
export function renderUdpEcho(config: EchoIdentity, client: { address: string; port: number }, requestBytes: number): string {
  return [
    ...echoPreamble(config),
    'Request Information:',
    `\tclient_address=${client.address}`,
    `\tclient_port=${client.port}`,
    '\tprotocol=udp',
    `\trequest_bytes=${requestBytes}`,
    '',
  ].join('\n');
}

/** What a client reads from an answer, TCP or UDP: undefined when either line is missing. */
export function parseEchoAnswer(body: string): { pod: string; client: string } | undefined {
  const pod = /^Hostname: (.*)$/m.exec(body)?.[1];
  const client = /client_address=(.*)$/m.exec(body)?.[1];
  return pod && client ? { pod, client } : undefined;
}
