import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync, sign as signBytes } from 'node:crypto';
import { before, describe, test } from 'node:test';
import {
  createLocalJWKSet,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  type JWTPayload,
  type JWTVerifyGetKey,
  SignJWT,
} from 'jose';
import { GatehouseError, hasCode } from '../../../src/errors/gatehouse-error.js';
import {
  type BackchannelDeps,
  handleBackchannelLogout,
} from '../../../src/oidc/backchannel-endpoint.js';
import {
  BACKCHANNEL_LOGOUT_EVENT,
  createLogoutTokenVerifier,
  type LogoutTokenVerifierOptions,
  logoutClaimKey,
  replayCacheClaimOnce,
} from '../../../src/oidc/backchannel-logout.js';
import { createReplayCache } from '../../../src/oidc/replay-cache.js';
import { MemoryStore } from '../../../src/store/memory.js';

const ISSUER = 'https://idp.example';
const CLIENT_ID = 'gatehouse';
const NOW = new Date('2026-12-01T12:00:00Z');
const NOW_S = Math.floor(NOW.getTime() / 1000);

type Key = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

describe('back-channel logout token (OIDC Back-Channel Logout 1.0 §2.4, §2.6)', () => {
  let idpKey: Key;
  let otherKey: Key;
  let publicPem: string;
  let keys: JWTVerifyGetKey;
  let counter = 0;

  before(async () => {
    const pair = await generateKeyPair('ES256', { extractable: true });
    idpKey = pair.privateKey;
    publicPem = await exportSPKI(pair.publicKey);
    otherKey = (await generateKeyPair('ES256')).privateKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'idp-1', alg: 'ES256', use: 'sig' };
    keys = createLocalJWKSet({ keys: [jwk] });
  });

  function claims(overrides: Record<string, unknown> = {}): JWTPayload {
    counter += 1;
    const base: Record<string, unknown> = {
      iss: ISSUER,
      aud: CLIENT_ID,
      iat: NOW_S - 5,
      exp: NOW_S + 115,
      jti: `jti-${counter}`,
      sub: 'alice',
      sid: 'idp-session-1',
      events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
    };
    for (const [name, value] of Object.entries(overrides)) {
      if (value === undefined) delete base[name];
      else base[name] = value;
    }
    return base as JWTPayload;
  }

  function sign(
    payload: JWTPayload,
    header: Record<string, unknown> = {},
    key: Key = idpKey,
  ): Promise<string> {
    return new SignJWT(payload)
      .setProtectedHeader({ alg: 'ES256', kid: 'idp-1', typ: 'logout+jwt', ...header })
      .sign(key);
  }

  function verifier(overrides: Partial<LogoutTokenVerifierOptions> = {}) {
    return createLogoutTokenVerifier({
      issuer: () => ISSUER,
      clientId: CLIENT_ID,
      keys,
      claimOnce: replayCacheClaimOnce(createReplayCache(), () => NOW.getTime()),
      ownIssuer: 'https://gatehouse.example',
      ownKids: new Set(['gatehouse-1']),
      ...overrides,
    });
  }

  async function refused(
    token: string | Promise<string>,
    code: 'ERR_LOGOUT_TOKEN_INVALID' | 'ERR_LOGOUT_TOKEN_REPLAYED' = 'ERR_LOGOUT_TOKEN_INVALID',
    verify = verifier(),
  ): Promise<void> {
    await assert.rejects(verify(await token, NOW), (err: unknown) => {
      assert.ok(hasCode(err, code), `expected ${code}, got ${String(err)}`);
      return true;
    });
  }

  /** An unsigned JWS: base64url header and payload, then `signature`. */
  function unsigned(header: Record<string, unknown>, payload: JWTPayload, signature = ''): string {
    const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    return `${part(header)}.${part(payload)}.${signature}`;
  }

  test('a valid token gives iss, jti, sid and sub', async () => {
    const payload = claims();
    const result = await verifier()(await sign(payload), NOW);
    assert.deepEqual(result, {
      iss: ISSUER,
      jti: payload.jti,
      sid: 'idp-session-1',
      sub: 'alice',
    });
  });

  test('sid alone, or sub alone, is enough', async () => {
    const verify = verifier();
    assert.deepEqual(await verify(await sign(claims({ sub: undefined })), NOW), {
      iss: ISSUER,
      jti: `jti-${counter}`,
      sid: 'idp-session-1',
    });
    assert.deepEqual(await verify(await sign(claims({ sid: undefined })), NOW), {
      iss: ISSUER,
      jti: `jti-${counter}`,
      sub: 'alice',
    });
  });

  test('aud may be an array that contains the client id', async () => {
    const result = await verifier()(await sign(claims({ aud: ['other', CLIENT_ID] })), NOW);
    assert.equal(result.sub, 'alice');
  });

  test('typ may be absent or JWT unless required; logout+jwt in any spelling', async () => {
    const verify = verifier();
    await verify(await sign(claims(), { typ: undefined }), NOW);
    await verify(await sign(claims(), { typ: 'JWT' }), NOW);
    await verify(await sign(claims(), { typ: 'application/logout+jwt' }), NOW);
    const strict = verifier({ requireTyp: true });
    await strict(await sign(claims()), NOW);
    await refused(sign(claims(), { typ: undefined }), undefined, strict);
    await refused(sign(claims(), { typ: 'JWT' }), undefined, strict);
  });

  test('bad signature: signed by another key', async () => {
    await refused(sign(claims(), {}, otherKey));
  });

  test('bad signature: the payload changed after signing', async () => {
    const [h, , s] = (await sign(claims())).split('.');
    const forged = Buffer.from(JSON.stringify(claims({ sub: 'mallory' }))).toString('base64url');
    await refused(`${h}.${forged}.${s}`);
  });

  test('alg none is refused', async () => {
    await refused(unsigned({ alg: 'none', typ: 'logout+jwt' }, claims()));
  });

  test('HS256 with the public key as the secret is refused', async () => {
    const header = { alg: 'HS256', kid: 'idp-1', typ: 'logout+jwt' };
    const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const input = `${part(header)}.${part(claims())}`;
    const mac = createHmac('sha256', publicPem).update(input).digest('base64url');
    await refused(`${input}.${mac}`);
  });

  test('a symmetric or none algorithm cannot be configured', () => {
    assert.throws(() => verifier({ algorithms: ['HS256'] }), /not allowed/);
    assert.throws(() => verifier({ algorithms: ['none'] }), /not allowed/);
  });

  test('a header naming its own key (jwk) is refused', async () => {
    await refused(sign(claims(), { jwk: { kty: 'EC' } }));
  });

  test('wrong iss', async () => {
    await refused(sign(claims({ iss: 'https://evil.example' })));
  });

  test('wrong aud', async () => {
    await refused(sign(claims({ aud: 'another-client' })));
    await refused(sign(claims({ aud: undefined })));
  });

  test('missing events', async () => {
    await refused(sign(claims({ events: undefined })));
  });

  test('wrong events member', async () => {
    await refused(sign(claims({ events: { 'http://schemas.openid.net/event/other': {} } })));
  });

  test('events value not an object', async () => {
    await refused(sign(claims({ events: { [BACKCHANNEL_LOGOUT_EVENT]: 'logout' } })));
    await refused(sign(claims({ events: { [BACKCHANNEL_LOGOUT_EVENT]: [] } })));
    await refused(sign(claims({ events: { [BACKCHANNEL_LOGOUT_EVENT]: null } })));
    await refused(sign(claims({ events: [BACKCHANNEL_LOGOUT_EVENT] })));
  });

  test('nonce present', async () => {
    await refused(sign(claims({ nonce: 'n-1' })));
  });

  test('neither sid nor sub', async () => {
    await refused(sign(claims({ sid: undefined, sub: undefined })));
    await refused(sign(claims({ sid: '', sub: undefined })));
  });

  test('missing jti', async () => {
    await refused(sign(claims({ jti: undefined })));
  });

  test('replayed jti', async () => {
    const verify = verifier();
    const token = await sign(claims());
    await verify(token, NOW);
    await refused(token, 'ERR_LOGOUT_TOKEN_REPLAYED', verify);
    // The same jti in a freshly signed token is a replay too.
    await refused(sign(claims({ jti: `jti-${counter}` })), 'ERR_LOGOUT_TOKEN_REPLAYED', verify);
  });

  test('a refused token does not burn its jti', async () => {
    const verify = verifier();
    await refused(sign(claims({ jti: 'kept', nonce: 'x' })), undefined, verify);
    await verify(await sign(claims({ jti: 'kept' })), NOW);
  });

  test('expired', async () => {
    await refused(sign(claims({ iat: NOW_S - 200, exp: NOW_S - 60 })));
  });

  test('iat missing, in the future, or too old', async () => {
    await refused(sign(claims({ iat: undefined })));
    await refused(sign(claims({ iat: NOW_S + 120, exp: NOW_S + 240 })));
    await refused(sign(claims({ iat: NOW_S - 3600, exp: undefined })));
    // Within the tolerance is fine.
    await verifier()(await sign(claims({ iat: NOW_S + 10 })), NOW);
  });

  test('an ID token presented as a logout token', async () => {
    const idToken = await new SignJWT({
      sub: 'alice',
      sid: 'idp-session-1',
      nonce: 'n-1',
      auth_time: NOW_S - 60,
      jti: 'id-token-1',
    })
      .setProtectedHeader({ alg: 'ES256', kid: 'idp-1', typ: 'JWT' })
      .setIssuer(ISSUER)
      .setAudience(CLIENT_ID)
      .setIssuedAt(NOW_S - 5)
      .setExpirationTime(NOW_S + 3600)
      .sign(idpKey);
    await refused(idToken);
  });

  test('an access token (typ at+jwt) presented as a logout token', async () => {
    await refused(sign(claims(), { typ: 'at+jwt' }));
  });

  test('a Gatehouse-signed token is refused', async () => {
    // Gatehouse's kid: refused before any key lookup.
    await refused(sign(claims(), { kid: 'gatehouse-1', typ: 'gatehouse-assertion+jwt' }));
    await refused(sign(claims(), { kid: 'gatehouse-1' }));
    // Gatehouse's issuer, even if the IdP's key verified it.
    await refused(
      sign(claims({ iss: 'https://gatehouse.example' })),
      undefined,
      verifier({ issuer: () => 'https://gatehouse.example' }),
    );
  });

  test('junk and oversized input', async () => {
    await refused('');
    await refused('not.a.jwt!');
    await refused('a.b.c.d.e');
    await refused(`${'a'.repeat(9000)}.b.c`);
  });

  test('no keys: the key source failure is ERR_JWKS_UNAVAILABLE, not a bad token', async () => {
    const verify = verifier({ issuer: () => undefined });
    await assert.rejects(verify(await sign(claims()), NOW), (err: unknown) =>
      hasCode(err, 'ERR_JWKS_UNAVAILABLE'),
    );
  });
  test('a key lookup that fails (a network error, the key source unavailable) is ERR_JWKS_UNAVAILABLE', async () => {
    for (const failure of [
      new TypeError('fetch failed'),
      new GatehouseError('ERR_JWKS_UNAVAILABLE', { cause: new Error('no keys yet') }),
    ]) {
      const verify = verifier({ keys: () => Promise.reject(failure) });
      await assert.rejects(verify(await sign(claims()), NOW), (err: unknown) =>
        hasCode(err, 'ERR_JWKS_UNAVAILABLE'),
      );
    }
  });

  test('a token for an RSA key under 2048 bits is a bad token, not a JWKS outage', async () => {
    // jose throws a TypeError for the short key while verifying, after the lookup succeeded.
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const jwk = { ...weak.publicKey.export({ format: 'jwk' }), kid: 'weak', alg: 'RS256' };
    const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const input = `${part({ alg: 'RS256', kid: 'weak', typ: 'logout+jwt' })}.${part(claims())}`;
    const signature = signBytes('sha256', Buffer.from(input), weak.privateKey);
    const verify = verifier({ keys: createLocalJWKSet({ keys: [jwk] }), algorithms: ['RS256'] });
    await assert.rejects(
      verify(`${input}.${signature.toString('base64url')}`, NOW),
      (err: unknown) => {
        assert.ok(hasCode(err, 'ERR_LOGOUT_TOKEN_INVALID'), String(err));
        assert.match(String((err as Error).cause), /the key cannot verify this token/);
        return true;
      },
    );
  });

  test('a revocation that failed gives the jti back: the identity provider retries and succeeds; a store failure is 503, never 400', async () => {
    const store = new MemoryStore();
    const claimOnce: LogoutTokenVerifierOptions['claimOnce'] = (key, ttlSeconds) =>
      store.claimOnce('backchannel-jti', key, ttlSeconds * 1000);
    const verify = verifier({ claimOnce });
    let failures = 1;
    const revoked: string[] = [];
    const deps: BackchannelDeps = {
      verify: (token) => verify(token, NOW),
      revoke: async (target) => {
        if (failures-- > 0) throw new GatehouseError('ERR_SESSION_STORE_UNAVAILABLE');
        revoked.push(target.sid ?? '');
      },
      unclaim: (logout) =>
        store.releaseOnce('backchannel-jti', logoutClaimKey(logout.iss, logout.jti)),
    };
    const token = await sign(claims());
    const form = (t: string) => ({
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: Buffer.from(`logout_token=${t}`),
    });
    assert.equal((await handleBackchannelLogout(form(token), deps)).status, 503);
    assert.equal((await handleBackchannelLogout(form(token), deps)).status, 200, 'the retry');
    assert.deepEqual(revoked, ['idp-session-1']);
    const replay = await handleBackchannelLogout(form(token), deps);
    assert.equal(replay.status, 400, 'used once it worked');
    assert.match(replay.body, /already/);

    const down: BackchannelDeps = {
      ...deps,
      verify: (token) =>
        verifier({
          claimOnce: () => Promise.reject(new GatehouseError('ERR_SESSION_STORE_UNAVAILABLE')),
        })(token, NOW),
    };
    assert.equal((await handleBackchannelLogout(form(await sign(claims())), down)).status, 503);
    await store.close();
  });
});
