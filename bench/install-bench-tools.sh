#!/usr/bin/env bash
# Installs the pinned tools only the benchmark needs (never the tests), into the checkout:
#
#   .tools/bin/ghz                    ghz, the gRPC load generator (go install)
#   .tools/bench/opa-envoy-plugin     the OPA-Envoy plugin ("opa_envoy_linux"), built from its
#                                     Go module with the module's own go.sum (scripts/lib/opa-envoy-plugin.sh,
#                                     which scripts/install-tools.sh runs too)
#   h2load                            HTTP load generator, Debian package nghttp2-client
#   .tools/bench/loadgen              the benchmark's own gRPC load generator (bench/loadgen, Go,
#                                     grpc-go pinned by its go.mod/go.sum), rebuilt when its source changes
#
# Idempotent: a tool already present at the pinned version is reused. Needs go, and root for apt.
# Usage: bash bench/install-bench-tools.sh
set -euo pipefail

# --- Pinned versions ------------------------------------------------------------------------------
GHZ_VERSION="0.121.0"                  # github.com/bojand/ghz
# OPA-Envoy plugin: pinned in scripts/lib/opa-envoy-plugin.sh (shared with scripts/install-tools.sh)
NGHTTP2_VERSION="1.52.0"               # Debian bookworm nghttp2-client (h2load)
# ---------------------------------------------------------------------------------------------------

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=../scripts/lib/env.sh
source "$ROOT/scripts/lib/env.sh"
# shellcheck source=../scripts/lib/log.sh
source "$ROOT/scripts/lib/log.sh"

BIN="$ROOT/.tools/bin"
BENCH_BIN="$ROOT/.tools/bench"
mkdir -p "$BIN" "$BENCH_BIN"

install_ghz() {
  local target="$BIN/ghz"
  # A go-installed ghz reports `dev` for --version: read the module version from its build info.
  if [ -x "$target" ] && go version -m "$target" 2>/dev/null | grep -Eq "^\s+mod\s+github.com/bojand/ghz\s+v$GHZ_VERSION\s"; then
    log "ghz: $GHZ_VERSION ($target)"
    return
  fi
  command -v go >/dev/null 2>&1 || die "go not found: needed to build ghz"
  log "ghz: go install github.com/bojand/ghz/cmd/ghz@v$GHZ_VERSION"
  GOBIN="$BIN" go install "github.com/bojand/ghz/cmd/ghz@v$GHZ_VERSION"
  log "ghz: $GHZ_VERSION ($target)"
}

# The plugin build is shared with the tests (the conformance test's reference peer).
# shellcheck source=../scripts/lib/opa-envoy-plugin.sh
source "$ROOT/scripts/lib/opa-envoy-plugin.sh"

install_h2load() {
  if command -v h2load >/dev/null 2>&1; then
    log "h2load: $(h2load --version | head -n1)"
    return
  fi
  [ "$(id -u)" = 0 ] || die "h2load missing: apt-get install nghttp2-client (as root)"
  log "h2load: apt-get install nghttp2-client"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nghttp2-client >/dev/null
  h2load --version | grep -q "$NGHTTP2_VERSION" || warn "h2load is not $NGHTTP2_VERSION: $(h2load --version | head -n1)"
  log "h2load: $(h2load --version | head -n1)"
}

install_loadgen() {
  local target="$BENCH_BIN/loadgen" stamp="$BENCH_BIN/loadgen.sha256" sum
  sum="$(cat "$ROOT"/bench/loadgen/go.mod "$ROOT"/bench/loadgen/go.sum "$ROOT"/bench/loadgen/*.go | sha256sum | cut -d' ' -f1)"
  if [ -x "$target" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$sum" ]; then
    log "loadgen: up to date ($target)"
    return
  fi
  command -v go >/dev/null 2>&1 || die "go not found: needed to build bench/loadgen"
  log "loadgen: go build bench/loadgen"
  (cd "$ROOT/bench/loadgen" && go build -mod=readonly -trimpath -o "$target.tmp" .)
  mv "$target.tmp" "$target"
  echo "$sum" >"$stamp"
  log "loadgen: built ($target)"
}

install_ghz
install_loadgen
install_opa_envoy_plugin
install_h2load
command -v taskset >/dev/null 2>&1 || die "taskset not found (util-linux)"
log "bench tools ready"
