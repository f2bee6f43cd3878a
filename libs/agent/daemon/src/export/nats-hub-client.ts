import { type NatsClientAuth, natsClientOptions } from '@natlens/shared-auth';
import { connect, type NatsConnection } from 'nats';
import { flowMessageId } from '@natlens/shared-api';
import type { FlowBatch } from '@natlens/shared-model';
import type { DeliveryOutcome, HubTransport, SpooledBatch } from '@natlens/agent-records';
import { ensureFlowStreamExists, flowSubject, nodeReportSubject, splitBatch } from './nats-flow-stream';

/*
 * Publishes spooled record batches to JetStream (`natlens.flows.<node>`) and reports success only once the stream
 * acknowledged the publish, so the exporter deletes a batch from the spool only when it is on the stream's disk.
 * Every publish carries a Nats-Msg-Id made of the node and the spool file's name: a batch re-sent after a lost ack
 * or an agent restart is stored once (within the stream's duplicate window; after it, the hub's idempotent upsert by
 * (node, flowId) makes the copy harmless).
 */
export interface NatsHubClientOptions {
  /** nats://host:port (comma-separated for several servers); credentials in the URL are allowed. */
  readonly url: string;
  /** The connection's name as the server reports it (monitoring, `nats server report connections`). */
  readonly name: string;
  readonly publishTimeoutMs?: number;
  readonly connectTimeoutMs?: number;
  /** Credentials, TLS and the inbox prefix this agent's NATS user may subscribe under. */
  readonly auth?: NatsClientAuth;
}

const DEFAULT_PUBLISH_TIMEOUT_MS = 10_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
/** What the server allows per message when it has not said (nats-server's default max_payload). */
const DEFAULT_MAX_PAYLOAD = 1024 * 1024;
/** Headers (Nats-Msg-Id) and protocol framing share max_payload with the body. */
const HEADER_ALLOWANCE = 512;

/** The URL without credentials, for logs. */
export function redactNatsUrl(url: string): string {
  return url.replace(/\/\/[^@/,]*@/g, '//***@');
}

export class NatsHubClient implements HubTransport {
  private connection: Promise<NatsConnection> | undefined;
  private streamReady = false;

  constructor(private readonly options: NatsHubClientOptions) {}

  get target(): string {
    return redactNatsUrl(this.options.url);
  }

  async deliver(batch: SpooledBatch): Promise<DeliveryOutcome> {
    let nc: NatsConnection;
    try {
      nc = await this.connect();
    } catch (err) {
      return { kind: 'retry', reason: 'nats-connect', detail: `cannot reach NATS at ${this.target}: ${(err as Error).message}` };
    }
    try {
      if (!this.streamReady) {
        // checkAPI off: an agent's NATS user may not call $JS.API.INFO (nor any JetStream API) when users are set up.
        await ensureFlowStreamExists(await nc.jetstreamManager({ timeout: this.publishTimeout, checkAPI: false }));
        this.streamReady = true;
      }
      const maxPayload = (nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD) - HEADER_ALLOWANCE;
      const body = typeof batch.body === 'string' ? Buffer.from(batch.body) : batch.body;
      const parts = body.length <= maxPayload ? [body] : splitBatch(JSON.parse(body.toString('utf8')) as FlowBatch, maxPayload).map((part) => Buffer.from(part));
      const js = nc.jetstream({ timeout: this.publishTimeout });
      for (const [index, part] of parts.entries()) {
        const msgID = flowMessageId(batch.node, batch.id, { index, of: parts.length });
        if (part.length > maxPayload) {
          return { kind: 'rejected', detail: `a single record of ${part.length} bytes exceeds the NATS server's max_payload (${maxPayload + HEADER_ALLOWANCE}); raise max_payload in the server's configuration` };
        }
        await js.publish(flowSubject(batch.node), part, { msgID, timeout: this.publishTimeout });
      }
      return { kind: 'sent' };
    } catch (err) {
      const e = err as Error & { code?: string };
      if (e.code === '503') {
        // No stream listens on the subject (deleted, or JetStream restarting): check for it again next time.
        this.streamReady = false;
        return { kind: 'retry', reason: 'nats-no-stream', detail: `no JetStream stream answered on ${flowSubject(batch.node)}: ${e.message}` };
      }
      if (/maximum (message|payload) size|MAX_PAYLOAD/i.test(`${e.code ?? ''} ${e.message}`)) return { kind: 'rejected', detail: `NATS refused the batch: ${e.message}` };
      const reason = e.code === 'TIMEOUT' ? 'nats-timeout' : 'nats';
      return {
        kind: 'retry',
        reason: /permission/i.test(`${e.code ?? ''} ${e.message}`) ? 'nats-permission' : reason,
        detail: `publishing to NATS at ${this.target} failed: ${e.message}`,
        ...(/authoriz|permission/i.test(`${e.code ?? ''} ${e.message}`) ? { hint: `NATS refused our credentials or subject permissions: check the agent's NATS user (NATLENS_BUS_AUTH / NATLENS_BUS_USER) and that it may publish to ${flowSubject(batch.node)}` } : {}),
      };
    }
  }

