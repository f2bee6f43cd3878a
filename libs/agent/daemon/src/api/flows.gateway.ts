import { Inject, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { OnGatewayConnection, OnGatewayInit, WebSocketGateway, WebSocketServer } from '@nestjs/websockets';
import type { AgentFlowsServerToClientEvents } from '@natlens/shared-api';
import type { FlowRecord } from '@natlens/shared-model';
import type { Namespace, Socket } from 'socket.io';
import { PipelineService } from '../pipeline/pipeline.service';
import { ReadAccess } from './read-access';

export type { AgentFlowsServerToClientEvents as AgentServerToClientEvents };

/** Pending messages per client above which it is considered too slow and disconnected, so memory stays bounded. */
const MAX_BUFFERED_PER_CLIENT = 1000;

/**
 * socket.io stream of the agent's records: namespace /flows, event flow.v1; a client that passes
 * `?service=ns/name` joins that Service's room and gets only its records. A read token in the handshake
 * (`auth: {token}` or `Authorization: Bearer`), as for GET /api/flows (read-access.ts).
 */
@WebSocketGateway({ namespace: '/flows', cors: { origin: false } })
export class FlowsGateway implements OnGatewayInit, OnGatewayConnection, OnModuleInit, OnModuleDestroy {
  @WebSocketServer() server!: Namespace<Record<string, never>, AgentFlowsServerToClientEvents>;
  private unsubscribe: (() => void) | undefined;

  constructor(
    @Inject(PipelineService) private readonly pipeline: PipelineService,
    @Inject(ReadAccess) private readonly access: ReadAccess,
  ) {}

  afterInit(namespace: Namespace): void {
    // Refused before the connection exists: the client gets connect_error with the reason.
    namespace.use((socket, next) => {
      const auth = socket.handshake.auth as { token?: unknown } | undefined;
      const header = typeof auth?.token === 'string' ? `Bearer ${auth.token}` : socket.handshake.headers.authorization;
      const decision = this.access.check(header);
      if (decision.ok) next();
      else next(new Error(`unauthorized (${decision.code}): ${decision.message}`));
    });
  }

  handleConnection(client: Socket): void {
    const service = client.handshake.query['service'];
    void client.join(typeof service === 'string' && service ? `service:${service}` : 'all');
  }

  onModuleInit(): void {
    this.unsubscribe = this.pipeline.onRecords((records) => this.broadcast(records));
  }

  onModuleDestroy(): void {
    this.unsubscribe?.();
  }

  private broadcast(records: FlowRecord[]): void {
    // Serialising a record for an empty room costs as much as for a full one: skip rooms nobody is in.
    if (!this.server || this.server.sockets.size === 0) return;
    const rooms = this.server.adapter.rooms;
    for (const socket of this.server.sockets.values()) {
      const buffered = (socket.conn as unknown as { writeBuffer?: unknown[] }).writeBuffer?.length ?? 0;
      if (buffered > MAX_BUFFERED_PER_CLIENT) socket.disconnect(true);
    }
    const everyone = (rooms.get('all')?.size ?? 0) > 0;
    for (const record of records) {
      if (everyone) this.server.to('all').emit('flow.v1', record);
      const room = record.service ? `service:${record.service.namespace}/${record.service.name}` : undefined;
      if (room && (rooms.get(room)?.size ?? 0) > 0) this.server.to(room).emit('flow.v1', record);
    }
  }
}
