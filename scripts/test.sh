#!/usr/bin/env bash
# Every check natlens has: the compiled build, lint (with module boundaries), type check, then each project's tests,
# the lab suites against the real kernel among them. Ends with one "N passed, N failed" line.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

rm -f artifacts/test-counts.jsonl
status=0
# The compiled build first (cached by nx): the end-to-end tests run bin/natlens as users do.
say "build (nx run-many -t build: the CLI bundle, the dashboard's standalone server; cached)"
npm run build || exit 1
say "lint (eslint, @nx/enforce-module-boundaries)"
npx nx run-many -t lint --outputStyle=stream || status=1
say "type check (tsc --strict)"
npx tsc -p tsconfig.json || status=1
say "tests (jest; the lab suites build real network namespaces)"
npx nx run-many -t test --parallel=1 --outputStyle=stream || status=1

node -e '
  const fs = require("fs");
  const lines = fs.existsSync("artifacts/test-counts.jsonl") ? fs.readFileSync("artifacts/test-counts.jsonl", "utf8").trim().split("\n").filter(Boolean) : [];
  const sum = lines.map(JSON.parse).reduce((a, r) => ({ passed: a.passed + r.passed, failed: a.failed + r.failed, skipped: a.skipped + r.skipped }), { passed: 0, failed: 0, skipped: 0 });
  console.log(`${sum.passed} passed, ${sum.failed} failed` + (sum.skipped ? `, ${sum.skipped} skipped` : ""));
'
exit $status
