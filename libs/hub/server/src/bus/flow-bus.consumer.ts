import { hostname } from 'node:os';
import { BadRequestException, Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { FLOW_MESSAGE_ID_HEADER } from '@natlens/shared-api';
import { HUB_INBOX_PREFIX, natsClientOptions } from '@natlens/shared-auth';
import { connect, type Consumer, type ConsumerMessages, type JetStreamManager, type JsMsg, millis, type NatsConnection, type Subscription } from 'nats';
import type { Logger } from 'pino';
import type { HubConfig } from '../config/hub-config';
import { IngestService } from '../ingest/ingest.service';
import { isStoreUnavailable } from '../storage/store-unavailable';
import { HUB_CONFIG, LOGGER } from '../tokens';
import { BusMetrics } from './bus-metrics';
import { type DeadLetter, headerValue, maxDeliveriesAdvisorySubject, parseMaxDeliveriesAdvisory, publishDeadLetter } from './dead-letters';
import { NodeReportService } from '../nodes/node-report.service';
import { ensureDeadLetterStream, ensureFlowConsumer, ensureFlowStream, FLOW_STREAM, NODE_REPORT_SUBJECTS, nodeReportConsumerName } from './flow-stream';
import { observeStreamBacklog } from './stream-backlog';

/*
 * Every hub replica pulls record batches from one shared durable consumer: any replica can take any batch, and a
 * batch is acknowledged only after its transaction committed, so a replica that dies loses nothing (the server
 * redelivers after the ack wait, and the idempotent upsert by (node, flowId) makes the second delivery harmless).
 * Validation, the per-node lock and storing are exactly POST /api/ingest's (IngestService); a batch that fails
 * validation is terminated, never redelivered. A batch whose storing fails is handed back; at its last delivery
 * (busMaxDeliver, the consumer's max_deliver) it goes to the dead-letter stream instead, so one batch the store always
 * refuses neither blocks nor loops forever, and is kept.
 */
export type BusState = 'connecting' | 'consuming' | 'reconnecting' | 'stopped';

export interface BusStatus {
  readonly url: string;
  readonly state: BusState;
  readonly consumer: string;
  readonly inFlight: number;
  readonly pending?: number;
  readonly ackPending?: number;
  readonly lastError?: string;
  readonly lastAckAt?: number;
}

const FETCH_EXPIRES_MS = 2000;
const LAG_POLL_MS = 2000;
const RETRY_DELAY_MS = 1000;
/** A batch whose storing failed comes back after this long, not at once. */
const NAK_DELAY_MS = 5000;
/** While the store is away, a batch is retried in place this often at most (doubling from 1 s). */
const STORE_RETRY_MAX_MS = 10_000;

export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/,]*@/g, '//***@');
}

@Injectable()
export class FlowBusConsumer implements OnApplicationBootstrap, OnModuleDestroy {
  private running = false;
  private state: BusState = 'stopped';
  private nc: NatsConnection | undefined;
  private fetch: ConsumerMessages | undefined;
  private loop: Promise<void> | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private slotFreed: (() => void) | undefined;
  private lastError: string | undefined;
  private lastAckAt: number | undefined;
  private lag: { pending: number; ackPending: number } | undefined;
  private lagTimer: NodeJS.Timeout | undefined;
  /** The node-report loop of the current connection, and its pull (stopped when the record loop ends). */
  private reportFetch: ConsumerMessages | undefined;
  private reportsLoop: Promise<void> | undefined;
  /** The max-deliveries advisories of the current connection (one replica of the queue group hears each). */
  private advisories: Subscription | undefined;

  constructor(
    @Inject(HUB_CONFIG) private readonly config: HubConfig,
    @Inject(LOGGER) private readonly log: Logger,
    @Inject(IngestService) private readonly ingest: IngestService,
    @Inject(BusMetrics) private readonly metrics: BusMetrics,
    @Inject(NodeReportService) private readonly nodeReports: NodeReportService,
  ) {}

  status(): BusStatus {
    return {
      url: redactUrl(this.config.bus ?? ''),
      state: this.state,
      consumer: this.config.busConsumer,
      inFlight: this.inFlight.size,
      ...(this.lag ? { pending: this.lag.pending, ackPending: this.lag.ackPending } : {}),
      ...(this.lastError ? { lastError: this.lastError } : {}),
      ...(this.lastAckAt ? { lastAckAt: this.lastAckAt } : {}),
    };
  }

  onApplicationBootstrap(): void {
    this.running = true;
    this.state = 'connecting';
    this.loop = this.run();
  }

