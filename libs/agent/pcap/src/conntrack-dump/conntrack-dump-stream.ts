import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { ParseError } from '@natlens/agent-wire';
import { startModuleWorker } from '../worker/module-worker';
import { ConntrackDumpReader, type ConntrackDumpReaderOptions, type ConntrackDumpReadSummary } from './conntrack-dump-reader';
import type { ConntrackDumpEntry } from './conntrack-entry';
import type { WorkerReply, WorkerRequest } from './conntrack-dump-worker-protocol';

/*
 * A conntrack dump read as its bytes arrive, off the caller's thread once it is large: the first MiB is read in
 * place (starting a thread would cost more than reading it), and a dump that grows past it is read in a worker
 * thread (conntrack-dump.worker.ts), so a hub that imports an upload keeps answering /healthz, ingest and the
 * dashboard meanwhile. The worker reads from the first byte again (the first MiB is kept for it) and the entries
 * already handed out are skipped, so the entries come back once each, in order, wherever they were read.
 */
export const WORKER_THRESHOLD_BYTES = 1 << 20;

export interface ConntrackDumpStreamOptions extends ConntrackDumpReaderOptions {
  /** Read in a worker once this many bytes have arrived (default 1 MiB; 0: always). */
  workerThresholdBytes?: number;
}

export interface ConntrackDumpStream {
  /** Whether reading moved to a worker thread (the dump passed the threshold). */
  readonly threaded: boolean;
  push(chunk: Buffer): void;
  /** The entries read since the last call, in order. */
  take(): ConntrackDumpEntry[];
  /** Resolves when every byte pushed is read, with the summary; take() then holds the last entries. */
  end(): Promise<ConntrackDumpReadSummary>;
  /** Stops reading (the import was refused or failed): ends the worker if there is one. */
  close(): void;
}

const WORKER_ENTRY = { source: join(__dirname, 'conntrack-dump.worker.ts'), bundled: 'conntrack-dump-worker.js' };

export function openConntrackDumpStream(options: ConntrackDumpStreamOptions = {}): ConntrackDumpStream {
  return new ThreadedDumpStream(options);
}

class ThreadedDumpStream implements ConntrackDumpStream {
  private entries: ConntrackDumpEntry[] = [];
  private held: Buffer[] = [];
  private heldBytes = 0;
  private inPlace: ConntrackDumpReader | undefined;
  /** entries the in-place reader handed out: the worker's first ones, skipped */
  private readInPlace = 0;
  private worker: Worker | undefined;
  private finished: Promise<ConntrackDumpReadSummary> | undefined;
  private failure: Error | undefined;
  private readonly threshold: number;
  private readonly readerOptions: ConntrackDumpReaderOptions;

  constructor(options: ConntrackDumpStreamOptions) {
    const { workerThresholdBytes, ...readerOptions } = options;
    this.threshold = workerThresholdBytes ?? WORKER_THRESHOLD_BYTES;
    this.readerOptions = readerOptions;
    this.inPlace = new ConntrackDumpReader((entry) => {
      this.readInPlace++;
      this.entries.push(entry);
    }, readerOptions);
  }

  get threaded(): boolean {
    return this.worker !== undefined;
  }

  push(chunk: Buffer): void {
    if (this.failure) throw this.failure;
    if (this.worker) return this.send(chunk);
    this.held.push(chunk);
    this.heldBytes += chunk.length;
    if (this.heldBytes >= this.threshold && this.heldBytes > 0) this.startWorker();
    else this.inPlace?.push(chunk);
  }

  take(): ConntrackDumpEntry[] {
    const entries = this.entries;
    this.entries = [];
    return entries;
  }

  end(): Promise<ConntrackDumpReadSummary> {
    if (this.finished) return this.finished;
    if (!this.worker) {
      const reader = this.inPlace ?? new ConntrackDumpReader((entry) => this.entries.push(entry), this.readerOptions);
      this.held = [];
      this.finished = Promise.resolve(reader.end());
      return this.finished;
    }
    const worker = this.worker;
    this.finished = new Promise<ConntrackDumpReadSummary>((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      worker.on('message', (reply: WorkerReply) => {
        if (reply.done) resolve({ format: reply.done.format, errorCount: reply.done.errorCount, errors: reply.done.errors.map((e) => new ParseError(e.offset, e.expected, e.what)) });
      });
      worker.once('error', reject);
      worker.once('exit', (code) => reject(this.failure ?? new Error(`the conntrack dump reader stopped before the end (exit code ${code})`)));
      worker.postMessage({ end: true } satisfies WorkerRequest);
    });
    return this.finished;
  }

  close(): void {
    this.held = [];
    this.inPlace = undefined;
    void this.worker?.terminate();
    this.worker = undefined;
  }

  private startWorker(): void {
    this.inPlace = undefined;
    let skip = this.readInPlace;
    const worker = startModuleWorker(WORKER_ENTRY, { workerData: this.readerOptions });
    worker.on('message', (reply: WorkerReply) => {
      if (!reply.entries) return;
      for (const entry of reply.entries) {
        if (skip > 0) skip--;
        else this.entries.push(entry);
      }
    });
    worker.on('error', (err) => (this.failure = err));
    this.worker = worker;
    for (const chunk of this.held) this.send(chunk);
    this.held = [];
  }

  private send(chunk: Buffer): void {
    const copy = new Uint8Array(chunk); // its own ArrayBuffer, moved to the worker rather than cloned
    this.worker?.postMessage({ chunk: copy } satisfies WorkerRequest, [copy.buffer]);
  }
}
