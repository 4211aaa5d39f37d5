#!/usr/bin/env bash
# Compare gRPC server implementations on the Check path, everything else held equal: each serves
# one pre-built allow (bench/transport-server.ts) on CPU 1 while ghz loads it from CPU 0:
# Gatehouse's own (src/wire/http2 over src/wire/h2), the same gRPC layer on node:http2 (the
# transport before issue 17's twelfth round, bench/transports/node-http2), @grpc/grpc-js and
# connect-node.
# Usage: bash bench/transport.sh [requests] [concurrency]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/lib/env.sh
N="${1:-60000}"
C="${2:-50}"
GHZ="$ROOT/.tools/bin/ghz"
[ -x "$GHZ" ] || GOBIN="$ROOT/.tools/bin" go install github.com/bojand/ghz/cmd/ghz@v0.121.0
PORT=19191
for transport in ${TRANSPORTS:-http2 node-http2 grpc-js connect}; do
  taskset -c 1 node_modules/.bin/node dist/bench/transport-server.js "$transport" "$PORT" >/dev/null &
  pid=$!
  sleep 1.5
  # Warm up, then measure.
  taskset -c 0 "$GHZ" --insecure --proto proto/envoy/service/auth/v3/external_auth.proto -i proto \
    --call envoy.service.auth.v3.Authorization/Check -D bench/data/check-request.json \
    -c "$C" --connections 4 -n 5000 127.0.0.1:$PORT >/dev/null
  printf '%-8s ' "$transport"
  cpu0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  taskset -c 0 "$GHZ" --insecure --proto proto/envoy/service/auth/v3/external_auth.proto -i proto \
    --call envoy.service.auth.v3.Authorization/Check -D bench/data/check-request.json \
    -c "$C" --connections 4 -n "$N" --format json 127.0.0.1:$PORT \
    | node_modules/.bin/node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const r=JSON.parse(s);const p=q=>r.latencyDistribution.find(x=>x.percentage===q).latency/1e6;console.log(`rps ${r.rps.toFixed(0)}  p50 ${p(50).toFixed(2)} ms  p99 ${p(99).toFixed(2)} ms  errors ${Object.entries(r.statusCodeDistribution).filter(([k])=>k!=="OK").reduce((a,[,v])=>a+v,0)}`)})'
  cpu1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  # Server user + system time (clock ticks of 10 ms) per 1,000 Checks: what ghz's ceiling hides.
  echo "         server CPU $(( (cpu1 - cpu0) * 10 * 1000 / N )) ms per 1,000 Checks"
  kill "$pid"
  wait "$pid" 2>/dev/null || true
done
