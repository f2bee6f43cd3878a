import type { ObservedConnection } from '@natlens/agent-records';

/** Where sources deliver: the pipeline's first queue. */
export interface ConnectionSink {
  observe(batch: ObservedConnection[]): void;
  /** A full read of the source's table finished: flows it did not contain, and not seen since it started, ended. */
  tableSynced(liveFlowIds: Set<string>, startedAt: number): void;
}

export interface ConnectionSource {
  readonly name: 'conntrack' | 'ebpf' | 'pcap';
  start(sink: ConnectionSink): Promise<void>;
  stop(): void;
  /**
   * True once the source sees new connections: attached to the kernel (and, for conntrack, its first table read done)
   * or, for a capture, every tcpdump listening. The agent is ready only when every source it runs says so.
   */
  observing(): boolean;
  status(): Record<string, unknown>;
}
