#!/usr/bin/env bash
# Installs what natlens needs on a Debian/Ubuntu host, and nothing twice: the system packages the lab and the
# tests use, then the npm dependencies from the committed lockfile. Sourced by demo.sh and test.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

if [ "$(id -u)" -ne 0 ]; then
  echo "natlens builds network namespaces and reads conntrack: run this as root (sudo $0)." >&2
  exit 1
fi

# iproute2: namespaces, veth, bridges, routes; iptables: kube-proxy's rules (nft and legacy); nftables: kube-proxy's
# nftables mode (nft -f); nfacct: the counters kube-proxy's iptables rules count with;
# conntrack/tcpdump: what the agent is compared with; curl: health-check probes in tests;
# libmnl-dev, g++, make, python3: the agent's netlink addon, built by node-gyp during npm install.
# postgresql: the hub's second store; its tests start their own server from these binaries.
# clang, llvm, libbpf-dev, bpftool: the agent's eBPF source (clang -target bpf against a vmlinux.h that bpftool dumps
# from the kernel's BTF; the loader addon links Debian's libbpf). On Ubuntu bpftool comes with linux-tools-common.
# time: GNU time, the benches' peak-RSS and CPU accounting of whole processes (bench/cli-startup.ts).
# nats-server: JetStream for the hub-replica tests and bench/hub-scale (they start their own servers on free ports).
# unzip: helm and kubectl for the chart checks come zipped inside an npm package (tools/k8s/k8s-tools.js).
# prometheus (with promtool), prometheus-alertmanager: the health rules are checked and unit-tested with promtool, and
# the e2e tests start a real Prometheus and Alertmanager on free ports (Debian starts no service: policy-rc.d).
APT_PACKAGES=(iproute2 iptables nftables nfacct conntrack tcpdump curl procps ca-certificates libmnl-dev g++ make python3 postgresql chromium clang llvm libbpf-dev bpftool nats-server unzip prometheus prometheus-alertmanager time)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "natlens needs Node.js 20 or later (found: $(node --version 2>/dev/null || echo none))." >&2
  exit 1
fi

lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f node_modules/.natlens-lock-hash ] || [ "$(cat node_modules/.natlens-lock-hash)" != "$lock_hash" ]; then
  # `npm install` against the committed lockfile, not `npm ci`: the registry these machines use lacks some other
  # platforms' optional binaries (@swc/core-darwin-*, ...), which makes `npm ci` refuse the lockfile. With the lockfile
  # present, `npm install` installs exactly the locked versions and leaves the lockfile as it is.
  say "installing npm dependencies (npm install, locked versions)"
  npm install --no-audit --no-fund --loglevel=error
  echo "$lock_hash" > node_modules/.natlens-lock-hash
fi

# The agent's netlink addon is built by npm's postinstall; rebuild it if the build folder went missing.
if [ ! -f libs/agent/conntrack/native/build/Release/natlens_netlink.node ]; then
  say "building the agent's netlink addon (node-gyp, libmnl)"
  npx node-gyp rebuild -C libs/agent/conntrack/native --loglevel=warn
fi

# The eBPF loader addon and BPF object (libs/agent/ebpf/native): built here when missing, like the netlink addon.
# A host without kernel BTF cannot build it; the agent then says so and uses the conntrack source.
if [ ! -f libs/agent/ebpf/native/build/Release/natlens_ebpf.node ] || [ ! -f libs/agent/ebpf/native/build/Release/natlens.bpf.o ]; then
  if [ -r /sys/kernel/btf/vmlinux ] || [ -n "${NATLENS_VMLINUX_BTF:-}" ]; then
    say "building the agent's eBPF program and loader (clang -target bpf, node-gyp, libbpf)"
    PATH="$PATH:/usr/sbin:/sbin" npx node-gyp rebuild -C libs/agent/ebpf/native --loglevel=warn
  else
    say "no kernel BTF (/sys/kernel/btf/vmlinux): the eBPF source is not built; the agent will use the conntrack source"
  fi
fi

export NX_DAEMON=false NX_NO_CLOUD=true NX_TUI=false NEXT_TELEMETRY_DISABLED=1
