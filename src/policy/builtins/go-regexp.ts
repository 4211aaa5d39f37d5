/**
 * Go (RE2) regular expressions run on JavaScript's engine, for OPA's host-side `regex.*`
 * builtins (OPA compiles `regex.match` into the wasm module with RE2 itself).
 *
 * RE2 syntax is translated to an equivalent `u`-mode JavaScript pattern: `(?P<name>…)`, leading
 * flag groups `(?i)`/`(?s)`/`(?m)`, `\A`, `\z`, `\Q…\E`, POSIX classes `[[:alpha:]]`, RE2's
 * ASCII `\s`, `.` excluding only `\n`, and escaped punctuation. Anything not translated that
 * JavaScript rejects (e.g. `(?U)`) makes the builtin undefined, as an invalid pattern does in
 * OPA. RE2 is linear-time; JavaScript's engine backtracks, so a pattern with nested quantifiers
 * (`^(a+)+$`) is exponential on hostile input (measured: 29 characters, 53 s). V8's linear
 * engine (`--enable-experimental-regexp-engine`, the `l` flag) avoids that but is experimental
 * and refuses `u`-mode and lookaheads, so it is not used; docs/reference/policy.md warns.
 */

const POSIX: Record<string, string> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7F',
  blank: '\\t ',
  cntrl: '\\x00-\\x1F\\x7F',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
};

const JS_SYNTAX = new Set('^$\\.*+?()[]{}|/'.split(''));
const ESCAPE_LETTERS = new Set('dDwWbBnrtfvpP0123456789xu'.split(''));

function escapeLiteral(text: string): string {
  return [...text].map((c) => (JS_SYNTAX.has(c) ? `\\${c}` : c)).join('');
}

/** The translated pattern and flags, or `undefined` for syntax Gatehouse cannot translate. */
export function translate(pattern: string): { source: string; flags: string } | undefined {
  let flags = 'u';
  let rest = pattern;
  const lead = /^\(\?([imsU]+)\)/.exec(rest);
  if (lead !== null) {
    const f = lead[1] as string;
    if (f.includes('U')) return undefined;
    if (f.includes('i')) flags += 'i';
    if (f.includes('m')) flags += 'm';
    if (f.includes('s')) flags += 's';
    rest = rest.slice(lead[0].length);
  }
  const dotAll = flags.includes('s');
  let out = '';
  let inClass = false;
  for (let i = 0; i < rest.length; i++) {
    const c = rest[i] as string;
    if (c === '\\') {
      const n = rest[i + 1];
      if (n === undefined) return undefined;
      i++;
      if (n === 'Q') {
        const end = rest.indexOf('\\E', i + 1);
        const literal = end < 0 ? rest.slice(i + 1) : rest.slice(i + 1, end);
        out += inClass ? literal.replace(/[\\\]^-]/g, '\\$&') : escapeLiteral(literal);
        i = end < 0 ? rest.length : end + 1;
      } else if (n === 'A' && !inClass) out += '(?<![\\s\\S])';
      else if (n === 'z' && !inClass) out += '(?![\\s\\S])';
      else if (n === 's') out += inClass ? '\\t\\n\\f\\r ' : '[\\t\\n\\f\\r ]';
      else if (n === 'S' && !inClass) out += '[^\\t\\n\\f\\r ]';
      else if (n === 'p' || n === 'P') {
        const name =
          rest[i + 1] === '{'
            ? /^\{(\^?)([A-Za-z_]+)\}/.exec(rest.slice(i + 1))
            : /^()([A-Za-z])/.exec(rest.slice(i + 1));
        if (name === null) return undefined;
        const negate = (n === 'P') !== (name[1] === '^');
        const prop =
          (name[2] as string).length <= 2 ? (name[2] as string) : `Script=${name[2] as string}`;
        out += `\\${negate ? 'P' : 'p'}{${prop}}`;
        i += name[0].length;
      } else if (ESCAPE_LETTERS.has(n) || JS_SYNTAX.has(n) || (inClass && n === '-')) {
        if (n === 'x' && rest[i + 1] === '{') {
          const hex = /^\{([0-9A-Fa-f]+)\}/.exec(rest.slice(i + 1));
          if (hex === null) return undefined;
          out += `\\u{${hex[1] as string}}`;
          i += hex[0].length;
        } else out += `\\${n}`;
      } else if (/[!-~]/.test(n) && !/[A-Za-z0-9]/.test(n)) {
        out += `\\x${n.charCodeAt(0).toString(16).padStart(2, '0')}`; // escaped punctuation
      } else {
        return undefined; // \C, \G, \Z, … are not RE2 (or not translatable)
      }
      continue;
    }
    if (inClass) {
      if (c === '[' && rest[i + 1] === ':') {
        const posix = /^\[:(\^?)([a-z]+):\]/.exec(rest.slice(i));
        const set = posix === null ? undefined : POSIX[posix[2] as string];
        if (posix === null || set === undefined || posix[1] === '^') return undefined;
        out += set;
        i += posix[0].length - 1;
      } else if (c === '[') out += '\\[';
      else if (c === ']') {
        out += ']';
        inClass = false;
      } else out += c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += '[';
      if (rest[i + 1] === '^') out += rest[++i] as string;
      if (rest[i + 1] === ']') {
        out += '\\]'; // a leading `]` is literal in RE2
        i++;
      }
    } else if (c === '(' && rest.startsWith('(?P<', i)) {
      out += '(?<';
      i += 3;
    } else if (c === '.' && !dotAll) out += '[^\\n]';
    else if (c === '.') out += '[\\s\\S]';
    else if (c === '/') out += '\\/';
    else out += c;
  }
  return { source: out, flags };
}

