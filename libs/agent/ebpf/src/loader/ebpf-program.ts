import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { NamespaceCounters } from '../decode/event-layout';
import { EVENT_SIZE } from '../decode/event-layout';
import type { EbpfMode } from './capabilities';

/*
 * The typed face of our native loader (native/src/ebpf_loader.cc, libbpf): open, load and attach the BPF object in
 * this process's network namespace, then ring-buffer batches in, one Buffer of records per call.
 */
/**
 * Where the loader addon and the BPF object are: beside the bundle in the compiled build and the image
 * (dist/apps/cli/native, copied by tools/build), in native/build/Release (node-gyp's output) from the sources.
 */
export const NATIVE_BUILD_DIR = existsSync(join(__dirname, 'native', 'natlens_ebpf.node')) ? join(__dirname, 'native') : join(__dirname, '..', '..', 'native', 'build', 'Release');
export const ADDON_PATH = join(NATIVE_BUILD_DIR, 'natlens_ebpf.node');
export const BPF_OBJECT_PATH = join(NATIVE_BUILD_DIR, 'natlens.bpf.o');

/** After source NAT (NF_IP_PRI_NAT_SRC = 100), before conntrack confirms (NF_IP_PRI_CONNTRACK_CONFIRM = INT_MAX). */
export const NETFILTER_PRIORITY = 200;

export interface EbpfProgramOptions {
  mode: EbpfMode;
  /** Attach tp_btf/kfree_skb for netfilter drops of Service traffic. */
  drops: boolean;
  /** Only this namespace's drops (and, under fexit, translations) are reported. */
  netns: number;
  /** Ring buffer size: a power of two, a multiple of the page size. */
  ringBufferBytes: number;
  /** The kernel wakes the reader when this much is waiting; below it the reader's timer collects. */
  wakeupBytes: number;
  pollIntervalMs: number;
  objectPath?: string;
  priority?: number;
}

export interface EbpfProgramStats {
  events: number;
  batches: number;
  wakeups: number;
  malformed: number;
}

interface NativeProgram {
  start(onEvents: (batch: Buffer, count: number) => void, onError: (errno: number, message: string) => void, pollIntervalMs: number): void;
  stop(): void;
  close(): void;
  setServicePorts(keys: number[]): number;
  namespaceCounters(): NamespaceCounters[];
  stats(): EbpfProgramStats;
  attachments(): { attached: string[]; skipped: string[] };
}

interface NativeModule {
  EbpfProgram: new (objectPath: string, options: { mode: EbpfMode; drops: boolean; netns: number; ringBufferBytes: number; wakeupBytes: number; priority: number }) => NativeProgram;
  eventSize: number;
}

/** The addon or the BPF object is missing: the build did not run (or lacked clang, bpftool, libbpf-dev). */
export class EbpfNotBuiltError extends Error {
  constructor(detail: string) {
    super(`the eBPF loader is not built (${detail}); run \`npm install\` (it builds libs/agent/ebpf/native with node-gyp; needs clang, llvm, bpftool, libbpf-dev: \`bash scripts/setup.sh\` installs them)`);
    this.name = 'EbpfNotBuiltError';
  }
}

/** The kernel or libbpf refused a step; `stage` says which (open, load, configure, attach, ring-buffer). */
export class EbpfLoadError extends Error {
  constructor(
    readonly mode: EbpfMode,
    readonly stage: string,
    readonly errno: number,
    message: string,
    readonly libbpfLog: string,
  ) {
    super(message);
    this.name = 'EbpfLoadError';
  }
}

let addon: NativeModule | undefined;

function loadAddon(): NativeModule {
  if (!addon) {
    try {
      addon = require(ADDON_PATH) as NativeModule;
    } catch (err) {
      throw new EbpfNotBuiltError((err as Error).message.split('\n')[0] ?? 'cannot load the addon');
    }
    if (addon.eventSize !== EVENT_SIZE) {
      // the addon was built from another bpf/event.h than this decoder's: its records would be misread
      throw new EbpfNotBuiltError(`the addon's struct natlens_event is ${addon.eventSize} bytes, the decoder expects ${EVENT_SIZE}; rebuild it`);
    }
  }
  return addon;
}

export interface EbpfProgramHandlers {
  onEvents(batch: Buffer, count: number): void;
  onError(errno: number, message: string): void;
}

export class EbpfProgram {
  private closed = false;

  private constructor(
    private readonly native: NativeProgram,
    readonly mode: EbpfMode,
    private readonly pollIntervalMs: number,
  ) {}

  /** Loads and attaches; throws EbpfNotBuiltError or EbpfLoadError, having released whatever it made. */
  static open(options: EbpfProgramOptions): EbpfProgram {
    const objectPath = options.objectPath ?? BPF_OBJECT_PATH;
    const { EbpfProgram: Native } = loadAddon();
    if (!existsSync(objectPath)) throw new EbpfNotBuiltError(`${objectPath} is missing`);
    try {
      const native = new Native(objectPath, {
        mode: options.mode,
        drops: options.drops,
        netns: options.netns,
        ringBufferBytes: options.ringBufferBytes,
        wakeupBytes: options.wakeupBytes,
        priority: options.priority ?? NETFILTER_PRIORITY,
      });
      return new EbpfProgram(native, options.mode, options.pollIntervalMs);
    } catch (err) {
      const e = err as Error & { stage?: string; errno?: number; libbpfLog?: string };
      throw new EbpfLoadError(options.mode, e.stage ?? 'open', e.errno ?? 0, e.message, e.libbpfLog ?? '');
    }
  }

  start(handlers: EbpfProgramHandlers): void {
    if (this.closed) return;
    this.native.start((batch, count) => handlers.onEvents(batch, count), (errno, message) => handlers.onError(errno, message), this.pollIntervalMs);
  }

  /** Keys are protocol << 16 | port; replaces the whole set. */
  setServicePorts(ports: { protocol: number; port: number }[]): number {
    if (this.closed) return 0;
    return this.native.setServicePorts(ports.map((p) => p.protocol * 65536 + p.port));
  }

  namespaceCounters(): NamespaceCounters[] {
    return this.closed ? [] : this.native.namespaceCounters();
  }

  stats(): EbpfProgramStats {
    return this.native.stats();
  }

  attachments(): { attached: string[]; skipped: string[] } {
    return this.native.attachments();
  }

  /** Detaches every program (closing a netfilter link unhooks it) and frees the maps. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.native.stop();
    this.native.close();
  }
}
