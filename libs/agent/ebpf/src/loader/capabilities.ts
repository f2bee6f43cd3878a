import { existsSync, readFileSync, statSync } from 'node:fs';
import { release } from 'node:os';

/*
 * What this kernel offers the eBPF source, checked before anything is loaded, so the agent can say in one line why it
 * uses which hook (or falls back to the conntrack source) instead of a loader stack trace.
 */
export interface EbpfCapabilities {
  kernelRelease: string;
  /** /sys/kernel/btf/vmlinux: CO-RE needs the running kernel's BTF. */
  btf: boolean;
  /** BPF_PROG_TYPE_NETFILTER and its link: 6.4+. */
  netfilterLink: boolean;
  /** fexit (BPF trampolines): 5.5+ on x86-64; a kernel may still refuse it by policy (EPERM), found out at load. */
  fexit: boolean;
  /** skb:kfree_skb's drop reason: 5.17+. */
  dropReason: boolean;
  /** Inode of this process's network namespace: the one whose connections and drops are reported. */
  netns: number;
}

export type EbpfMode = 'netfilter' | 'fexit';

/** "6.18.44-fc-v669" → [6, 18]; anything unreadable → [0, 0] (no hook is assumed available). */
export function kernelVersionOf(text: string): [number, number] {
  const match = /^(\d+)\.(\d+)/.exec(text);
  return match ? [Number(match[1]), Number(match[2])] : [0, 0];
}

function atLeast([major, minor]: [number, number], wantMajor: number, wantMinor: number): boolean {
  return major > wantMajor || (major === wantMajor && minor >= wantMinor);
}

export function capabilitiesOf(kernelRelease: string, btf: boolean, netns: number): EbpfCapabilities {
  const version = kernelVersionOf(kernelRelease);
  return {
    kernelRelease,
    btf,
    netfilterLink: btf && atLeast(version, 6, 4),
    fexit: btf && atLeast(version, 5, 5),
    dropReason: btf && atLeast(version, 5, 17),
    netns,
  };
}

export function probeCapabilities(): EbpfCapabilities {
  let kernelRelease = release();
  try {
    kernelRelease = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  } catch {
    // os.release() is the same string where /proc is mounted
  }
  return capabilitiesOf(kernelRelease, existsSync('/sys/kernel/btf/vmlinux'), statSync('/proc/self/ns/net').ino);
}

/** The hooks to try, best first: the netfilter link sees END events too; fexit only NEW. */
export function modesToTry(caps: EbpfCapabilities, wanted?: EbpfMode): EbpfMode[] {
  const available: EbpfMode[] = [];
  if (caps.netfilterLink) available.push('netfilter');
  if (caps.fexit) available.push('fexit');
  return wanted ? available.filter((m) => m === wanted) : available;
}
