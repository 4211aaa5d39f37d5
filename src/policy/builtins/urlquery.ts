/**
 * OPA's `urlquery.*` builtins, with Go `net/url` semantics: `QueryEscape` (space as `+`,
 * everything but `A-Z a-z 0-9 - _ . ~` escaped, upper-case hex) and `QueryUnescape`/`ParseQuery`
 * (`+` as space; a bad escape or a `;` separator makes the expression undefined).
 */

/** Go's `url.QueryEscape`. */
export function queryEscape(s: string): string | undefined {
  let encoded: string;
  try {
    encoded = encodeURIComponent(s); // throws on a lone surrogate
  } catch {
    return undefined;
  }
  return encoded
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

/** Go's `url.QueryUnescape`; `undefined` on a malformed `%` escape. */
export function queryUnescape(s: string): string | undefined {
  if (!s.includes('%') && !s.includes('+')) return s;
  const bytes: number[] = [];
  const encoder = new TextEncoder();
  for (let i = 0; i < s.length; ) {
    const ch = s[i] as string;
    if (ch === '%') {
      const hex = s.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return undefined;
      bytes.push(parseInt(hex, 16));
      i += 3;
    } else if (ch === '+') {
      bytes.push(0x20);
      i++;
    } else {
      const cp = s.codePointAt(i) ?? 0;
      const text = String.fromCodePoint(cp);
      for (const b of encoder.encode(text)) bytes.push(b);
      i += text.length;
    }
  }
  return utf8.decode(new Uint8Array(bytes));
}

/** `urlquery.encode(string)`. */
export function encode(x: unknown): string | undefined {
  return typeof x === 'string' ? queryEscape(x) : undefined;
}

/** `urlquery.decode(string)`. */
export function decode(x: unknown): string | undefined {
  return typeof x === 'string' ? queryUnescape(x) : undefined;
}

/**
 * `urlquery.encode_object(object)`: values are strings or arrays/sets of strings; keys sorted,
 * as Go's `url.Values.Encode`.
 */
export function encodeObject(x: unknown): string | undefined {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return undefined;
  const pairs: string[] = [];
  for (const key of Object.keys(x).sort()) {
    const value = (x as Record<string, unknown>)[key];
    const values = Array.isArray(value) ? value : [value];
    const k = queryEscape(key);
    if (k === undefined) return undefined;
    for (const v of values) {
      if (typeof v !== 'string') return undefined;
      const e = queryEscape(v);
      if (e === undefined) return undefined;
      pairs.push(`${k}=${e}`);
    }
  }
  return pairs.join('&');
}

/** `urlquery.decode_object(string)`: `{key: [values…]}`, as Go's `url.ParseQuery`. */
export function decodeObject(x: unknown): Record<string, string[]> | undefined {
  if (typeof x !== 'string') return undefined;
  const out: Record<string, string[]> = {};
  for (const pair of x.split('&')) {
    if (pair === '') continue;
    if (pair.includes(';')) return undefined; // Go rejects semicolon separators
    const eq = pair.indexOf('=');
    const key = queryUnescape(eq < 0 ? pair : pair.slice(0, eq));
    const value = queryUnescape(eq < 0 ? '' : pair.slice(eq + 1));
    if (key === undefined || value === undefined) return undefined;
    if (Object.hasOwn(out, key)) (out[key] as string[]).push(value);
    else
      Object.defineProperty(out, key, {
        value: [value],
        enumerable: true,
        writable: true,
        configurable: true,
      });
  }
  return out;
}
