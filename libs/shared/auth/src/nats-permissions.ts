import { DEAD_LETTER_STREAM, DEAD_LETTER_SUBJECTS, FLOW_STREAM, natsNodeToken, nodeReportConsumerName } from '@natlens/shared-api';

/*
 * Who may do what on the NATS server natlens uses, as nats-server `authorization` users (global account, JetStream
 * enabled). Three roles:
 *
 * - an agent (one user per node) publishes only on `natlens.*.<its node token>` (flow batches on natlens.flows.<node>,
 *   node reports on natlens.nodes.<node>, and whatever per-node subject comes later) and receives only the replies
 *   to its own requests (JetStream publish acknowledgements) on its own inbox prefix; it cannot read, purge or
 *   delete a stream, nor create consumers;
 * - the hub manages the streams it consumes (creates them, keeps their limits), creates and reads its durable
 *   consumer, fetches and acknowledges; it may not publish on natlens.> (no records); it publishes dead letters
 *   (batches it gave up on) on natlens-deadletter.> into the dead-letter stream it manages;
 * - anyone else: no user, no connection.
 *
 * Clients must connect with the matching inbox prefix (agentInboxPrefix / HUB_INBOX_PREFIX): replies then land on
 * subjects only that user may subscribe to, so no one reads another's acknowledgements.
 */
export const NATS_SUBJECT_ROOT = 'natlens';
export const HUB_INBOX_PREFIX = '_INBOX.natlens-hub';
export const DEFAULT_HUB_DURABLE = 'natlens-hub';
export const DEFAULT_STREAMS = [FLOW_STREAM] as const;

export function agentInboxPrefix(node: string): string {
  return `_INBOX.natlens-agent.${natsNodeToken(node)}`;
}

export interface NatsPermissions {
  readonly publish: { readonly allow: readonly string[]; readonly deny?: readonly string[] };
  readonly subscribe: { readonly allow: readonly string[]; readonly deny?: readonly string[] };
}

/** An agent's permissions: its own node's subjects and inbox, nothing else. */
export function agentPermissions(node: string): NatsPermissions {
  const token = natsNodeToken(node);
  return {
    publish: { allow: [`${NATS_SUBJECT_ROOT}.*.${token}`] },
    subscribe: { allow: [`${agentInboxPrefix(node)}.>`] },
  };
}

/**
 * The hub's permissions over the streams it consumes with its durable consumers `durable` (record batches) and
 * `<durable>-nodes` (node reports, nodeReportConsumerName): stream info/create/update (the hub owns the limits),
 * consumer info/create (both JetStream APIs: 2.9+ and older), fetch (MSG.NEXT), message get (to read a batch named by
 * an advisory), acknowledgements, and the max-deliveries advisory; the dead-letter stream (info/create/update) and its
 * subjects natlens-deadletter.> (publish). Never purge, delete, or publish records.
 */
export function hubPermissions(options: { durable?: string; streams?: readonly string[] } = {}): NatsPermissions {
  const durable = options.durable ?? DEFAULT_HUB_DURABLE;
  const streams = options.streams ?? DEFAULT_STREAMS;
  const publish = ['$JS.API.INFO'];
  const subscribe = [`${HUB_INBOX_PREFIX}.>`];
  for (const stream of streams) {
    publish.push(`$JS.API.STREAM.INFO.${stream}`, `$JS.API.STREAM.CREATE.${stream}`, `$JS.API.STREAM.UPDATE.${stream}`, `$JS.API.STREAM.MSG.GET.${stream}`);
    for (const consumer of [durable, nodeReportConsumerName(durable)]) {
      publish.push(
        `$JS.API.CONSUMER.INFO.${stream}.${consumer}`,
        `$JS.API.CONSUMER.CREATE.${stream}.${consumer}`,
        `$JS.API.CONSUMER.CREATE.${stream}.${consumer}.>`,
        `$JS.API.CONSUMER.DURABLE.CREATE.${stream}.${consumer}`,
        `$JS.API.CONSUMER.MSG.NEXT.${stream}.${consumer}`,
        `$JS.ACK.${stream}.${consumer}.>`,
      );
      subscribe.push(`$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${stream}.${consumer}`);
    }
  }
  publish.push(`$JS.API.STREAM.INFO.${DEAD_LETTER_STREAM}`, `$JS.API.STREAM.CREATE.${DEAD_LETTER_STREAM}`, `$JS.API.STREAM.UPDATE.${DEAD_LETTER_STREAM}`, DEAD_LETTER_SUBJECTS);
  return { publish: { allow: publish, deny: [`${NATS_SUBJECT_ROOT}.>`] }, subscribe: { allow: subscribe } };
}

export type NatsUserCredential = { readonly user: string; readonly password: string } | { readonly nkey: string };

export interface NatsAuthorizationSpec {
  readonly hub: NatsUserCredential;
  readonly agents: readonly { readonly node: string; readonly credential: NatsUserCredential }[];
  readonly durable?: string;
  readonly streams?: readonly string[];
}

/** The user name an agent uses with user/password auth (NATLENS_BUS_AUTH=node-token). */
export function agentNatsUser(node: string): string {
  return `natlens-agent-${node}`;
}

function block(credential: NatsUserCredential, permissions: NatsPermissions, indent: string): string {
  const list = (subjects: readonly string[]) => `[${subjects.map((s) => JSON.stringify(s)).join(', ')}]`;
  const side = (p: { allow: readonly string[]; deny?: readonly string[] }) => `{ allow: ${list(p.allow)}${p.deny && p.deny.length > 0 ? `, deny: ${list(p.deny)}` : ''} }`;
  const who = 'nkey' in credential ? `nkey: ${JSON.stringify(credential.nkey)}` : `user: ${JSON.stringify(credential.user)}, password: ${JSON.stringify(credential.password)}`;
  return `${indent}{ ${who},\n${indent}  permissions: { publish: ${side(permissions.publish)},\n${indent}                 subscribe: ${side(permissions.subscribe)} } }`;
}

/**
 * The `authorization { users = [...] }` block of a nats-server configuration for the hub and one user per agent
 * node. Pure; the Helm chart renders the same permissions (deploy/helm/natlens/templates/bundled-nats.yaml).
 */
export function renderNatsAuthorization(spec: NatsAuthorizationSpec): string {
  const users = [
    block(spec.hub, hubPermissions({ ...(spec.durable ? { durable: spec.durable } : {}), ...(spec.streams ? { streams: spec.streams } : {}) }), '    '),
    ...spec.agents.map((agent) => block(agent.credential, agentPermissions(agent.node), '    ')),
  ];
  return `authorization {\n  users = [\n${users.join('\n')}\n  ]\n}\n`;
}
