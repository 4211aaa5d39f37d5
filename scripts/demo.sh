#!/usr/bin/env bash
# The README's first command (`npm run demo`): install the pinned tools the demo uses (Node
# modules, Envoy, OPA) the same way CI does, build, and run the local demo on loopback. Ctrl-C (or
# SIGTERM to npm) stops everything.
#
# GATEHOUSE_DEMO_PREPARED=1 skips the install and the build, for a caller that has just done both
# (test/e2e/demo-stop.test.ts, run by the test suite after its own install and build).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source "$ROOT/scripts/lib/env.sh"
source "$ROOT/scripts/lib/log.sh"
if [ "${GATEHOUSE_DEMO_PREPARED:-}" != 1 ]; then
  bash "$ROOT/scripts/install-tools.sh" demo
  log "npm run build"
  npm run --silent build
fi
exec "$ROOT/node_modules/.bin/node" "$ROOT/dist/demo/main.js"