const cache = new Map<string, RegExp | null>();
const CACHE_MAX = 100;

/** A compiled Go regular expression (global, sticky-free), or `undefined` when invalid. */
export function compile(pattern: string): RegExp | undefined {
  let re = cache.get(pattern);
  if (re === undefined) {
    const t = translate(pattern);
    try {
      re = t === undefined ? null : new RegExp(t.source, `${t.flags}g`);
    } catch {
      re = null;
    }
    if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value as string);
    cache.set(pattern, re);
  }
  return re ?? undefined;
}

/** Go's `regexp.QuoteMeta`. */
export function quoteMeta(s: string): string {
  return s.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}

/** Go's `FindAll…`: successive non-overlapping matches; an empty match abutting the previous match is skipped. */
export function findAll(re: RegExp, s: string, n: number): RegExpExecArray[] {
  const out: RegExpExecArray[] = [];
  let prevEnd = -1;
  let pos = 0;
  while (pos <= s.length && (n < 0 || out.length < n)) {
    re.lastIndex = pos;
    const m = re.exec(s);
    if (m === null) break;
    const end = m.index + m[0].length;
    if (m[0].length === 0) {
      if (m.index !== prevEnd) out.push(m);
      // Step over one code point.
      const cp = s.codePointAt(m.index);
      pos = m.index + (cp !== undefined && cp > 0xffff ? 2 : 1);
    } else {
      out.push(m);
      pos = end;
    }
    prevEnd = end;
  }
  return out;
}

/** Go's `Regexp.Expand`: `$1`, `$name`, `${name}`, `$$`; unknown groups expand to nothing. */
export function expand(template: string, m: RegExpExecArray): string {
  let out = '';
  let i = 0;
  while (i < template.length) {
    const dollar = template.indexOf('$', i);
    if (dollar < 0) break;
    out += template.slice(i, dollar);
    i = dollar + 1;
    if (template[i] === '$') {
      out += '$';
      i++;
      continue;
    }
    const brace = template[i] === '{';
    const name = /^[\p{L}\p{Nd}_]*/u.exec(template.slice(brace ? i + 1 : i))?.[0] ?? '';
    if (name === '' || (brace && template[i + 1 + name.length] !== '}')) {
      out += '$'; // malformed: the `$` is literal
      continue;
    }
    i += name.length + (brace ? 2 : 0);
    if (/^[0-9]+$/.test(name)) out += m[Number(name)] ?? '';
    else out += m.groups?.[name] ?? '';
  }
  return out + template.slice(i);
}