  /**
   * Publishes a node report to `natlens.nodes.<node>` in the same stream (msg-id: node and report time, so a re-send
   * is stored once). A stream made by an older hub does not take that subject: the report is refused until a newer
   * hub adds it, and the records are unaffected.
   */
  async sendNodeReport(node: string, at: number, body: string): Promise<DeliveryOutcome> {
    let nc: NatsConnection;
    try {
      nc = await this.connect();
    } catch (err) {
      return { kind: 'retry', reason: 'nats-connect', detail: `cannot reach NATS at ${this.target}: ${(err as Error).message}` };
    }
    const subject = nodeReportSubject(node);
    try {
      if (!this.streamReady) {
        await ensureFlowStreamExists(await nc.jetstreamManager({ timeout: this.publishTimeout }));
        this.streamReady = true;
      }
      await nc.jetstream({ timeout: this.publishTimeout }).publish(subject, Buffer.from(body), { msgID: `${node}:report:${at}`, timeout: this.publishTimeout });
      return { kind: 'sent' };
    } catch (err) {
      const e = err as Error & { code?: string };
      if (e.code === '503') return { kind: 'retry', reason: 'nats-no-stream', detail: `no JetStream stream takes ${subject} (a hub older than node reports made the stream; a newer hub adds the subject): ${e.message}` };
      return { kind: 'retry', reason: e.code === 'TIMEOUT' ? 'nats-timeout' : 'nats', detail: `publishing a node report to NATS at ${this.target} failed: ${e.message}` };
    }
  }

  async close(): Promise<void> {
    const connection = this.connection;
    this.connection = undefined;
    if (!connection) return;
    const nc = await connection.catch(() => undefined);
    await nc?.close().catch(() => undefined);
  }

  private get publishTimeout(): number {
    return this.options.publishTimeoutMs ?? DEFAULT_PUBLISH_TIMEOUT_MS;
  }

  /**
   * One connection, opened on first use. Once connected the client reconnects on its own, forever; publishes made
   * while it is away time out and are retried from the spool. A first connect that fails is retried by the caller.
   */
  private connect(): Promise<NatsConnection> {
    if (!this.connection) {
      const attempt = connect({
        ...natsClientOptions(this.options.auth ?? {}),
        servers: this.options.url.split(',').map((s) => s.trim()),
        name: this.options.name,
        timeout: this.options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 1000,
      });
      this.connection = attempt;
      attempt.then(
        (nc) => {
          void nc.closed().then(() => {
            if (this.connection === attempt) this.connection = undefined;
          });
        },
        () => {
          if (this.connection === attempt) this.connection = undefined;
        },
      );
    }
    return this.connection;
  }
}
