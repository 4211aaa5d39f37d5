# shellcheck shell=bash
# Source me (after env.sh and log.sh, with ROOT set): defines install_opa_envoy_plugin, which
# builds the pinned OPA-Envoy plugin into .tools/bench/opa-envoy-plugin, or reuses it there.
#
# Both the tests (the conformance test, scripts/install-tools.sh) and the benchmark
# (bench/install-bench-tools.sh) run this one build of the reference peer.

# github.com/open-policy-agent/opa-envoy-plugin, embeds OPA v1.10.0. The build the Go module proxy
# we reach serves; newer tags are refused there.
OPA_ENVOY_VERSION="1.10.0-envoy"
OPA_ENVOY_MODULE="github.com/open-policy-agent/opa-envoy-plugin"

# The module's source folder in the Go module cache (downloads it if needed). The conformance test
# reads the plugin's own _test.go files from there.
opa_envoy_plugin_source() {
  # `go install module@version` fails here: it looks up the module's version list (to report a
  # deprecation), which the module proxy we reach refuses for this module, and the checksum
  # database has no entry for the -envoy tag. So download exactly the pinned version (skipping
  # only that module's checksum-database lookup); the build then runs inside the module, whose
  # go.sum pins and verifies every dependency.
  GONOSUMDB="$OPA_ENVOY_MODULE" GOFLAGS=-mod=mod go mod download -json "$OPA_ENVOY_MODULE@v$OPA_ENVOY_VERSION" \
    | awk -F'"' '/"Dir":/ { print $4 }'
}

# The folder of the OPA module the plugin embeds (its docs carry the Envoy and Istio tutorials the
# conformance test runs), at the version the plugin's go.mod requires.
opa_envoy_plugin_opa_source() {
  local module_dir="$1" opa_version
  opa_version="$(awk '$1 == "github.com/open-policy-agent/opa" { print $2; exit }' "$module_dir/go.mod")"
  [ -n "$opa_version" ] || return 0
  GOFLAGS=-mod=mod go mod download -json "github.com/open-policy-agent/opa@$opa_version" | awk -F'"' '/"Dir":/ { print $4 }'
}

install_opa_envoy_plugin() {
  local dir="$ROOT/.tools/bench"
  local target="$dir/opa-envoy-plugin" stamp="$dir/opa-envoy-plugin.version"
  local src="$dir/opa-envoy-plugin.src" opa_src="$dir/opa-envoy-plugin.opa-src"
  mkdir -p "$dir"
  if [ -x "$target" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$OPA_ENVOY_VERSION" ] \
    && [ -d "$(cat "$src" 2>/dev/null)" ] && [ -d "$(cat "$opa_src" 2>/dev/null)" ]; then
    log "opa-envoy-plugin: $OPA_ENVOY_VERSION ($target)"
    return
  fi
  command -v go >/dev/null 2>&1 || die "go not found: needed to build opa-envoy-plugin $OPA_ENVOY_VERSION"
  local module_dir
  module_dir="$(opa_envoy_plugin_source)"
  [ -d "$module_dir" ] || die "opa-envoy-plugin: go mod download $OPA_ENVOY_MODULE@v$OPA_ENVOY_VERSION gave no directory"
  # The source folders are recorded for the conformance test (it reads the plugin's tests and
  # OPA's tutorials from them).
  printf '%s\n' "$module_dir" >"$src"
  local opa_dir
  opa_dir="$(opa_envoy_plugin_opa_source "$module_dir")"
  [ -d "$opa_dir" ] || die "opa-envoy-plugin: go mod download of the OPA module it embeds gave no directory"
  printf '%s\n' "$opa_dir" >"$opa_src"
  if ! { [ -x "$target" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$OPA_ENVOY_VERSION" ]; }; then
    log "opa-envoy-plugin: building $OPA_ENVOY_MODULE@v$OPA_ENVOY_VERSION (a few minutes)"
    (cd "$module_dir" && go build -trimpath -o "$target.tmp.$$" ./cmd/opa-envoy-plugin)
    mv "$target.tmp.$$" "$target"
    printf '%s\n' "$OPA_ENVOY_VERSION" >"$stamp"
  fi
  log "opa-envoy-plugin: $OPA_ENVOY_VERSION ($target)"
}
