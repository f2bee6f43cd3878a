#!/bin/sh
# Compiles the BPF object (bpf/natlens.bpf.c) into <out>/natlens.bpf.o; binding.gyp runs it before the addon.
# vmlinux.h comes from this host's kernel BTF (2.8 MB, so generated, never committed); CO-RE relocations make the
# object run on other kernels with BTF. Needs clang, bpftool and libbpf-dev (scripts/setup.sh installs them).
# NATLENS_VMLINUX_BTF names another BTF file (e.g. when building in a container without /sys/kernel/btf).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-"$here/build/Release"}
mkdir -p "$out"
btf=${NATLENS_VMLINUX_BTF:-/sys/kernel/btf/vmlinux}
for tool in clang bpftool; do
  command -v "$tool" >/dev/null 2>&1 || PATH="$PATH:/usr/sbin:/sbin"
  command -v "$tool" >/dev/null 2>&1 || { echo "build-bpf.sh: $tool not found; install it: apt-get install -y clang llvm libbpf-dev bpftool" >&2; exit 1; }
done
[ -r "$btf" ] || { echo "build-bpf.sh: no kernel BTF at $btf (CONFIG_DEBUG_INFO_BTF); set NATLENS_VMLINUX_BTF to a vmlinux BTF file" >&2; exit 1; }
case $(uname -m) in
  x86_64) arch=x86 ;;
  aarch64) arch=arm64 ;;
  *) arch=$(uname -m) ;;
esac
bpftool btf dump file "$btf" format c > "$out/vmlinux.h.tmp"
mv "$out/vmlinux.h.tmp" "$out/vmlinux.h"
clang -g -O2 -Wall -target bpf -D__TARGET_ARCH_$arch -I"$out" -I"$here/../bpf" \
  -c "$here/../bpf/natlens.bpf.c" -o "$out/natlens.bpf.o"
# DWARF is not needed at run time; the .BTF and .BTF.ext sections CO-RE needs stay.
if command -v llvm-strip >/dev/null 2>&1; then llvm-strip -g "$out/natlens.bpf.o"; fi
