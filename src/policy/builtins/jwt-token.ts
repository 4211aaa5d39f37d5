/**
 * Splitting and decoding a compact JWS the way OPA's `io.jwt.*` builtins do (RFC 7515 §7.1,
 * RFC 7519 §7.2): exactly three dot-separated parts, each base64url as OPA's
 * `base64url.decode` reads it (padding optional), header and payload JSON objects.
 */

/** The three encoded parts of a compact JWS. */
export interface CompactJws {
  readonly header: string;
  readonly payload: string;
  readonly signature: string;
}

/** Splits a compact JWS; `undefined` unless it is a string of exactly three parts. */
export function splitJws(token: unknown): CompactJws | undefined {
  if (typeof token !== 'string') return undefined;
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const [header, payload, signature] = parts as [string, string, string];
  return { header, payload, signature };
}

/**
 * OPA's `base64url.decode`: unpadded input is padded first (RFC 7515 appendix C), then decoded
 * strictly as Go's `base64.URLEncoding` does (which skips CR and LF).
 */
export function base64urlDecode(text: string): Buffer | undefined {
  let s = text.replace(/[\r\n]/g, '');
  if (!s.endsWith('=')) {
    if (s.length % 4 === 1) return undefined;
    s += '='.repeat((4 - (s.length % 4)) % 4);
  }
  if (s.length % 4 !== 0 || !/^[A-Za-z0-9_-]*(?:[A-Za-z0-9_-]{2}==|[A-Za-z0-9_-]{3}=)?$/.test(s))
    return undefined;
  return Buffer.from(s, 'base64url');
}

/** A JSON object parsed from UTF-8 bytes (Go keeps the last of duplicate keys, as JSON.parse). */
export function jsonObjectOf(bytes: Buffer): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** The decoded JOSE header: a JSON object that is not a JWE header (`enc`). */
export function decodeHeader(encoded: string): Record<string, unknown> | undefined {
  const bytes = base64urlDecode(encoded);
  const header = bytes === undefined ? undefined : jsonObjectOf(bytes);
  return header === undefined || Object.hasOwn(header, 'enc') ? undefined : header;
}
