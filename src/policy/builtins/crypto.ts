/**
 * OPA's digest and HMAC builtins over the UTF-8 bytes of their string arguments, returning
 * lower-case hex. `crypto.hmac.equal` compares in constant time.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

type Algorithm = 'md5' | 'sha1' | 'sha256' | 'sha512';

/** A `crypto.<alg>(string)` digest builtin. */
export function digest(algorithm: Algorithm): (x: unknown) => string | undefined {
  return (x) =>
    typeof x === 'string' ? createHash(algorithm).update(x, 'utf8').digest('hex') : undefined;
}

/** A `crypto.hmac.<alg>(x, key)` builtin. */
export function hmac(algorithm: Algorithm): (x: unknown, key: unknown) => string | undefined {
  return (x, key) =>
    typeof x === 'string' && typeof key === 'string'
      ? createHmac(algorithm, Buffer.from(key, 'utf8')).update(x, 'utf8').digest('hex')
      : undefined;
}

/** `crypto.hmac.equal(mac1, mac2)`: constant-time string comparison. */
export function hmacEqual(a: unknown, b: unknown): boolean | undefined {
  if (typeof a !== 'string' || typeof b !== 'string') return undefined;
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}
