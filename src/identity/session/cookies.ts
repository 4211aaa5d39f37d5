/**
 * Cookie parsing and serialisation (RFC 6265), for Gatehouse's own cookies and for removing
 * them from the `cookie` header sent upstream.
 */

/** RFC 6265 cookie-name (a token) and cookie-value (no CTLs, whitespace, `"`, `,`, `;`, `\`). */
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const COOKIE_VALUE = /^[!#-+\--:<-[\]-~]*$/;

/** Attributes for {@link serializeCookie}. */
export interface CookieAttributes {
  /** Seconds; 0 deletes the cookie. */
  readonly maxAge?: number;
  readonly path?: string;
  readonly secure?: boolean;
  readonly httpOnly?: boolean;
  readonly sameSite?: 'Strict' | 'Lax' | 'None';
}

/**
 * The `name=value` pairs of a `cookie` header, split on `;` only, as browsers send them. A comma
 * does not start a pair here: a cookie set by a sibling subdomain could otherwise carry
 * `x=1,__Host-gatehouse=<another session>` in its value and plant a session (the `__Host-` prefix
 * protects the cookie, not text inside another cookie's value). Two `cookie` lines merged by a
 * proxy with `,` are handled where it matters, on the way upstream (src/identity/assertion/headers.ts cuts
 * Gatehouse's cookies out of every comma-separated crumb, or refuses).
 */
function pairs(header: string): { name: string; value: string }[] {
  const out: { name: string; value: string }[] = [];
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    out.push({ name: part.slice(0, eq).trim(), value: part.slice(eq + 1).trim() });
  }
  return out;
}

/**
 * Parse a `cookie` request header into name → value. The first occurrence of a name wins, as
 * browsers send the most specific cookie first. Malformed pairs are skipped. Pairs are split on
 * `;` only (see {@link pairs}): a comma never starts one of Gatehouse's cookies.
 */
export function parseCookieHeader(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  if (header === undefined || header === '') return cookies;
  for (const pair of pairs(header)) {
    let value = pair.value;
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"'))
      value = value.slice(1, -1);
    if (!COOKIE_NAME.test(pair.name) || cookies.has(pair.name)) continue;
    cookies.set(pair.name, value);
  }
  return cookies;
}

/**
 * The `cookie` header without the cookies whose names `drop` matches, keeping every other
 * cookie byte for byte. Returns `undefined` when nothing is left.
 *
 * A `;`-separated part is kept whole unless it names a dropped cookie; a part holding several
 * comma-separated pairs (two `cookie` lines merged by a proxy) loses only the dropped pairs.
 */
export function removeCookies(header: string, drop: (name: string) => boolean): string | undefined {
  const nameOf = (pair: string): string => {
    const eq = pair.indexOf('=');
    return (eq < 0 ? pair : pair.slice(0, eq)).trim();
  };
  const kept: string[] = [];
  for (const raw of header.split(';')) {
    const part = raw.trim();
    if (part === '') continue;
    if (!part.includes(',')) {
      if (!drop(nameOf(part))) kept.push(part);
      continue;
    }
    const crumbs = part.split(',').map((c) => c.trim());
    if (!crumbs.some((c) => drop(nameOf(c)))) {
      kept.push(part);
      continue;
    }
    const rest = crumbs.filter((c) => c !== '' && !drop(nameOf(c)));
    if (rest.length > 0) kept.push(rest.join(', '));
  }
  return kept.length === 0 ? undefined : kept.join('; ');
}

/**
 * True when `header` still mentions one of `names` as a cookie name (`name=` after the start,
 * a `;`, a `,` or whitespace), compared case-insensitively: what an upstream with a lenient
 * cookie parser could read as one of Gatehouse's cookies.
 */
export function mentionsCookie(header: string, names: readonly string[]): boolean {
  const lower = header.toLowerCase();
  for (const name of names) {
    const n = name.toLowerCase();
    for (let at = lower.indexOf(n); at >= 0; at = lower.indexOf(n, at + 1)) {
      const before = at === 0 ? ';' : lower[at - 1]!;
      if (!/[;,\s"]/.test(before)) continue;
      if (/^\s*=/.test(lower.slice(at + n.length))) return true;
    }
  }
  return false;
}

/**
 * A `set-cookie` header value.
 *
 * @throws Error when the name or value is not a valid RFC 6265 cookie name/value (a bug in the
 *   caller: Gatehouse only sets base64url and JWT values).
 */
export function serializeCookie(name: string, value: string, attributes: CookieAttributes): string {
  if (!COOKIE_NAME.test(name)) throw new Error(`invalid cookie name ${JSON.stringify(name)}`);
  if (!COOKIE_VALUE.test(value)) throw new Error(`invalid cookie value for ${name}`);
  let out = `${name}=${value}`;
  if (attributes.path !== undefined) out += `; Path=${attributes.path}`;
  if (attributes.maxAge !== undefined) {
    out += `; Max-Age=${Math.max(0, Math.floor(attributes.maxAge))}`;
    if (attributes.maxAge <= 0) out += '; Expires=Thu, 01 Jan 1970 00:00:00 GMT';
  }
  if (attributes.secure === true) out += '; Secure';
  if (attributes.httpOnly === true) out += '; HttpOnly';
  if (attributes.sameSite !== undefined) out += `; SameSite=${attributes.sameSite}`;
  return out;
}
