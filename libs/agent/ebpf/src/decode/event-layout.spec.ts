import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EVENT_LAYOUT, EVENT_SIZE } from './event-layout';

/*
 * Pins the decoder's offsets to the C struct: compiles a host program over bpf/event.h (the header the BPF program
 * writes through) that prints offsetof() and sizeof() of every field, and compares them with event-layout.ts. The
 * BPF target lays out this struct as the host does (same sizes and alignments for fixed-width fields).
 */
const HEADER_DIR = join(__dirname, '..', '..', 'bpf');

function compiledLayout(): Record<string, number> {
  const dir = mkdtempSync(join(tmpdir(), 'natlens-event-layout-'));
  try {
    const fields = Object.keys(EVENT_LAYOUT);
    const program = [
      '#include <stddef.h>',
      '#include <stdio.h>',
      '#include "event.h"',
      'int main(void) {',
      ...fields.map((f) => `  printf("${f} %zu\\n", offsetof(struct natlens_event, ${f}));`),
      '  printf("sizeof %zu\\n", sizeof(struct natlens_event));',
      '  return 0;',
      '}',
    ].join('\n');
    writeFileSync(join(dir, 'layout.c'), program);
    execFileSync('cc', ['-I', HEADER_DIR, '-o', join(dir, 'layout'), join(dir, 'layout.c')]);
    const out = execFileSync(join(dir, 'layout'), { encoding: 'utf8' });
    return Object.fromEntries(out.trim().split('\n').map((line) => {
      const [name = '', value = ''] = line.split(' ');
      return [name, Number(value)];
    }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('struct natlens_event layout', () => {
  const compiled = compiledLayout();

  it.each(Object.entries(EVENT_LAYOUT))('%s sits at offset %d, as in bpf/event.h', (field, offset) => {
    expect(compiled[field]).toBe(offset);
  });

  it('has the size the decoder steps by', () => {
    expect(compiled['sizeof']).toBe(EVENT_SIZE);
  });

  it('names every field of the C struct', () => {
    // a field added to the C struct but not to the table would shift nothing yet be silently ignored
    const header = execFileSync('sed', ['-n', '/^struct natlens_event {/,/^};/p', join(HEADER_DIR, 'event.h')], { encoding: 'utf8' });
    const declared = [...header.matchAll(/^\s*__u\d+ (\w+)(?:\[\d+\])?;/gm)].map((m) => m[1]);
    expect(declared).toEqual(Object.keys(EVENT_LAYOUT));
  });
});
