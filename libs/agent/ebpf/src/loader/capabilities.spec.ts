import { capabilitiesOf, kernelVersionOf, modesToTry } from './capabilities';
import { EbpfUnavailableError, openEbpf } from './open-ebpf';

describe('kernel capabilities', () => {
  it.each([
    ['6.18.44-fc-v669', [6, 18]],
    ['5.15.0-91-generic', [5, 15]],
    ['4.19.0', [4, 19]],
    ['garbage', [0, 0]],
  ] as const)('reads the version of %s', (text, version) => {
    expect(kernelVersionOf(text)).toEqual(version);
  });

  it.each([
    ['6.18.44', true, ['netfilter', 'fexit']],
    ['6.4.0', true, ['netfilter', 'fexit']],
    ['6.3.9', true, ['fexit']],
    ['5.5.0', true, ['fexit']],
    ['5.4.0', true, []],
    ['6.18.44', false, []],
  ] as const)('kernel %s with BTF %s offers %j', (release, btf, modes) => {
    expect(modesToTry(capabilitiesOf(release, btf, 1))).toEqual(modes);
  });

  it('keeps only the hook asked for', () => {
    expect(modesToTry(capabilitiesOf('6.18.0', true, 1), 'fexit')).toEqual(['fexit']);
    expect(modesToTry(capabilitiesOf('6.1.0', true, 1), 'netfilter')).toEqual([]);
  });

  it.each([
    ['6.18.0', false, 'no kernel BTF (/sys/kernel/btf/vmlinux is missing; CONFIG_DEBUG_INFO_BTF=y is needed for CO-RE)'],
    ['5.4.0', true, 'kernel 5.4.0 has no usable hook (fexit needs 5.5+, the netfilter link 6.4+)'],
  ] as const)('refuses kernel %s (BTF %s) before loading anything: %s', (release, btf, message) => {
    const attempt = () => openEbpf(capabilitiesOf(release, btf, 1), { ringBufferBytes: 1 << 20, wakeupBytes: 4096, pollIntervalMs: 20 });
    expect(attempt).toThrow(EbpfUnavailableError);
    expect(attempt).toThrow(message);
  });

  it('says how to build the program when its object file is missing, trying no other hook', () => {
    let error: EbpfUnavailableError | undefined;
    try {
      openEbpf(capabilitiesOf('6.18.0', true, 1), { ringBufferBytes: 1 << 20, wakeupBytes: 4096, pollIntervalMs: 20, objectPath: '/nonexistent/natlens.bpf.o' });
    } catch (err) {
      error = err as EbpfUnavailableError;
    }
    expect(error).toBeInstanceOf(EbpfUnavailableError);
    expect(error?.attempts).toHaveLength(1);
    expect(error?.message).toMatch(/netfilter: the eBPF loader is not built \(\/nonexistent\/natlens.bpf.o is missing\); run `npm install`.*clang, llvm, bpftool, libbpf-dev/);
  });
});
