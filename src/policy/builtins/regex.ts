/**
 * OPA's host-side regular-expression builtins: `regex.replace`, `regex.find_n` and
 * `regex.template_match`, on Go syntax translated by {@link compile}.
 */
import { compile, expand, findAll, quoteMeta } from './go-regexp.js';

/** Longest `regex.replace` result, in UTF-16 units: OPA's writer stops on cancellation, Gatehouse bounds it. */
const MAX_REPLACE_LENGTH = 16 * 1024 * 1024;

/**
 * `regex.replace(s, pattern, value)`: Go's `ReplaceAllString` — every match replaced by `value`
 * expanded for it (`$1`, `${name}`, `$$`).
 */
export function replace(s: unknown, pattern: unknown, value: unknown): string | undefined {
  if (typeof s !== 'string' || typeof pattern !== 'string' || typeof value !== 'string')
    return undefined;
  const re = compile(pattern);
  if (re === undefined) return undefined;
  let out = '';
  let last = 0;
  for (const m of findAll(re, s, -1)) {
    out += s.slice(last, m.index) + expand(value, m);
    if (out.length > MAX_REPLACE_LENGTH) return undefined;
    last = m.index + m[0].length;
  }
  return out + s.slice(last);
}

/** `regex.find_n(pattern, value, n)`: up to `n` matches (all when `n` < 0). */
export function findN(pattern: unknown, value: unknown, n: unknown): string[] | undefined {
  if (typeof pattern !== 'string' || typeof value !== 'string' || !Number.isSafeInteger(n))
    return undefined;
  const re = compile(pattern);
  return re === undefined ? undefined : findAll(re, value, n as number).map((m) => m[0]);
}

/** gorilla/mux's first-level delimiter pairs; `undefined` when unbalanced. */
function delimiterIndices(s: string, open: string, close: string): number[] | undefined {
  let level = 0;
  let idx = 0;
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === open) {
      if (++level === 1) idx = i;
    } else if (s[i] === close) {
      if (--level === 0) out.push(idx, i + 1);
      else if (level < 0) return undefined;
    }
  }
  return level === 0 ? out : undefined;
}

/**
 * `regex.template_match(template, value, start, end)`: the template's text outside the
 * delimiters is literal, the text inside each pair is a regular expression; the whole must match.
 */
export function templateMatch(
  template: unknown,
  value: unknown,
  start: unknown,
  end: unknown,
): boolean | undefined {
  if (
    typeof template !== 'string' ||
    typeof value !== 'string' ||
    typeof start !== 'string' ||
    typeof end !== 'string'
  )
    return undefined;
  if (Buffer.byteLength(start) !== 1 || Buffer.byteLength(end) !== 1) return undefined;
  const idxs = delimiterIndices(template, start, end);
  if (idxs === undefined) return undefined;
  let pattern = '^';
  let last = 0;
  for (let i = 0; i < idxs.length; i += 2) {
    const inner = template.slice((idxs[i] as number) + 1, (idxs[i + 1] as number) - 1);
    if (compile(`^${inner}$`) === undefined) return undefined;
    pattern += `${quoteMeta(template.slice(last, idxs[i]))}(${inner})`;
    last = idxs[i + 1] as number;
  }
  pattern += `${quoteMeta(template.slice(last))}$`;
  const re = compile(pattern);
  if (re === undefined) return undefined;
  re.lastIndex = 0;
  return re.test(value);
}
