#!/usr/bin/env bash
# The README's first command (`npm run demo`): install the pinned tools the same way CI does,
# build, and run the local demo on loopback. Ctrl-C stops everything.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source "$ROOT/scripts/lib/env.sh"
source "$ROOT/scripts/lib/log.sh"
bash "$ROOT/scripts/install-tools.sh" demo   # Node modules, Envoy, OPA: what the demo uses
log "npm run build"
npm run --silent build
exec "$ROOT/node_modules/.bin/node" "$ROOT/dist/demo/main.js"
