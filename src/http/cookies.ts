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
 * Parse a `cookie` request header into name → value. The first occurrence of a name wins, as
 * browsers send the most specific cookie first. Malformed pairs are skipped.
 */
export function parseCookieHeader(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  if (header === undefined || header === '') return cookies;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    let value = part.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    if (!COOKIE_NAME.test(name) || cookies.has(name)) continue;
    cookies.set(name, value);
  }
  return cookies;
}

/**
 * The `cookie` header without the cookies whose names `drop` matches, keeping every other
 * cookie byte for byte. Returns `undefined` when nothing is left.
 */
export function removeCookies(header: string, drop: (name: string) => boolean): string | undefined {
  const kept = header
    .split(';')
    .map((part) => part.trim())
    .filter((part) => {
      if (part === '') return false;
      const eq = part.indexOf('=');
      const name = (eq < 0 ? part : part.slice(0, eq)).trim();
      return !drop(name);
    });
  return kept.length === 0 ? undefined : kept.join('; ');
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
