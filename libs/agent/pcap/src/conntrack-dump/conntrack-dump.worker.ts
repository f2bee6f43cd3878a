import { parentPort, workerData } from 'node:worker_threads';
import { ConntrackDumpReader, type ConntrackDumpReaderOptions } from './conntrack-dump-reader';
import type { ConntrackDumpEntry } from './conntrack-entry';
import type { WorkerReply, WorkerRequest } from './conntrack-dump-worker-protocol';

/*
 * The worker side of conntrack-dump-stream.ts: chunks in, entries out after each chunk, the summary at the end.
 * Started by startModuleWorker (its own file in the compiled build: tools/build/bundle-cli.mjs).
 */
const port = parentPort;
if (!port) throw new Error('conntrack-dump.worker runs as a worker thread (conntrack-dump-stream.ts starts it)');
let entries: ConntrackDumpEntry[] = [];
const reader = new ConntrackDumpReader((entry) => entries.push(entry), workerData as ConntrackDumpReaderOptions);
const post = (reply: WorkerReply) => port.postMessage(reply);

port.on('message', (request: WorkerRequest) => {
  if (request.chunk) reader.push(Buffer.from(request.chunk.buffer, request.chunk.byteOffset, request.chunk.byteLength));
  const summary = request.end ? reader.end() : undefined;
  if (entries.length > 0) post({ entries });
  entries = [];
  if (summary) {
    post({ done: { format: summary.format, errorCount: summary.errorCount, errors: summary.errors.map((e) => ({ offset: e.offset, expected: e.expected, what: e.what })) } });
    port.close();
  }
});