  /** Stops pulling, lets the batches being stored finish (and be acknowledged), then closes the connection. */
  async onModuleDestroy(): Promise<void> {
    this.running = false;
    this.state = 'stopped';
    clearInterval(this.lagTimer);
    this.fetch?.stop();
    this.reportFetch?.stop();
    this.slotFreed?.();
    await this.loop;
    await this.reportsLoop;
    await Promise.allSettled([...this.inFlight]);
    await this.nc?.drain().catch(() => undefined);
    this.metrics.connected.set(0);
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (this.running) {
      try {
        const nc = await this.connection();
        const jsm = await nc.jetstreamManager();
        await ensureFlowStream(jsm, { maxAgeMs: this.config.busStreamMaxAgeMs, maxBytes: this.config.busStreamMaxBytes });
        await ensureDeadLetterStream(jsm);
        const settings = { ackWaitMs: this.config.busAckWaitMs, maxAckPending: this.config.busMaxAckPending, maxDeliver: this.config.busMaxDeliver };
        await ensureFlowConsumer(jsm, { durable: this.config.busConsumer, ...settings });
        const reportsDurable = nodeReportConsumerName(this.config.busConsumer);
        // Node reports share max_deliver: a report the store keeps refusing is dropped (a newer one follows), not dead-lettered.
        await ensureFlowConsumer(jsm, { durable: reportsDurable, ...settings }, NODE_REPORT_SUBJECTS);
        const consumer = await nc.jetstream().consumers.get(FLOW_STREAM, this.config.busConsumer);
        const reports = await nc.jetstream().consumers.get(FLOW_STREAM, reportsDurable);
        if (this.state !== 'consuming') this.log.info({ bus: redactUrl(this.config.bus ?? ''), consumer: this.config.busConsumer, stream: FLOW_STREAM }, 'consuming record batches from NATS');
        this.state = 'consuming';
        this.metrics.connected.set(1);
        this.lastError = undefined;
        failures = 0;
        this.watchBacklog(jsm, consumer);
        const session = { active: true };
        this.reportsLoop = this.consumeNodeReports(reports, session);
        const advisories = this.deadLetterAbandoned(nc, jsm);
        try {
          await this.consume(consumer);
        } finally {
          this.advisories?.unsubscribe();
          await advisories;
          session.active = false;
          this.reportFetch?.stop();
          await this.reportsLoop;
        }
      } catch (err) {
        if (!this.running) break;
        this.lastError = (err as Error).message;
        this.state = 'reconnecting';
        this.metrics.connected.set(0);
        if (failures++ === 0) this.log.warn({ err: this.lastError, bus: redactUrl(this.config.bus ?? '') }, 'NATS bus unavailable; retrying every second (agents keep their batches meanwhile)');
        await new Promise((r) => setTimeout(r, RETRY_DELAY_MS));
      }
    }
  }

  private async connection(): Promise<NatsConnection> {
    if (this.nc && !this.nc.isClosed()) return this.nc;
    this.nc = await connect({
      // The hub's NATS user may subscribe only under its own inbox prefix (libs/shared/auth nats-permissions).
      ...natsClientOptions({ ...this.config.busAuth, inboxPrefix: HUB_INBOX_PREFIX }),
      servers: (this.config.bus ?? '').split(',').map((s) => s.trim()),
      name: `natlens-hub ${hostname()} ${process.pid}`,
      timeout: 5000,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 1000,
    });
    return this.nc;
  }

  /** Pull requests one after another; each batch is stored by one of `busConcurrency` slots. */
  private async consume(consumer: Consumer): Promise<void> {
    const slots = this.config.busConcurrency;
    while (this.running) {
      const messages = await consumer.fetch({ max_messages: slots, expires: FETCH_EXPIRES_MS });
      this.fetch = messages;
      for await (const message of messages) {
        while (this.inFlight.size >= slots && this.running) await new Promise<void>((resolve) => (this.slotFreed = resolve));
        if (!this.running) {
          // Shutting down: hand it back now rather than after the ack wait.
          message.nak();
          continue;
        }
        const work = this.handle(message).finally(() => {
          this.inFlight.delete(work);
          const freed = this.slotFreed;
          this.slotFreed = undefined;
          freed?.();
        });
        this.inFlight.add(work);
      }
      this.fetch = undefined;
    }
  }

