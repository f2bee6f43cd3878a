import type { EbpfCapabilities, EbpfMode } from './capabilities';
import { modesToTry } from './capabilities';
import { EbpfLoadError, EbpfNotBuiltError, EbpfProgram, type EbpfProgramOptions } from './ebpf-program';

/*
 * Picks the best hook this kernel allows: the netfilter link, else fexit on nf_nat_setup_info. Every refusal is kept
 * with its reason, so the caller can log one line and fall back to the conntrack source.
 */
export interface EbpfAttempt {
  mode: EbpfMode;
  error: string;
}

export class EbpfUnavailableError extends Error {
  constructor(
    readonly capabilities: EbpfCapabilities,
    readonly attempts: EbpfAttempt[],
    reason: string,
  ) {
    super(reason);
    this.name = 'EbpfUnavailableError';
  }
}

/** A refusal in plain words, with what to do about it. */
export function explainLoadError(err: unknown): string {
  if (err instanceof EbpfNotBuiltError) return err.message;
  if (err instanceof EbpfLoadError) {
    const what = err.mode === 'netfilter' ? 'the netfilter-link hook' : 'fexit on nf_nat_setup_info';
    if (err.errno === 1 || err.errno === 13) {
      return `${what} was refused at ${err.stage} (${err.errno === 1 ? 'EPERM' : 'EACCES'}): this kernel's policy or missing CAP_BPF/CAP_PERFMON/CAP_NET_ADMIN forbids it`;
    }
    const verifier = err.libbpfLog.split('\n').filter((l) => l.trim() !== '').slice(-3).join(' | ');
    return `${what} failed at ${err.stage}: ${err.message}${verifier ? ` (libbpf: ${verifier})` : ''}`;
  }
  return (err as Error).message;
}

export function openEbpf(caps: EbpfCapabilities, options: Omit<EbpfProgramOptions, 'mode' | 'netns' | 'drops'> & { mode?: EbpfMode; drops?: boolean }): { program: EbpfProgram; attempts: EbpfAttempt[] } {
  if (!caps.btf) throw new EbpfUnavailableError(caps, [], `no kernel BTF (/sys/kernel/btf/vmlinux is missing; CONFIG_DEBUG_INFO_BTF=y is needed for CO-RE)`);
  const modes = modesToTry(caps, options.mode);
  if (modes.length === 0) {
    const need = options.mode === 'fexit' ? 'fexit needs 5.5+' : options.mode === 'netfilter' ? 'the netfilter link needs 6.4+' : 'fexit needs 5.5+, the netfilter link 6.4+';
    throw new EbpfUnavailableError(caps, [], `kernel ${caps.kernelRelease} has no usable hook (${need})`);
  }
  const attempts: EbpfAttempt[] = [];
  for (const mode of modes) {
    try {
      const program = EbpfProgram.open({ ...options, mode, netns: caps.netns, drops: options.drops ?? caps.dropReason });
      return { program, attempts };
    } catch (err) {
      attempts.push({ mode, error: explainLoadError(err) });
      if (err instanceof EbpfNotBuiltError) break; // no other mode will find the addon either
    }
  }
  throw new EbpfUnavailableError(caps, attempts, attempts.map((a) => `${a.mode}: ${a.error}`).join('; '));
}
