/**
 * Return-URL checks: where a user may be sent after sign-in (or a hand-off). Open redirects are
 * the classic sign-in-proxy vulnerability (oauth2-proxy GHSA-5vcf-m2rp-4xv7 and others); the
 * rules here are an allow-list, not a deny-list of known tricks.
 */
import { GatehouseError } from '../errors/gatehouse-error.js';

const BASE = 'https://gatehouse.invalid';
const MAX_LENGTH = 2048;
/** Printable ASCII without space and backslash: anything else is refused before parsing. */
const PRINTABLE = /^[\x21-\x5B\x5D-\x7E]+$/;
/** Decoding rounds checked, to catch double and triple encoding. */
const DECODE_ROUNDS = 3;

/**
 * True when `raw` is a safe same-origin relative path: starts with exactly one `/`, no `//`,
 * `/\`, backslash, whitespace or control character (raw or percent-encoded, up to triple
 * encoding), no scheme or authority, and does not point into `/.gatehouse/` (other than the
 * who-am-I page `/.gatehouse/`).
 */
export function isSafeReturnPath(raw: string | undefined): raw is string {
  if (raw === undefined || raw === '' || raw.length > MAX_LENGTH) return false;
  if (!PRINTABLE.test(raw)) return false;
  if (raw[0] !== '/' || raw[1] === '/') return false;

  // Check the raw form and every decoded form: a later hop (an app, a proxy, a browser quirk)
  // may decode once more before it interprets the URL.
  let current = raw;
  for (let round = 0; round <= DECODE_ROUNDS; round++) {
    if (!safeDecodedForm(current, round === 0)) return false;
    if (!current.includes('%')) break;
    try {
      current = decodeURIComponent(current);
    } catch {
      return false; // malformed percent-encoding
    }
  }
  return true;
}

function safeDecodedForm(value: string, isRaw: boolean): boolean {
  const cut = value.search(/[?#]/);
  const path = cut < 0 ? value : value.slice(0, cut);
  const rest = cut < 0 ? '' : value.slice(cut);
  // The path: no control characters, whitespace or backslashes at all, and never `//` or `/\`
  // at the start (a scheme-relative URL).
  if (
    /[\x00-\x20\x7F\\]/.test(path) ||
    /[\u0080-\u00A0\u1680\u2000-\u200F\u2028-\u202F\u205F\u3000\uFEFF]/.test(path)
  )
    return false;
  if (!path.startsWith('/') || path.startsWith('//')) return false;
  // Query and fragment: a decoded space is fine (`?q=a%20b`), control characters and backslashes are not.
  if (/[\x00-\x1F\x7F\\]/.test(rest)) return false;
  // Reserved Gatehouse paths are not destinations (e.g. returning into sign-out).
  const lower = path.toLowerCase();
  if (lower.startsWith('/.gatehouse/') && lower !== '/.gatehouse/') return false;
  if (lower.startsWith('/.well-known/gatehouse/')) return false;
  if (isRaw) {
    // The WHATWG parser must agree that this stays on our origin.
    let url: URL;
    try {
      url = new URL(value, BASE);
    } catch {
      return false;
    }
    if (url.origin !== BASE || url.username !== '' || url.password !== '') return false;
  }
  return true;
}

/**
 * `raw` if it is a safe same-origin relative path ({@link isSafeReturnPath}), else `fallback`.
 *
 * @example safeReturnPath('/docs?page=2') === '/docs?page=2'; safeReturnPath('//evil.com') === '/'
 */
export function safeReturnPath(raw: string | undefined, fallback = '/'): string {
  return isSafeReturnPath(raw) ? raw : fallback;
}

/**
 * Like {@link safeReturnPath} but refusing instead of falling back.
 *
 * @throws GatehouseError `ERR_RETURN_URL_INVALID`
 */
export function requireReturnPath(raw: string | undefined): string {
  if (!isSafeReturnPath(raw)) throw new GatehouseError('ERR_RETURN_URL_INVALID');
  return raw;
}

/** Options for {@link safeAbsoluteReturn}. */
export interface AbsoluteReturnOptions {
  /** Allow `http:` (loopback development only). Default false. */
  readonly allowHttp?: boolean;
}

/**
 * For the central sign-in host: `raw` as a URL when it is an absolute `https:` URL whose host
 * (`host[:port]`, compared case-insensitively) is in `allowedHosts` (an entry `*.example.com`
 * allows any single-label subdomain) and whose path is a safe return path; else `undefined`.
 * No userinfo, no backslash, whitespace or control characters anywhere.
 */
export function safeAbsoluteReturn(
  raw: string | undefined,
  allowedHosts: readonly string[],
  options: AbsoluteReturnOptions = {},
): URL | undefined {
  if (raw === undefined || raw === '' || raw.length > MAX_LENGTH || !PRINTABLE.test(raw))
    return undefined;
  const scheme = /^(https?):\/\/([^/?#]*)/i.exec(raw);
  if (scheme === null) return undefined;
  const protocol = scheme[1]!.toLowerCase();
  if (protocol !== 'https' && !(protocol === 'http' && options.allowHttp === true))
    return undefined;
  const authority = scheme[2]!;
  if (authority.includes('@') || authority.includes('%') || authority === '') return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return undefined;
  }
  if (
    url.username !== '' ||
    url.password !== '' ||
    url.host.toLowerCase() !== authority.toLowerCase()
  )
    return undefined;
  if (!isAllowedHost(url.host, allowedHosts)) return undefined;
  const path = raw.slice(scheme[0].length) || '/';
  if (!isSafeReturnPath(path.startsWith('/') ? path : `/${path}`)) return undefined;
  return url;
}

/** True when `host` (`host[:port]`) is in `allowedHosts`, case-insensitively; `*.x` matches one label. */
export function isAllowedHost(host: string, allowedHosts: readonly string[]): boolean {
  const h = host.toLowerCase();
  for (const entry of allowedHosts) {
    const e = entry.toLowerCase();
    if (e === h) return true;
    if (e.startsWith('*.')) {
      const suffix = e.slice(1);
      if (h.endsWith(suffix)) {
        const label = h.slice(0, -suffix.length);
        if (/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(label)) return true;
      }
    }
  }
  return false;
}
