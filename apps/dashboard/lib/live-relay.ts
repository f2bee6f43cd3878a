import type { LiveClientToServerEvents, LiveServerToClientEvents } from '@natlens/shared-api';
import { io, type Socket } from 'socket.io-client';
import type { LiveRow, ServicesResponse } from './api-types';
import { hubGet } from './hub';
import type { HubConfig } from './hub-config';
import { type LiveFilter, matchesLiveFilter, MAX_LIVE_ROWS, toLiveRow } from './live-buffer';

/*
 * The dashboard server's side of the live feed: one socket.io client per browser stream, subscribed on the hub's
 * /live namespace to the filtered Service's room or, without a Service filter, to every Service's room (the hub has
 * no all-Services room; the list is refreshed so new Services join). Records are filtered here and sent to the
 * browser in batches every FLUSH_MS, at most MAX_LIVE_ROWS per batch (the rest are counted as `skipped`): the
 * browser sees a few events a second whatever the record rate.
 */
export const FLUSH_MS = 250;
const REFRESH_SERVICES_MS = 30_000;

export interface LiveBatch {
  rows: LiveRow[];
  /** Matching records not sent because the batch was full. */
  skipped: number;
  /** Records received from the hub since the last batch, before filtering. */
  received: number;
}

export type LiveEvent =
  | { type: 'status'; data: { connected: boolean; services: number; message?: string } }
  | { type: 'flows'; data: LiveBatch }
  | { type: 'hub-error'; data: { message: string } };

type HubLiveEvents = LiveServerToClientEvents;
type HubLiveCommands = LiveClientToServerEvents;

export function startLiveRelay(config: HubConfig, filter: LiveFilter, emit: (event: LiveEvent) => void): () => void {
  const socket: Socket<HubLiveEvents, HubLiveCommands> = io(`${config.url}/live`, {
    transports: ['websocket'],
    auth: { token: config.token },
    reconnectionDelayMax: 5000,
  });
  const subscribed = new Set<string>();
  let pending: LiveRow[] = [];
  let skipped = 0;
  let received = 0;
  let closed = false;

  const subscribe = (service: string) => {
    subscribed.add(service);
    socket.emit('subscribe', { service }, () => undefined);
  };
  const subscribeAll = async () => {
    if (filter.service) return subscribe(filter.service);
    try {
      const list = await hubGet<ServicesResponse>('/api/services', config);
      for (const s of list.services) subscribe(`${s.namespace}/${s.name}`);
      emit({ type: 'status', data: { connected: socket.connected, services: subscribed.size } });
    } catch (err) {
      emit({ type: 'hub-error', data: { message: `cannot list the Services to follow: ${(err as Error).message}` } });
    }
  };

  socket.on('connect', () => {
    subscribed.clear();
    void subscribeAll();
    emit({ type: 'status', data: { connected: true, services: subscribed.size } });
  });
  socket.on('disconnect', (reason) => emit({ type: 'status', data: { connected: false, services: 0, message: `disconnected from the hub (${reason}); reconnecting` } }));
  socket.on('connect_error', (err) => emit({ type: 'hub-error', data: { message: `live feed: cannot connect to ${config.url}/live: ${err.message}` } }));
  socket.on('dropped.v1', (notice) => {
    emit({ type: 'status', data: { connected: true, services: subscribed.size, message: `the hub dropped this feed from ${notice.service} (${notice.reason}); resubscribed` } });
    subscribe(notice.service);
  });
  socket.on('flow.v1', (record) => {
    received++;
    if (!matchesLiveFilter(record, filter)) return;
    pending.push(toLiveRow(record));
    if (pending.length > MAX_LIVE_ROWS * 2) {
      skipped += pending.length - MAX_LIVE_ROWS;
      pending = pending.slice(-MAX_LIVE_ROWS);
    }
  });

  const flush = setInterval(() => {
    if (pending.length === 0 && received === 0) return;
    const rows = pending.slice(-MAX_LIVE_ROWS);
    emit({ type: 'flows', data: { rows, skipped: skipped + pending.length - rows.length, received } });
    pending = [];
    skipped = 0;
    received = 0;
  }, FLUSH_MS);
  const refresh = filter.service ? undefined : setInterval(() => void subscribeAll(), REFRESH_SERVICES_MS);

  return () => {
    if (closed) return;
    closed = true;
    clearInterval(flush);
    if (refresh) clearInterval(refresh);
    socket.disconnect();
  };
}
