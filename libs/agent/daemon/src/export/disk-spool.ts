import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/*
 * Record batches waiting for the hub, one file each, oldest first. Bounded by bytes: when full, a new batch is
 * refused (the caller counts the loss) rather than the disk filling up. A batch is written to a temporary name,
 * fsynced, renamed and the directory fsynced: after a crash or a power cut a batch is either whole under its name or
 * absent, never half-written under a name that would later be sent (rename alone orders nothing on disk).
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
}

export class DiskSpool {
  private files: SpoolFile[] = [];
  private sequence = 0;
  bytes = 0;

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
  append(body: string, summary?: BatchSummary): AppendOutcome {
    const bytes = Buffer.byteLength(body);
    if (this.bytes + bytes > this.maxBytes) return { kind: 'full' };
    // Zero-padded time then a per-process sequence: names sort in the order batches were made, across restarts.
    const name = `${String(Date.now()).padStart(15, '0')}-${process.pid}-${String(this.sequence++).padStart(9, '0')}${SUFFIX}`;
    try {
      this.writeDurably(name, body);
    } catch (err) {
      return { kind: 'failed', error: err as NodeJS.ErrnoException };
    }
    this.files.push(summary ? { name, bytes, summary } : { name, bytes });
    this.bytes += bytes;
    return { kind: 'spooled' };
  }

  /** The oldest batch's name, without reading it. */
  oldestName(): string | undefined {
    return this.files[0]?.name;
  }

  /** What `append` or `replace` was told of the batch; undefined for a file an earlier process spooled. */
  summaryOf(name: string): BatchSummary | undefined {
    return this.files.find((f) => f.name === name)?.summary;
  }

  /** Throws what the file system says (EIO, ENOENT) when the file cannot be read. */
  read(name: string): string {
    return readFileSync(join(this.dir, name), 'utf8');
  }

  /**
   * Replaces one batch by several (the halves of a batch too large for the receiver), in its place in the queue:
   * their names extend its name, so they sort where it did, before every later batch, across restarts too. Throws
   * if a part cannot be written; then the original stays and the parts written so far are removed.
   */
  replace(name: string, parts: readonly { body: string; summary?: BatchSummary }[]): string[] {
    const index = this.files.findIndex((f) => f.name === name);
    if (index < 0) throw new Error(`${name} is not in the spool`);
    const written: SpoolFile[] = [];
    try {
      parts.forEach(({ body, summary }, i) => {
        const partName = name.replace(SUFFIX, `-${i}${SUFFIX}`);
        this.writeDurably(partName, body);
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
    if (!this.forget(name)) return;
    tryUnlink(join(this.dir, name));
  }

  /**
   * Takes a batch out of the queue into `quarantine/` or `dead-letter/`. If even the move fails (the disk is dying)
   * the file is deleted, and if that fails too it is only forgotten until the next start: the queue moves on.
   */
  retire(name: string, into: RetiredDir): void {
    if (!this.forget(name)) return;
    const target = join(this.dir, into);
    try {
      mkdirSync(target, { recursive: true });
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
    return true;
  }

  private writeDurably(name: string, body: string): void {
    const tmp = join(this.dir, `${name}.tmp`);
    try {
      const fd = openSync(tmp, 'w');
      try {
        writeFileSync(fd, body);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, join(this.dir, name));
    } catch (err) {
      tryUnlink(tmp); // what ENOSPC left behind would only take space
      throw err;
    }
    try {
      fsyncDirectory(this.dir);
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
