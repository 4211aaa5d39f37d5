/**
 * Security invariants of the host JWT builtins, as named tests (the same cases also run against
 * `opa eval` in test/integration/policy/builtins-vs-opa.test.ts).
 */
import assert from 'node:assert/strict';
import { createHmac, createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { describe, test } from 'node:test';
import { EvalContext } from '../../../src/policy/builtins/context.js';
import {
  decodeVerify,
  verifyAsymmetric,
  verifyHmac,
} from '../../../src/policy/builtins/jwt-verify.js';

const b64 = (s: string | Buffer): string => Buffer.from(s).toString('base64url');
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const rsaPem = createPublicKey(rsa.privateKey).export({ type: 'spki', format: 'pem' }).toString();
const NOW = 1_700_000_000n * 1_000_000_000n;
const ctx = new EvalContext(() => NOW);
const dv = decodeVerify(ctx);

function hs256(secret: string, header: object, payload: object): string {
  const input = `${b64(JSON.stringify(header))}.${b64(JSON.stringify(payload))}`;
  return `${input}.${b64(createHmac('sha256', secret).update(input).digest())}`;
}

function rs256(header: object, payload: object): string {
  const input = `${b64(JSON.stringify(header))}.${b64(JSON.stringify(payload))}`;
  return `${input}.${b64(sign('sha256', Buffer.from(input), rsa.privateKey))}`;
}

const UNVERIFIED = [false, {}, {}];

describe('io.jwt.decode_verify', () => {
  test('a valid HS256 token verifies and returns header and payload', () => {
    const token = hs256('s3cret', { alg: 'HS256' }, { sub: 'alice', exp: 1_800_000_000 });
    assert.deepEqual(dv(token, { secret: 's3cret' }), [
      true,
      { alg: 'HS256' },
      { sub: 'alice', exp: 1_800_000_000 },
    ]);
  });

  test('alg none never verifies, whatever the key', () => {
    const none = `${b64('{"alg":"none"}')}.${b64('{"sub":"mallory"}')}.`;
    assert.deepEqual(dv(none, { secret: 's3cret' }), UNVERIFIED);
    assert.deepEqual(dv(none, { cert: rsaPem }), UNVERIFIED);
  });

  test('an RSA public key used as an HMAC secret (algorithm confusion) does not verify', () => {
    const forged = hs256(rsaPem, { alg: 'HS256' }, { sub: 'mallory' });
    assert.deepEqual(
      dv(forged, { cert: rsaPem }),
      UNVERIFIED,
      'cert: the RSA key never acts as a secret',
    );
  });

  test('a secret never verifies an asymmetric algorithm', () => {
    assert.deepEqual(dv(rs256({ alg: 'RS256' }, { sub: 'a' }), { secret: 's3cret' }), UNVERIFIED);
  });

  test('the alg constraint must equal the header alg', () => {
    const token = rs256({ alg: 'RS256' }, { sub: 'a' });
    assert.equal(dv(token, { cert: rsaPem })?.[0], true);
    assert.deepEqual(dv(token, { cert: rsaPem, alg: 'RS512' }), UNVERIFIED);
  });

  test('a crit header naming an unknown parameter fails verification', () => {
    assert.deepEqual(
      dv(hs256('k', { alg: 'HS256', crit: ['x-unknown'], 'x-unknown': 1 }, {}), { secret: 'k' }),
      UNVERIFIED,
    );
  });

  test('exp and nbf are checked against the evaluation clock, or the time constraint', () => {
    const expired = hs256('k', { alg: 'HS256' }, { exp: 1_700_000_000 });
    assert.deepEqual(dv(expired, { secret: 'k' }), UNVERIFIED, 'exp == now is expired');
    assert.equal(dv(expired, { secret: 'k', time: Number(NOW) - 1e9 })?.[0], true);
    const early = hs256('k', { alg: 'HS256' }, { nbf: 1_700_000_001 });
    assert.deepEqual(dv(early, { secret: 'k' }), UNVERIFIED);
  });

  test('a token with an audience verifies only against that audience', () => {
    const token = hs256('k', { alg: 'HS256' }, { aud: ['api', 'web'] });
    assert.deepEqual(
      dv(token, { secret: 'k' }),
      UNVERIFIED,
      'no aud constraint: a token meant for someone is refused',
    );
    assert.equal(dv(token, { secret: 'k', aud: 'web' })?.[0], true);
    assert.deepEqual(dv(token, { secret: 'k', aud: 'other' }), UNVERIFIED);
  });

  test('malformed input and constraints are errors (undefined), not false', () => {
    assert.equal(dv('a.b', { secret: 'k' }), undefined);
    assert.equal(dv(hs256('k', { alg: 'HS256' }, {}), { secret: 'k', unknown: 1 }), undefined);
    assert.equal(dv(hs256('k', { alg: 'HS256' }, {}), {}), undefined, 'no key');
    assert.equal(
      dv(hs256('k', { alg: 'HS256' }, {}), { secret: 'k', cert: rsaPem }),
      undefined,
      'two keys',
    );
    assert.equal(dv(hs256('k', { alg: 'HS256' }, { exp: 'soon' }), { secret: 'k' }), undefined);
  });
});

describe('io.jwt.verify_*', () => {
  test('verify_rs256 checks the signature with the key', () => {
    const token = rs256({ alg: 'RS256' }, { sub: 'a' });
    assert.equal(verifyAsymmetric('RS256')(token, rsaPem), true);
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    assert.equal(
      verifyAsymmetric('RS256')(
        token,
        createPublicKey(other.privateKey).export({ type: 'spki', format: 'pem' }).toString(),
      ),
      false,
    );
  });

  test('verify_hs256 with the PEM text of the RSA key is the HMAC the forger computed: only that builtin accepts it', () => {
    const forged = hs256(rsaPem, { alg: 'HS256' }, { sub: 'mallory' });
    assert.equal(
      verifyHmac('HS256')(forged, rsaPem),
      true,
      'an HMAC check is an HMAC check: policies must pick the builtin for their key',
    );
    assert.equal(verifyAsymmetric('RS256')(forged, rsaPem), false);
  });

  test('an unparsable key is an error (undefined)', () => {
    assert.equal(verifyAsymmetric('RS256')(rs256({ alg: 'RS256' }, {}), 'not a key'), undefined);
  });
});
