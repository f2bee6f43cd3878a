import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/*
 * Record batches waiting for the hub, one file each, oldest first. Bounded by bytes: when full, a new batch is
 * refused (the caller counts the loss) rather than the disk filling up. A batch is written to a temporary name,
 * fsynced, renamed and the directory fsynced: after a crash or a power cut a batch is either whole under its name or
 * absent, never half-written under a name that would later be sent (rename alone orders nothing on disk).
 *
 * A batch may also be held in memory first (`hold`), in its place in the queue, and written only if it is still
 * waiting later (`persistHeld`): a batch the hub takes at once then costs no write, fsync, read-back or unlink (≈ 21 %
 * of a busy agent's main-thread time when every batch went to disk, mostly blocked on the disk). It is the exporter's
 * to say when to write them.
 *
 * Files that must leave the queue without being delivered are moved, not deleted, so an operator can look at them:
 * `quarantine/` holds files that could not be read or are not a batch, `dead-letter/` batches the receiver refused
 * for good. Each keeps at most a quarter of the spool's limit, oldest files deleted first.
 */
const SUFFIX = '.batch.json';
export const QUARANTINE_DIR = 'quarantine';
export const DEAD_LETTER_DIR = 'dead-letter';
export type RetiredDir = typeof QUARANTINE_DIR | typeof DEAD_LETTER_DIR;

export type AppendOutcome = { kind: 'spooled' } | { kind: 'full' } | { kind: 'failed'; error: NodeJS.ErrnoException };

/** What the sender needs to know of a batch without reading it again: whose records, how many. */
export interface BatchSummary {
  readonly node: string;
  readonly records: number;
}

interface SpoolFile {
  readonly name: string;
  readonly bytes: number;
  /** Known for batches this process spooled; files found at start are read to learn it. */
  readonly summary?: BatchSummary;
  /** A held batch (not on disk yet): its body, and when it was held (Date.now()). */
  readonly held?: { readonly body: Buffer; readonly since: number };
}

/** A held batch that could not be written when it had to be: it is gone, and the caller counts its records lost. */
export interface PersistFailure {
  readonly name: string;
  readonly summary?: BatchSummary;
  readonly outcome: Exclude<AppendOutcome, { kind: 'spooled' }>;
}

export class DiskSpool {
  private files: SpoolFile[] = [];
  private sequence = 0;
  bytes = 0;
  /** Bytes of the held batches (also counted in `bytes`). */
  heldBytes = 0;