  private async handle(message: JsMsg): Promise<void> {
    this.metrics.consumed.inc();
    const deliveries = message.info.deliveryCount;
    if (deliveries > 1) this.metrics.redelivered.inc();
    let body: unknown;
    try {
      body = message.json<unknown>();
    } catch (err) {
      this.terminate(message, `the message is not JSON: ${(err as Error).message}`);
      return;
    }
    // Storing can outlast the ack wait under load: tell the server we are still on it, so it is not redelivered.
    const keepAlive = setInterval(() => message.working(), Math.max(1000, this.config.busAckWaitMs / 3));
    try {
      await this.storeRetryingWhileAway(body, message);
      message.ack();
      this.metrics.acked.inc();
      this.lastAckAt = Date.now();
      this.metrics.lagSeconds.observe(Math.max(0, Date.now() - millis(message.info.timestampNanos)) / 1000);
    } catch (err) {
      if (err instanceof BadRequestException) {
        const response = err.getResponse() as { message?: string };
        this.terminate(message, response.message ?? err.message);
        return;
      }
      this.metrics.failed.inc();
      this.lastError = (err as Error).message;
      // A store that is away (the hub is stopping mid-outage) is no reason to give up on the batch.
      if (deliveries >= this.config.busMaxDeliver && !isStoreUnavailable(err)) {
        await this.deadLetter(message, this.lastError, deliveries);
        return;
      }
      message.nak(NAK_DELAY_MS);
      this.log.warn({ err: this.lastError, subject: message.subject, streamSequence: message.seq }, `storing a batch from the bus failed; it is handed back and will be redelivered in ${NAK_DELAY_MS / 1000} s`);
    } finally {
      clearInterval(keepAlive);
    }
  }

