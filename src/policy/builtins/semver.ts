/**
 * OPA's `semver.is_valid(x)` and `semver.compare(a, b)`: versions as semver.org defines them
 * (no leading zeros, non-empty identifiers), optionally prefixed with `v`, numbers within
 * int64; precedence as semver.org §11 (metadata ignored).
 */

interface Version {
  readonly core: readonly [bigint, bigint, bigint];
  readonly pre: readonly string[];
}

const INT64_MAX = 2n ** 63n - 1n;

/** Go `strconv.ParseInt(s, 10, 64)`. */
function parseInt64(s: string): bigint | undefined {
  if (!/^[+-]?[0-9]+$/.test(s)) return undefined;
  const n = BigInt(s);
  return n > INT64_MAX || n < -INT64_MAX - 1n ? undefined : n;
}

/** The semver.org grammar, with an optional leading `v` (what `opa` 1.22 accepts). */
const SEMVER =
  /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

function parseVersion(text: string): Version | undefined {
  const m = SEMVER.exec(text);
  if (m === null) return undefined;
  const nums = [m[1], m[2], m[3]].map((p) => parseInt64(p ?? ''));
  if (nums.some((n) => n === undefined)) return undefined;
  return { core: nums as [bigint, bigint, bigint], pre: m[4] === undefined ? [] : m[4].split('.') };
}

/** Go `strconv.Atoi` (int64 on OPA's platforms). */
function atoi(s: string): bigint | undefined {
  return parseInt64(s);
}

function comparePre(a: readonly string[], b: readonly string[]): number {
  if (a.length === 0) return b.length > 0 ? -1 : 0;
  if (b.length === 0) return 1;
  const [x, y] = [a[0] as string, b[0] as string];
  const [xi, yi] = [atoi(x), atoi(y)];
  if (xi !== undefined && yi === undefined) return -1;
  if (xi === undefined && yi !== undefined) return 1;
  if (xi !== undefined && yi !== undefined && xi !== yi) return xi > yi ? 1 : -1;
  if (x !== y) return x > y ? 1 : -1;
  return comparePre(a.slice(1), b.slice(1));
}

/** `semver.is_valid(x)`: false for anything but a valid version string. */
export function isValid(x: unknown): boolean {
  return typeof x === 'string' && parseVersion(x) !== undefined;
}

/** `semver.compare(a, b)`: -1, 0 or 1; undefined when either is not a valid version. */
export function compare(a: unknown, b: unknown): number | undefined {
  if (typeof a !== 'string' || typeof b !== 'string') return undefined;
  const [x, y] = [parseVersion(a), parseVersion(b)];
  if (x === undefined || y === undefined) return undefined;
  for (let i = 0; i < 3; i++) {
    if (x.core[i] !== y.core[i]) return (x.core[i] as bigint) > (y.core[i] as bigint) ? 1 : -1;
  }
  if (x.pre.length === 0 && y.pre.length > 0) return 1;
  if (y.pre.length === 0 && x.pre.length > 0) return -1;
  return comparePre(x.pre, y.pre);
}
