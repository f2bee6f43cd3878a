#!/usr/bin/env bash
# From nothing to a running natlens demo: installs what it needs, then `natlens demo` (Ctrl-C removes everything).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
say "building natlens (nx, cached: the CLI bundle and the dashboard)"
npm run build
say "starting natlens demo (Ctrl-C stops it and removes the lab)"
exec node bin/natlens demo "$@"
