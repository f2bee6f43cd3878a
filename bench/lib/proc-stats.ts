/*
 * CPU and process accounting from /proc for the benchmarks: a process's utime+stime, the machine's busy time, and
 * which process used how much of it. Shared by bench/conntrack-events.ts and bench/ebpf-vs-conntrack.ts.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';

export const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

export interface ProcStat {
  comm: string;
  ppid: number;
  ticks: number;
}

export function readProcStat(pid: number): ProcStat | undefined {
  return readStatFile(`/proc/${pid}/stat`);
}

/** utime+stime of each thread of a live process, in clock ticks, by thread id (threads that ended are left out). */
export function threadCpuTicks(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    const stat = readStatFile(`/proc/${pid}/task/${tid}/stat`);
    if (stat) out.set(Number(tid), stat.ticks);
  }
  return out;
}

function readStatFile(file: string): ProcStat | undefined {
  try {
    const text = fs.readFileSync(file, 'utf8');
    const close = text.lastIndexOf(')');
    const f = text.slice(close + 2).split(' ');
    // after "pid (comm) ": state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime
    return { comm: text.slice(text.indexOf('(') + 1, close), ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) };
  } catch {
    return undefined;
  }
}

/** utime+stime of a live process, in clock ticks; throws if it has gone (a measurement would be wrong). */
export function cpuTicks(pid: number, what: string): number {
  const s = readProcStat(pid);
  if (!s) throw new Error(`${what} (pid ${pid}) has exited`);
  return s.ticks;
}

export function procStatusKb(pid: number, field: 'VmHWM' | 'VmRSS'): number | undefined {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

export function cmdline(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    return '';
  }
}

export function netnsInode(file: string): number | undefined {
  try {
    return fs.statSync(file).ino;
  } catch {
    return undefined;
  }
}

/** System-wide CPU from /proc/stat: busy and total ticks. */
export function systemCpu(): { busy: number; total: number } {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { busy: total - idle, total };
}

/** Every process's CPU ticks, to say afterwards who else used the machine during a window. */
export function allProcs(): Map<number, ProcStat> {
  const out = new Map<number, ProcStat>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const s = readProcStat(Number(entry));
    if (s) out.set(Number(entry), s);
  }
  return out;
}

export function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

export function readSegment(file: string, from: number, to: number): string {
  if (to <= from) return '';
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(to - from);
    fs.readSync(fd, buf, 0, buf.length, from);
    return buf.toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * A process's resident memory by what backs it (/proc/<pid>/smaps), KiB: the node binary's pages, BPF maps mapped
 * into the process (the eBPF source's ring buffer), malloc's heap, other anonymous memory (V8's heap is there), and
 * the rest (shared libraries, other files).
 */
export function rssByMapping(pid: number): { nodeBinary: number; bpfMaps: number; mallocHeap: number; anonymous: number; other: number } | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/smaps`, 'utf8');
  } catch {
    return undefined;
  }
  const out = { nodeBinary: 0, bpfMaps: 0, mallocHeap: 0, anonymous: 0, other: 0 };
  let bucket: keyof typeof out = 'other';
  for (const line of text.split('\n')) {
    const mapping = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+(?:\s+(.*))?$/.exec(line);
    if (mapping) {
      const name = mapping[1]?.trim() ?? '';
      bucket = name === '' ? 'anonymous' : name === '[heap]' ? 'mallocHeap' : name.startsWith('anon_inode:bpf') ? 'bpfMaps' : /\/node$/.test(name) ? 'nodeBinary' : 'other';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) out[bucket] += Number(rss[1]);
  }
  return out;
}
