import type { ConntrackDumpEntry, TrackerEvent } from '@natlens/agent-pcap';
import type { ObservedConnection } from '../observed-connection';

/*
 * The capture's view of a connection (and a saved conntrack table's) → the pipeline's source-neutral observation.
 * Times are whole milliseconds, as flow records carry them.
 */
export function observationOfCapture(event: TrackerEvent, observedAt: number): ObservedConnection {
  const c = event.connection;
  return {
    source: 'pcap',
    kind: event.kind,
    id: c.id,
    original: c.original,
    reply: c.reply,
    observedAt: Math.floor(observedAt),
    startedAt: Math.floor(c.startedAt),
    ...(c.endedAt !== undefined ? { endedAt: Math.floor(c.endedAt) } : {}),
    state: c.state,
    counters: c.counters,
    ...(c.realClient ? { realClient: c.realClient.port === undefined ? { ip: c.realClient.ip } : { ip: c.realClient.ip, port: c.realClient.port } } : {}),
    ...(c.dropped ? { dropped: true } : {}),
  };
}

/** One line (or XML flow) of `conntrack -L` saved elsewhere: a `dump` observation of the conntrack source. */
export function observationOfDumpEntry(entry: ConntrackDumpEntry, index: number, observedAt: number): ObservedConnection {
  return {
    source: 'conntrack',
    kind: 'dump',
    // conntrack prints the id only with -o id / xml; the position in the file keeps flow ids distinct otherwise
    id: entry.id ?? `line${index}`,
    original: entry.original,
    reply: entry.reply,
    observedAt,
    ...(entry.state ? { state: entry.state } : {}),
    ...(entry.counters ? { counters: entry.counters } : {}),
    ...(entry.zone !== undefined ? { zone: entry.zone } : {}),
    ...(entry.mark !== undefined ? { mark: entry.mark } : {}),
  };
}