  constructor(
    readonly dir: string,
    readonly maxBytes: number,
  ) {
    mkdirSync(dir, { recursive: true });
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (name.endsWith('.tmp')) {
        tryUnlink(path);
        continue;
      }
      if (!name.endsWith(SUFFIX)) continue;
      let bytes: number;
      try {
        bytes = statSync(path).size;
      } catch {
        continue; // gone or unreadable between listing and stat: nothing to send
      }
      this.files.push({ name, bytes });
      this.bytes += bytes;
    }
  }

  get count(): number {
    return this.files.length;
  }

  /** Spools one batch: `full` when it does not fit under maxBytes, `failed` when the disk refused it (ENOSPC, EIO). */
  append(body: string | Buffer, summary?: BatchSummary): AppendOutcome {
    const bytes = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
    if (this.bytes + bytes > this.maxBytes) return { kind: 'full' };
    const name = this.nextName();
    try {
      this.writeDurably(this.dir, name, body);
    } catch (err) {
      return { kind: 'failed', error: err as NodeJS.ErrnoException };
    }
    this.files.push(summary ? { name, bytes, summary } : { name, bytes });
    this.bytes += bytes;
    return { kind: 'spooled' };
  }

  /** Queues one batch in memory, in order with the others; `full` as for append. persistHeld writes it. */
  hold(body: Buffer, summary?: BatchSummary, now = Date.now()): AppendOutcome {
    if (this.bytes + body.length > this.maxBytes) return { kind: 'full' };
    const name = this.nextName();
    const held = { body, since: now };
    this.files.push(summary ? { name, bytes: body.length, summary, held } : { name, bytes: body.length, held });
    this.bytes += body.length;
    this.heldBytes += body.length;
    return { kind: 'spooled' };
  }

  /**
   * Writes the held batches held before `before` (all of them by default) to disk, oldest first. One the disk
   * refuses leaves the queue and is returned, for the caller to count as lost, as append would have refused it.
   */
  persistHeld(before = Number.POSITIVE_INFINITY): PersistFailure[] {
    const failures: PersistFailure[] = [];
    if (this.heldBytes === 0) return failures;
    for (const file of [...this.files]) {
      if (!file.held || file.held.since >= before) continue;
      try {
        this.writeDurably(this.dir, file.name, file.held.body);
        this.files[this.files.indexOf(file)] = file.summary ? { name: file.name, bytes: file.bytes, summary: file.summary } : { name: file.name, bytes: file.bytes };
        this.heldBytes -= file.bytes;
      } catch (err) {
        this.forget(file.name);
        failures.push({ name: file.name, ...(file.summary ? { summary: file.summary } : {}), outcome: { kind: 'failed', error: err as NodeJS.ErrnoException } });
      }
    }
    return failures;
  }

  /** Zero-padded time then a per-process sequence: names sort in the order batches were made, across restarts. */
  private nextName(): string {
    return `${String(Date.now()).padStart(15, '0')}-${process.pid}-${String(this.sequence++).padStart(9, '0')}${SUFFIX}`;
  }

  /** The oldest batch's name, without reading it. */
  oldestName(): string | undefined {
    return this.files[0]?.name;
  }

  /** What `append` or `replace` was told of the batch; undefined for a file an earlier process spooled. */
  summaryOf(name: string): BatchSummary | undefined {
    return this.files.find((f) => f.name === name)?.summary;
  }

  /** A held batch's body, or the file's; throws what the file system says (EIO, ENOENT) when it cannot be read. */
  read(name: string): Buffer {
    return this.files.find((f) => f.name === name)?.held?.body ?? readFileSync(join(this.dir, name));
  }

  /**
   * Replaces one batch by several (the halves of a batch too large for the receiver), in its place in the queue:
   * their names extend its name, so they sort where it did, before every later batch, across restarts too. Throws
   * if a part cannot be written; then the original stays and the parts written so far are removed.
   */
  replace(name: string, parts: readonly { body: string | Buffer; summary?: BatchSummary }[]): string[] {
    const index = this.files.findIndex((f) => f.name === name);
    if (index < 0) throw new Error(`${name} is not in the spool`);
    const written: SpoolFile[] = [];
    try {
      parts.forEach(({ body, summary }, i) => {
        const partName = name.replace(SUFFIX, `-${i}${SUFFIX}`);
        this.writeDurably(this.dir, partName, body);
        const bytes = Buffer.byteLength(body);
        written.push(summary ? { name: partName, bytes, summary } : { name: partName, bytes });
      });
    } catch (err) {
      for (const part of written) tryUnlink(join(this.dir, part.name));
      throw err;
    }
    this.remove(name);
    this.files.splice(index, 0, ...written);
    for (const part of written) this.bytes += part.bytes;
    return written.map((part) => part.name);
  }

  remove(name: string): void {
    const held = this.files.find((f) => f.name === name)?.held;
    if (!this.forget(name) || held) return;
    tryUnlink(join(this.dir, name));
  }

  /**
   * Takes a batch out of the queue into `quarantine/` or `dead-letter/`. If even the move fails (the disk is dying)
   * the file is deleted, and if that fails too it is only forgotten until the next start: the queue moves on.
   */
  retire(name: string, into: RetiredDir): void {
    const held = this.files.find((f) => f.name === name)?.held;
    if (!this.forget(name)) return;
    const target = join(this.dir, into);
    try {
      mkdirSync(target, { recursive: true });
      if (held) {
        this.writeDurably(target, name, held.body);
        this.prune(target, Math.floor(this.maxBytes / 4));
        return;
      }
      renameSync(join(this.dir, name), join(target, name));
      fsyncDirectory(this.dir);
      fsyncDirectory(target);
    } catch {
      tryUnlink(join(this.dir, name));
      return;
    }
    this.prune(target, Math.floor(this.maxBytes / 4));
  }

  /** Bytes held in `quarantine/` or `dead-letter/` (0 when absent). */
  retiredBytes(into: RetiredDir): number {
    return listBatches(join(this.dir, into)).reduce((sum, file) => sum + file.bytes, 0);
  }

  private forget(name: string): boolean {
    const index = this.files.findIndex((f) => f.name === name);
    if (index < 0) return false;
    const [file] = this.files.splice(index, 1);
    this.bytes -= file?.bytes ?? 0;
    if (file?.held) this.heldBytes -= file.bytes;
    return true;
  }

  private writeDurably(dir: string, name: string, body: string | Buffer): void {
    const tmp = join(dir, `${name}.tmp`);
    try {
      const fd = openSync(tmp, 'w');
      try {
        writeFileSync(fd, body);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, join(dir, name));
    } catch (err) {
      tryUnlink(tmp); // what ENOSPC left behind would only take space
      throw err;
    }
    try {
      fsyncDirectory(dir);
    } catch {
      // The batch is whole under its name and will be sent; only its surviving a power cut is in doubt, and
      // counting it lost would be wrong.
    }
  }

  private prune(dir: string, maxBytes: number): void {
    const files = listBatches(dir);
    let total = files.reduce((sum, file) => sum + file.bytes, 0);
    for (const file of files) {
      if (total <= maxBytes) break;
      tryUnlink(join(dir, file.name));
      total -= file.bytes;
    }
  }
}

function listBatches(dir: string): { name: string; bytes: number }[] {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return [];
  }
  const files: { name: string; bytes: number }[] = [];
  for (const name of names) {
    try {
      files.push({ name, bytes: statSync(join(dir, name)).size });
    } catch {
      // gone meanwhile
    }
  }
  return files;
}

/** Makes a rename or unlink in `dir` durable (POSIX: fsync of the directory, not of the file, records its entries). */
function fsyncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function tryUnlink(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone, or the disk refuses: nothing more to do here
  }
}
