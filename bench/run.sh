#!/usr/bin/env bash
# One benchmark, after the compiled build it measures (`npm run build`, cached by nx):
#   sudo bash bench/run.sh cli-startup|agent-ready|agent-memory|conntrack-events|… [the bench's options]
# The bench script itself runs from its TypeScript source (SWC); what it measures is bin/natlens, the compiled build.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
name=${1:?usage: bash bench/run.sh <bench> [options]   (benches: $(cd bench && ls *.ts | sed 's/\.ts$//' | tr '\n' ' '))}
shift
[ -f "bench/$name.ts" ] || { echo "no bench/$name.ts" >&2; exit 2; }
export NX_DAEMON=false NX_NO_CLOUD=true NX_TUI=false NEXT_TELEMETRY_DISABLED=1
npm run build --silent >&2
SWC_NODE_PROJECT=$PWD/tsconfig.base.json exec node -r @swc-node/register "bench/$name.ts" "$@"
