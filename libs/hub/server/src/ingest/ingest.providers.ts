import type { Provider } from '@nestjs/common';
import type { HubConfig } from '../config/hub-config';
import { parseStoreUrl } from '../storage/open-flow-repository';
import { NODE_LOCK } from '../tokens';
import { IngestService } from './ingest.service';
import { InProcessNodeLock, PostgresNodeLock } from './node-lock';

/** Connections for HTTP batches (agents, imports) stored beside the bus's; more wait for a free one. */
const HTTP_LOCK_CONNECTIONS = 4;

/** The ingest service and the per-node lock it stores every batch under, whichever way the batch came. */
export function ingestProviders(config: HubConfig): Provider[] {
  const store = parseStoreUrl(config.store);
  return [
    // Replicas share a PostgreSQL store: lock there. A SQLite store has one process: lock in memory.
    {
      provide: NODE_LOCK,
      useFactory: () => (store?.kind === 'postgres' ? new PostgresNodeLock(store.url, config.busConcurrency + HTTP_LOCK_CONNECTIONS) : new InProcessNodeLock()),
    },
    IngestService,
  ];
}