  /**
   * Stores the batch. While the store is away (restarting, unreachable, full: isStoreUnavailable) it retries in place
   * and keeps the delivery alive, so an outage spends none of the batch's max_deliver deliveries and a database restart
   * sends nothing to the dead-letter stream. Throws a store's refusal of the batch, or the outage when the hub stops.
   */
  private async storeRetryingWhileAway(body: unknown, message: JsMsg): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.ingest.ingest(body, { via: 'bus', subject: message.subject });
        return;
      } catch (err) {
        if (!isStoreUnavailable(err) || !this.running) throw err;
        this.metrics.failed.inc();
        this.lastError = (err as Error).message;
        if (attempt === 0) this.log.warn({ err: this.lastError, subject: message.subject, streamSequence: message.seq }, 'the store is unavailable; the batch is kept and retried until it is back (its deliveries are not spent)');
        // in short steps: a hub stopping meanwhile hands the batch back at once
        const until = Date.now() + Math.min(STORE_RETRY_MAX_MS, 1000 * 2 ** attempt);
        while (this.running && Date.now() < until) await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  /**
   * Node reports, one at a time (each is a small transaction, and a node's reports must not overtake each other in a
   * replica). Runs beside the record loop on the same connection and ends with it; a failure ends only this loop until
   * the next reconnection (records keep flowing).
   */
  private async consumeNodeReports(consumer: Consumer, session: { active: boolean }): Promise<void> {
    try {
      while (this.running && session.active) {
        const messages = await consumer.fetch({ max_messages: 16, expires: FETCH_EXPIRES_MS });
        this.reportFetch = messages;
        for await (const message of messages) {
          if (!this.running || !session.active) {
            message.nak();
            continue;
          }
          await this.handleNodeReport(message);
        }
        this.reportFetch = undefined;
      }
    } catch (err) {
      if (this.running) this.log.warn({ err: (err as Error).message }, 'reading node reports from NATS failed; they resume when the bus reconnects');
    }
  }

  private async handleNodeReport(message: JsMsg): Promise<void> {
    let body: unknown;
    try {
      body = message.json<unknown>();
    } catch (err) {
      this.terminate(message, `the node report is not JSON: ${(err as Error).message}`, 'node report');
      return;
    }
    try {
      await this.nodeReports.store(body, { via: 'bus', subject: message.subject });
      message.ack();
    } catch (err) {
      if (err instanceof BadRequestException) {
        const response = err.getResponse() as { message?: string };
        this.terminate(message, response.message ?? err.message, 'node report');
        return;
      }
      // A newer report follows within seconds; an old one handed back is harmless (an outdated report changes nothing).
      message.nak(NAK_DELAY_MS);
    }
  }

  /**
   * The batch's last delivery failed too: publish it unchanged to natlens-deadletter.<node> (stream NATLENS_DEADLETTER,
   * message id = its flow-stream sequence, so a retry stores it once), and only once that is acknowledged terminate it
   * here. If the dead-letter stream does not take it, it is handed back instead (never dropped).
   */
  private async deadLetter(message: JsMsg, problem: string, deliveries: number): Promise<void> {
    const messageId = message.headers?.get(FLOW_MESSAGE_ID_HEADER);
    const letter: DeadLetter = { subject: message.subject, streamSequence: message.seq, data: message.data, deliveries, problem, ...(messageId ? { messageId } : {}) };
    let subject: string;
    try {
      if (!this.nc) throw new Error('not connected to NATS');
      subject = (await publishDeadLetter(this.nc.jetstream(), FLOW_STREAM, letter)).subject;
    } catch (err) {
      // max_deliver is reached, so the server will not deliver it again: its advisory brings it back (deadLetterAbandoned).
      message.nak(NAK_DELAY_MS);
      this.log.error({ err: (err as Error).message, subject: message.subject, streamSequence: message.seq, deliveries }, 'a batch failed at its last delivery and the dead-letter stream did not take it; handed back (the max-deliveries advisory tries again)');
      return;
    }
    message.term(headerValue(`dead-lettered to ${subject}: ${problem}`).slice(0, 200));
    this.deadLettered(letter, subject);
  }

  private deadLettered(letter: DeadLetter, subject: string): void {
    this.metrics.deadLettered.inc();
    this.log.error(
      { subject: letter.subject, streamSequence: letter.streamSequence, deliveries: letter.deliveries, deadLetterSubject: subject, problem: letter.problem },
      `storing a batch failed at each of its ${letter.deliveries} deliveries: it was published to ${subject} (stream NATLENS_DEADLETTER) and will not be delivered again; fix the cause, then replay it (README, "Dead letters")`,
    );
  }

  /**
   * A batch whose last delivery ended without an answer (the replica storing it died, or the dead-letter stream
   * refused it then): the server gives up on it with a max-deliveries advisory. One replica of the queue group reads
   * the batch back from the stream and dead-letters it; the same message id makes a second copy harmless.
   */
  private async deadLetterAbandoned(nc: NatsConnection, jsm: JetStreamManager): Promise<void> {
    const durable = this.config.busConsumer;
    const subscription = nc.subscribe(maxDeliveriesAdvisorySubject(FLOW_STREAM, durable), { queue: `${durable}-dead-letters` });
    this.advisories = subscription;
    for await (const advisory of subscription) {
      const given = parseMaxDeliveriesAdvisory(advisory.data);
      if (!given) continue;
      try {
        const stored = await jsm.streams.getMessage(FLOW_STREAM, { seq: given.streamSequence });
        const messageId = stored.header?.get(FLOW_MESSAGE_ID_HEADER);
        const letter: DeadLetter = {
          subject: stored.subject,
          streamSequence: stored.seq,
          data: stored.data,
          deliveries: given.deliveries,
          problem: `not acknowledged in ${given.deliveries} deliveries: the replica storing its last delivery stopped, or could not publish its dead letter (see that replica's log)`,
          ...(messageId ? { messageId } : {}),
        };
        const published = await publishDeadLetter(nc.jetstream(), FLOW_STREAM, letter);
        if (!published.duplicate) this.deadLettered(letter, published.subject);
      } catch (err) {
        this.log.error({ err: (err as Error).message, streamSequence: given.streamSequence }, 'a batch given up after max_deliver could not be dead-lettered; it stays in NATLENS_FLOWS until the stream\'s limits discard it');
      }
    }
  }

  private terminate(message: JsMsg, problem: string, what = 'batch'): void {
    message.term(problem.slice(0, 200));
    if (what === 'batch') this.metrics.terminated.inc();
    this.log.error({ subject: message.subject, streamSequence: message.seq, problem }, `a ${what} from the bus is invalid and was terminated (it will not be redelivered); fix the agent that sent it`);
  }

  /** The consumer's lag and the stream's fill against its limits, on /metrics and /healthz. */
  private watchBacklog(jsm: JetStreamManager, consumer: Consumer): void {
    clearInterval(this.lagTimer);
    const poll = async () => {
      try {
        const info = await consumer.info();
        this.lag = { pending: info.num_pending, ackPending: info.num_ack_pending };
        this.metrics.pending.set(info.num_pending);
        this.metrics.ackPending.set(info.num_ack_pending);
        await observeStreamBacklog(jsm, info, this.metrics);
      } catch {
        // NATS away: the consume loop notices and reports it
      }
    };
    void poll();
    this.lagTimer = setInterval(() => void poll(), LAG_POLL_MS);
    this.lagTimer.unref();
  }
}
