#!/usr/bin/env bash
# `npm run bench [-- OPTIONS]`: install the benchmark's pinned tools (reused when present), build,
# then run bench/run.ts with the harness itself on the load-generator CPU.
#
#   npm run bench                      full run (~50 min): check level, traffic, end to end, soak, sessions, scaling
#   npm run bench -- --quick           short runs to validate the harness (~5 min)
#   npm run bench -- --soak 200000     change the soak's Check count
#   npm run bench -- --only check      any of check,traffic,e2e,soak,sessions,scaling
#   npm run bench -- --only scaling --merge   rerun one stage into the stored results (others kept)
#   npm run bench -- --profile 10      node --cpu-prof on Gatehouse (role-based scenario) for 10 s
#
# Results: bench/results/<name>.json (+ .svg); tables and plot in docs/performance.md.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=../scripts/lib/env.sh
source scripts/lib/env.sh
[ "$(nproc)" -ge 2 ] || { echo "bench: needs 2 CPUs (load generator on CPU 0, server on CPU 1)" >&2; exit 1; }
[ -x .tools/bin/envoy ] && [ -x .tools/bin/opa ] || bash scripts/install-tools.sh
bash bench/install-bench-tools.sh
npm run --silent build
exec taskset -c 0 node dist/bench/run.js "$@"
