import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/*
 * Record batches waiting for the hub, one file each, oldest first. Bounded by bytes: when full, a new batch is
 * refused (the caller counts the loss) rather than the disk filling up. Files are written to a temporary name and
 * renamed, so a crash never leaves a half-written batch that would later be sent.
 */
const SUFFIX = '.batch.json';

export class DiskSpool {
  private files: { name: string; bytes: number }[] = [];
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
        unlinkSync(path);
        continue;
      }
      if (!name.endsWith(SUFFIX)) continue;
      const bytes = statSync(path).size;
      this.files.push({ name, bytes });
      this.bytes += bytes;
    }
  }

  get count(): number {
    return this.files.length;
  }

  /** The new file's name, or undefined when the batch does not fit under maxBytes. */
  append(body: string): string | undefined {
    const bytes = Buffer.byteLength(body);
    if (this.bytes + bytes > this.maxBytes) return undefined;
    // Zero-padded time then a per-process sequence: names sort in the order batches were made, across restarts.
    const name = `${String(Date.now()).padStart(15, '0')}-${process.pid}-${String(this.sequence++).padStart(9, '0')}${SUFFIX}`;
    const tmp = join(this.dir, `${name}.tmp`);
    writeFileSync(tmp, body);
    renameSync(tmp, join(this.dir, name));
    this.files.push({ name, bytes });
    this.bytes += bytes;
    return name;
  }

  oldest(): { name: string; body: string } | undefined {
    const first = this.files[0];
    if (!first) return undefined;
    return { name: first.name, body: readFileSync(join(this.dir, first.name), 'utf8') };
  }

  remove(name: string): void {
    const index = this.files.findIndex((f) => f.name === name);
    if (index < 0) return;
    const [file] = this.files.splice(index, 1);
    this.bytes -= file?.bytes ?? 0;
    try {
      unlinkSync(join(this.dir, name));
    } catch {
      // already gone
    }
  }
}
