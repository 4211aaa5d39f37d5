# shellcheck shell=bash
# Source me: puts the project's pinned tools first on PATH.
#
#   source scripts/lib/env.sh
#
# Sets ROOT (the repository root) unless already set, and prepends
# $ROOT/.tools/bin (envoy, opa) and $ROOT/node_modules/.bin (node 24, tsc, buf) to PATH.

if [ -z "${ROOT:-}" ]; then
  ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
fi
export ROOT

case ":$PATH:" in
  *":$ROOT/.tools/bin:$ROOT/node_modules/.bin:"*) ;;
  *) PATH="$ROOT/.tools/bin:$ROOT/node_modules/.bin:$PATH" ;;
esac
export PATH
