# shellcheck shell=bash
# Short progress lines for the project's scripts (stderr, so stdout stays clean).

log()  { printf '==> %s\n' "$*" >&2; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }
die()  { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

# is_ci: true when running under CI (CI=true or CI=1); there, nothing may be skipped.
is_ci() { [ "${CI:-}" = "true" ] || [ "${CI:-}" = "1" ]; }
