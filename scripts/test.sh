#!/usr/bin/env bash
# The project's test command (`npm test`): install the pinned tools, build (strict tsc), check
# formatting and lint (Biome), check generated code, compile the policies, then run every compiled
# test with Node 24.
#
# Usage: bash scripts/test.sh [test files or globs...]   (default: every dist/test/**/*.test.js)
#
# Under CI=true nothing is skipped silently: a missing tool or build step is an error, and tests
# that need a tool fail instead of skipping (test/support/tools.ts).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=lib/env.sh
source "$ROOT/scripts/lib/env.sh"
# shellcheck source=lib/log.sh
source "$ROOT/scripts/lib/log.sh"

bash "$ROOT/scripts/install-tools.sh" full

NODE="$ROOT/node_modules/.bin/node"
[ -x "$NODE" ] || die "Node 24 not found at $NODE (scripts/install-tools.sh should have installed it)"

# run_step NAME FILE: `npm run NAME`, which is implemented by FILE. Until FILE exists, the step is
# skipped with a warning locally and is an error under CI.
run_step() {
  local name="$1" file="$2"
  if [ -n "$file" ] && [ ! -e "$ROOT/$file" ]; then
    if is_ci; then
      die "npm run $name: $file does not exist (CI: refusing to skip)"
    fi
    warn "skipping 'npm run $name': $file does not exist yet"
    return
  fi
  log "npm run $name"
  npm run --silent "$name"
}

# A clean build: compiled tests of deleted sources must not run.
rm -rf "$ROOT/dist"
run_step build ""
run_step lint biome.json
run_step gen:check scripts/check-generated.mjs
run_step policies scripts/build-policies.mjs

if [ "$#" -gt 0 ]; then
  tests=("$@")
else
  tests=("dist/test/**/*.test.js")
fi

log "node --test (Node $("$NODE" --version))"
status=0
"$NODE" --test --test-reporter=spec "${tests[@]}" || status=$?
if [ "$status" -eq 0 ]; then log "tests passed"; else log "tests FAILED (exit $status)"; fi
exit "$status"
