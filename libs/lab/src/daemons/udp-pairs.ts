import { Worker } from 'node:worker_threads';
import { parseEchoAnswer } from './echo-answer';
import { udpSourcePortAt, UDP_SOURCE_PORT_FIRST } from './udp-source-ports';

/*
 * The DNS race (`lab traffic --pairs`): a resolver sends its A and AAAA queries at once from one UDP socket. Both
 * datagrams have one 5-tuple; when the node's kernel handles them at the same time on two CPUs, each creates a
 * conntrack entry, DNAT picks an endpoint for each, and only one entry can be inserted. The loser is dropped
 * (insert_failed: the 5-second DNS delay) or, on kernels that resolve the clash, let through (clash_resolve): then
 * the two queries of a pair may even reach two different pods.
 *
 * A race needs the two sends on two CPUs at once. Node cannot send on one socket from two threads, so each query of
 * a pair leaves from its own worker thread through its own socket, both bound to the same source port (SO_REUSEADDR)
 * and connected to the same Service: on the wire, and to conntrack, one tuple sent twice at once, exactly what one
 * socket used from two threads sends. The workers wait on a shared gate and are released together. Answers may
 * come back to either socket; a pair is done when both are in or the timeout passes.
 */

export interface UdpPairsConfig {
  host: string;
  port: number;
  pairs: number;
  timeoutMs: number;
  firstSourcePort?: number;
}

export interface UdpPairsResult {
  /** Queries sent: two per pair. */
  made: number;
  succeeded: number;
  failed: number;
  servedBy: Record<string, number>;
  seen: Record<string, number>;
  errors: Record<string, number>;
  pairs: {
    sent: number;
    /** Pairs whose both queries were answered. */
    bothAnswered: number;
    /** Pairs answered by two different pods: each query got a conntrack entry of its own (a clash, resolved). */
    split: number;
  };
}

/** Plain JavaScript, run with `eval`: the compiled bundle and the sources both start it without a file of its own. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const dgram = require('node:dgram');
const gate = new Int32Array(workerData.gate);
let socket;
parentPort.on('message', (msg) => {
  if (msg.type === 'close') {
    try {
      if (socket) socket.close();
    } catch (err) {
      // closed already (after an error): nothing to release
    }
    socket = undefined;
    parentPort.postMessage({ type: 'closed' });
    return;
  }
  const s = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  socket = s;
  s.on('message', (m) => parentPort.postMessage({ type: 'answer', text: m.toString('utf8') }));
  s.on('error', (err) => parentPort.postMessage({ type: 'error', code: err.code || err.message }));
  s.bind(msg.sourcePort, () => {
    s.connect(workerData.port, workerData.host, () => {
      parentPort.postMessage({ type: 'ready' });
      // Spins until the main thread opens the gate for this generation, then sends at once: a spinning thread leaves
      // within nanoseconds of the store, where a sleeping one (Atomics.wait) would be woken one after the other.
      while (Atomics.load(gate, 0) < msg.generation);
      s.send(msg.payload);
    });
  });
});
`;

type WorkerMessage = { type: 'ready' } | { type: 'answer'; text: string } | { type: 'error'; code: string } | { type: 'closed' };

export async function runUdpPairs(config: UdpPairsConfig): Promise<UdpPairsResult> {
  const gateBuffer = new SharedArrayBuffer(4);
  const gate = new Int32Array(gateBuffer);
  const workers = [0, 1].map(() => new Worker(WORKER_SOURCE, { eval: true, workerData: { gate: gateBuffer, host: config.host, port: config.port } }));
  const result: UdpPairsResult = { made: 0, succeeded: 0, failed: 0, servedBy: {}, seen: {}, errors: {}, pairs: { sent: 0, bothAnswered: 0, split: 0 } };
  let listener: ((msg: WorkerMessage) => void) | undefined;
  for (const worker of workers) worker.on('message', (msg: WorkerMessage) => listener?.(msg));
  // A worker whose socket failed (bind, connect) says so instead of ready: the pair goes on without its query.
  const waitFor = (count: number, type: WorkerMessage['type']) =>
    new Promise<void>((resolve) => {
      let seen = 0;
      listener = (msg) => {
        if (msg.type === 'error') result.errors[msg.code] = (result.errors[msg.code] ?? 0) + 1;
        if ((msg.type === type || (type === 'ready' && msg.type === 'error')) && ++seen === count) resolve();
      };
    });
  try {
    for (let i = 0; i < config.pairs; i++) {
      const generation = i + 1;
      const sourcePort = udpSourcePortAt(config.firstSourcePort ?? UDP_SOURCE_PORT_FIRST, i);
      const ready = waitFor(2, 'ready');
      workers.forEach((worker, k) => worker.postMessage({ type: 'query', sourcePort, generation, payload: `natlens lab query ${k === 0 ? 'A' : 'AAAA'}\n` }));
      await ready;
      const pods: string[] = [];
      const answered = new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, config.timeoutMs);
        listener = (msg) => {
          if (msg.type === 'error') result.errors[msg.code] = (result.errors[msg.code] ?? 0) + 1;
          if (msg.type !== 'answer') return;
          const answer = parseEchoAnswer(msg.text);
          if (!answer) return;
          pods.push(answer.pod);
          result.servedBy[answer.pod] = (result.servedBy[answer.pod] ?? 0) + 1;
          result.seen[answer.client] = (result.seen[answer.client] ?? 0) + 1;
          if (pods.length === 2) {
            clearTimeout(timer);
            resolve();
          }
        };
      });
      Atomics.store(gate, 0, generation);
      Atomics.notify(gate, 0);
      result.made += 2;
      result.pairs.sent++;
      await answered;
      result.succeeded += pods.length;
      result.failed += 2 - pods.length;
      if (pods.length < 2) result.errors['timeout'] = (result.errors['timeout'] ?? 0) + 2 - pods.length;
      if (pods.length === 2) result.pairs.bothAnswered++;
      if (new Set(pods).size === 2) result.pairs.split++;
      const closed = waitFor(2, 'closed');
      for (const worker of workers) worker.postMessage({ type: 'close' });
      await closed;
    }
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return result;
}
