import { EbpfUnavailableError, type EbpfCapabilities } from '@natlens/agent-ebpf';
import type { Logger } from 'pino';
import type { ConnectionSink, ConnectionSource } from './connection-source';
import type { EbpfProgramPort } from './ebpf.source';

/*
 * Which sources the agent runs. Asked for nothing: the best available, the eBPF source where this kernel allows it,
 * else the conntrack source. Asked for `ebpf` (alone or with others) where the kernel refuses it: the conntrack source
 * takes its place, with one log line saying why, never a stack trace.
 */
export type SourceName = ConnectionSource['name'];

export interface SourceSelection {
  names: SourceName[];
  ebpf?: EbpfProgramPort;
  /** Why eBPF is not used, when it was wanted. */
  fallback?: string;
}

export function selectSources(requested: SourceName[] | undefined, openEbpf: () => EbpfProgramPort, log: Logger): SourceSelection {
  const wanted = requested ?? ['ebpf'];
  if (!wanted.includes('ebpf')) return { names: [...new Set(wanted)] };
  try {
    const ebpf = openEbpf();
    return { names: [...new Set(wanted)], ebpf };
  } catch (err) {
    const reason = err instanceof EbpfUnavailableError ? err.message : (err as Error).message;
    const names = [...new Set(wanted.map((name) => (name === 'ebpf' ? 'conntrack' : name)))];
    const caps: EbpfCapabilities | undefined = err instanceof EbpfUnavailableError ? err.capabilities : undefined;
    log.warn(
      { requested: requested ?? 'best available', using: names, kernel: caps?.kernelRelease, btf: caps?.btf },
      `eBPF source unavailable (${reason}); using the conntrack source instead`,
    );
    return { names, fallback: reason };
  }
}

/** A source whose /healthz status also says why it was chosen (the eBPF source's fallback). */
export function withSelectionNote(source: ConnectionSource, note: string): ConnectionSource {
  return {
    name: source.name,
    start: (sink: ConnectionSink) => source.start(sink),
    stop: () => source.stop(),
    observing: () => source.observing(),
    status: () => ({ ...source.status(), selectedBecause: note }),
  };
}
