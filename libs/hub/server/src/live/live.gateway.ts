import { Inject, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { ConnectedSocket, MessageBody, OnGatewayConnection, OnGatewayDisconnect, OnGatewayInit, SubscribeMessage, WebSocketGateway, WebSocketServer } from '@nestjs/websockets';
import type { LiveClientToServerEvents, LiveServerToClientEvents, SubscribeReply, SubscribeRequest } from '@natlens/shared-api';
import type { FlowRecord } from '@natlens/shared-model';
import type { Logger } from 'pino';
import type { Namespace, Socket } from 'socket.io';
import { bearerToken, TokenVerifier } from '../auth/token-verifier';
import { HubMetrics } from '../metrics/hub-metrics';
import { LOGGER } from '../tokens';
import { LiveFeed } from './live-feed';

export type { LiveClientToServerEvents, LiveServerToClientEvents, SubscribeReply, SubscribeRequest };

/** Messages queued for one client above which it is too slow: it leaves the room rather than grow the hub's memory. */
export const MAX_BUFFERED_PER_CLIENT = 1000;

const SERVICE_KEY = /^[^/\s]+\/[^/\s]+$/;

type LiveNamespace = Namespace<LiveClientToServerEvents, LiveServerToClientEvents>;
type LiveSocket = Socket<LiveClientToServerEvents, LiveServerToClientEvents>;

/**
 * socket.io namespace /live: every stored record of a Service goes to the room `namespace/name` as `flow.v1`.
 * A client joins with `?service=ns/name` in its handshake query or a `subscribe` message, and authenticates in the
 * handshake with `auth: {token}` (or an `Authorization: Bearer` header): an ingest or a read token.
 */
@WebSocketGateway({ namespace: '/live', cors: { origin: false } })
export class LiveGateway implements OnGatewayInit, OnGatewayConnection, OnGatewayDisconnect, OnModuleInit, OnModuleDestroy {
  @WebSocketServer() server!: LiveNamespace;
  private unsubscribeFeed: (() => void) | undefined;

  constructor(
    @Inject(LiveFeed) private readonly feed: LiveFeed,
    @Inject(TokenVerifier) private readonly verifier: TokenVerifier,
    @Inject(HubMetrics) private readonly metrics: HubMetrics,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  afterInit(namespace: LiveNamespace): void {
    // Refuse before the connection exists: the client gets connect_error with this message.
    namespace.use((socket, next) => {
      const auth = socket.handshake.auth as { token?: unknown } | undefined;
      const token = typeof auth?.token === 'string' ? auth.token : bearerToken(socket.handshake.headers.authorization);
      if (this.verifier.allows(token, 'read')) next();
      else next(new Error('unauthorized: connect with auth: {token: "<hub read or ingest token>"}'));
    });
  }

  handleConnection(client: LiveSocket): void {
    this.metrics.liveClients.inc();
    const service = client.handshake.query['service'];
    if (typeof service === 'string' && SERVICE_KEY.test(service)) void client.join(service);
  }

  handleDisconnect(): void {
    this.metrics.liveClients.dec();
  }

  @SubscribeMessage('subscribe')
  subscribe(@ConnectedSocket() client: LiveSocket, @MessageBody() request: SubscribeRequest): SubscribeReply {
    if (typeof request?.service !== 'string' || !SERVICE_KEY.test(request.service)) return { ok: false, message: 'send {service: "namespace/name"}' };
    void client.join(request.service);
    return { ok: true, service: request.service };
  }

  @SubscribeMessage('unsubscribe')
  unsubscribe(@ConnectedSocket() client: LiveSocket, @MessageBody() request: SubscribeRequest): SubscribeReply {
    if (typeof request?.service !== 'string') return { ok: false, message: 'send {service: "namespace/name"}' };
    void client.leave(request.service);
    return { ok: true, service: request.service };
  }

  onModuleInit(): void {
    this.unsubscribeFeed = this.feed.subscribe((records) => this.broadcast(records));
  }

  onModuleDestroy(): void {
    this.unsubscribeFeed?.();
  }

  private broadcast(records: readonly FlowRecord[]): void {
    if (!this.server) return;
    const byRoom = new Map<string, FlowRecord[]>();
    for (const record of records) {
      if (!record.service) continue;
      const room = `${record.service.namespace}/${record.service.name}`;
      const list = byRoom.get(room) ?? [];
      list.push(record);
      byRoom.set(room, list);
    }
    for (const [room, roomRecords] of byRoom) {
      const members = this.server.adapter.rooms.get(room);
      if (!members || members.size === 0) continue;
      this.dropSlowMembers(room, members);
      for (const record of roomRecords) this.server.to(room).emit('flow.v1', record);
    }
  }

  /** engine.io keeps unsent packets in `writeBuffer`; a client that does not drain it is taken out of the room. */
  private dropSlowMembers(room: string, members: ReadonlySet<string>): void {
    for (const id of [...members]) {
      const socket = this.server.sockets.get(id);
      const buffered = (socket?.conn as unknown as { writeBuffer?: unknown[] } | undefined)?.writeBuffer?.length ?? 0;
      if (!socket || buffered <= MAX_BUFFERED_PER_CLIENT) continue;
      void socket.leave(room);
      this.metrics.liveDropped.inc({ reason: 'slow-client' });
      this.log.warn({ client: id, room, buffered }, 'live client too slow: removed from its room');
      socket.emit('dropped.v1', { service: room, reason: `more than ${MAX_BUFFERED_PER_CLIENT} messages waiting; subscribe again when you can keep up` });
    }
  }
}
