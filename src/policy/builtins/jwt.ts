/**
 * `io.jwt.decode(token)`: splits a compact JWS into `[header, payload, signature-hex]`
 * WITHOUT verifying anything. Policies must only trust claims decoded this way when
 * something upstream (Gatehouse's identity stage, or Envoy's `jwt_authn`) verified them.
 *
 * Follows OPA: three base64url parts; header and payload must be JSON objects; a token whose
 * header says `cty: "JWT"` is a nested token and the inner one is decoded instead; anything
 * else makes the expression undefined.
 */

const MAX_NESTING = 8;

function b64urlBytes(part: string): Buffer | undefined {
  // Accept unpadded and padded base64url, as Go's lenient decoder in OPA does.
  const body = part.replace(/=+$/, '');
  if (!/^[A-Za-z0-9_-]*$/.test(body) || body.length % 4 === 1) return undefined;
  return Buffer.from(body, 'base64url');
}

function jsonObject(bytes: Buffer): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** `io.jwt.decode(jwt)`. */
export function decode(
  token: unknown,
): [Record<string, unknown>, Record<string, unknown>, string] | undefined {
  if (typeof token !== 'string') return undefined;
  let current = token;
  for (let depth = 0; depth < MAX_NESTING; depth++) {
    const parts = current.split('.');
    if (parts.length !== 3) return undefined; // JWE (5 parts) and malformed tokens
    const [h, p, s] = parts as [string, string, string];
    const headerBytes = b64urlBytes(h);
    const payloadBytes = b64urlBytes(p);
    const signature = b64urlBytes(s);
    if (headerBytes === undefined || payloadBytes === undefined || signature === undefined)
      return undefined;
    const header = jsonObject(headerBytes);
    if (header === undefined) return undefined;
    if (header['cty'] === 'JWT') {
      current = payloadBytes.toString('utf8');
      continue;
    }
    const payload = jsonObject(payloadBytes);
    if (payload === undefined) return undefined;
    return [header, payload, signature.toString('hex')];
  }
  return undefined;
}
