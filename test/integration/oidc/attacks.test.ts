/**
 * Hostile callbacks against completeSignIn, each a named test asserting the error code, with a
 * real code from the real demo IdP wherever the attack needs one.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { EncryptJWT, jwtDecrypt } from 'jose';
import * as oidc from 'openid-client';
import { completeSignIn, type CompleteSignInOptions } from '../../../src/oidc/callback.js';
import { createOidcClient } from '../../../src/oidc/client.js';
import { createReplayCache } from '../../../src/oidc/replay-cache.js';
import { startSignIn } from '../../../src/oidc/sign-in.js';
import {
  browseToCallback,
  startTestIdp,
  TEST_CLIENT_ID,
  TEST_CLIENT_SECRET,
  TEST_REDIRECT_URI,
  type TestIdp,
} from '../../support/idp.js';

/** Decrypt a transaction cookie with the test's key, change it, encrypt it again. */
async function reseal(
  value: string,
  key: Uint8Array,
  mutate: (payload: Record<string, unknown>) => void,
): Promise<string> {
  const { payload } = await jwtDecrypt(value, key);
  const copy: Record<string, unknown> = { ...payload };
  mutate(copy);
  return new EncryptJWT(copy)
    .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', typ: 'gatehouse-txn+jwt' })
    .encrypt(key);
}

function withParam(url: URL, name: string, value: string | undefined): URL {
  const copy = new URL(url.href);
  if (value === undefined) copy.searchParams.delete(name);
  else copy.searchParams.set(name, value);
  return copy;
}

describe('OIDC callback attacks', () => {
  let t: TestIdp;
  before(async () => {
    t = await startTestIdp();
  });
  after(async () => {
    await t.stop();
  });

  /** A fresh sign-in as alice up to the callback: the callback URL and the matching cookie. */
  async function signInToCallback(): Promise<{ callback: URL; cookie: string }> {
    const { location, txnCookie } = await startSignIn({
      client: t.client,
      redirectUri: TEST_REDIRECT_URI,
      returnTo: '/',
      txnKey: t.txnKey,
    });
    const callback = await browseToCallback({
      authorizationUrl: location,
      redirectUri: TEST_REDIRECT_URI,
      username: 'alice',
      password: 'alice',
    });
    return { callback, cookie: txnCookie.value };
  }

  function complete(
    currentUrl: URL,
    txnCookieValue: string | undefined,
    extra: Partial<CompleteSignInOptions> = {},
  ): ReturnType<typeof completeSignIn> {
    return completeSignIn({
      client: t.client,
      currentUrl,
      txnCookieValue,
      txnKey: t.txnKey,
      redirectUri: TEST_REDIRECT_URI,
      replayCache: createReplayCache(),
      ...extra,
    });
  }

  test('missing state is rejected (ERR_OIDC_STATE_MISMATCH)', async () => {
    const { callback, cookie } = await signInToCallback();
    await assert.rejects(complete(withParam(callback, 'state', undefined), cookie), {
      code: 'ERR_OIDC_STATE_MISMATCH',
    });
  });

  test('mismatched state is rejected (ERR_OIDC_STATE_MISMATCH)', async () => {
    const { callback, cookie } = await signInToCallback();
    await assert.rejects(complete(withParam(callback, 'state', oidc.randomState()), cookie), {
      code: 'ERR_OIDC_STATE_MISMATCH',
    });
  });

  test('a duplicated state parameter is rejected (ERR_OIDC_STATE_MISMATCH)', async () => {
    const { callback, cookie } = await signInToCallback();
    const dup = new URL(callback.href);
    dup.searchParams.append('state', callback.searchParams.get('state')!);
    await assert.rejects(complete(dup, cookie), { code: 'ERR_OIDC_STATE_MISMATCH' });
  });

  test('a replayed callback (same URL, same cookie) is rejected (ERR_OIDC_STATE_REPLAYED)', async () => {
    const { callback, cookie } = await signInToCallback();
    const replayCache = createReplayCache();
    const first = await complete(callback, cookie, { replayCache });
    assert.equal(first.claims.sub, 'alice');
    await assert.rejects(complete(callback, cookie, { replayCache }), {
      code: 'ERR_OIDC_STATE_REPLAYED',
    });
  });

  test('a replayed callback on another replica still fails: the IdP refuses the used code (ERR_OIDC_EXCHANGE)', async () => {
    const { callback, cookie } = await signInToCallback();
    await complete(callback, cookie, { replayCache: createReplayCache() });
    await assert.rejects(complete(callback, cookie, { replayCache: createReplayCache() }), {
      code: 'ERR_OIDC_EXCHANGE',
    });
  });

  test('a replay is refused before the code is exchanged (state is consumed first)', async () => {
    const { callback, cookie } = await signInToCallback();
    const replayCache = createReplayCache();
    const now = new Date();
    assert.ok(
      replayCache.claim(
        `state:${callback.searchParams.get('state')!}`,
        now.getTime() + 600_000,
        now.getTime(),
      ),
    );
    await assert.rejects(complete(callback, cookie, { replayCache }), {
      code: 'ERR_OIDC_STATE_REPLAYED',
    });
    // The code was not spent: a legitimate completion on a clean replica still works.
    const result = await complete(callback, cookie, { replayCache: createReplayCache() });
    assert.equal(result.claims.sub, 'alice');
  });

  test('wrong nonce: a transaction whose nonce differs from the ID token is rejected (ERR_OIDC_NONCE_MISMATCH)', async () => {
    const { callback, cookie } = await signInToCallback();
    const tampered = await reseal(cookie, t.txnKey, (p) => {
      p['nonce'] = oidc.randomNonce();
    });
    await assert.rejects(complete(callback, tampered), { code: 'ERR_OIDC_NONCE_MISMATCH' });
  });

  test('wrong iss parameter (mix-up) is rejected (ERR_OIDC_ISSUER_MISMATCH)', async () => {
    const { callback, cookie } = await signInToCallback();
    await assert.rejects(complete(withParam(callback, 'iss', 'https://evil.example'), cookie), {
      code: 'ERR_OIDC_ISSUER_MISMATCH',
    });
  });

  test('missing iss parameter from an IdP that advertises RFC 9207 is rejected (ERR_OIDC_ISSUER_MISMATCH)', async () => {
    const { callback, cookie } = await signInToCallback();
    await assert.rejects(complete(withParam(callback, 'iss', undefined), cookie), {
      code: 'ERR_OIDC_ISSUER_MISMATCH',
    });
  });

  test('code injection: a victim code with the attacker transaction fails PKCE at the IdP (ERR_OIDC_EXCHANGE)', async () => {
    const victim = await signInToCallback();
    const attacker = await signInToCallback();
    // The attacker's own state and cookie, the victim's (unused) code.
    const injected = withParam(
      attacker.callback,
      'code',
      victim.callback.searchParams.get('code')!,
    );
    await assert.rejects(complete(injected, attacker.cookie), { code: 'ERR_OIDC_EXCHANGE' });
  });

  test('code replayed into another session: a second exchange of the same code fails (ERR_OIDC_EXCHANGE)', async () => {
    const first = await signInToCallback();
    const result = await complete(first.callback, first.cookie);
    assert.equal(result.claims.sub, 'alice');
    const other = await signInToCallback();
    const replayed = withParam(other.callback, 'code', first.callback.searchParams.get('code')!);
    await assert.rejects(complete(replayed, other.cookie), { code: 'ERR_OIDC_EXCHANGE' });
  });

  test('missing PKCE verifier: a transaction without code_verifier is rejected (ERR_OIDC_TXN_INVALID)', async () => {
    const { callback, cookie } = await signInToCallback();
    const tampered = await reseal(cookie, t.txnKey, (p) => {
      delete p['code_verifier'];
    });
    await assert.rejects(complete(callback, tampered), { code: 'ERR_OIDC_TXN_INVALID' });
  });

  test('wrong PKCE verifier is refused by the IdP (ERR_OIDC_EXCHANGE)', async () => {
    const { callback, cookie } = await signInToCallback();
    const tampered = await reseal(cookie, t.txnKey, (p) => {
      p['code_verifier'] = oidc.randomPKCECodeVerifier();
    });
    await assert.rejects(complete(callback, tampered), { code: 'ERR_OIDC_EXCHANGE' });
  });

  test('missing transaction cookie is rejected (ERR_OIDC_TXN_MISSING)', async () => {
    const { callback } = await signInToCallback();
    await assert.rejects(complete(callback, undefined), { code: 'ERR_OIDC_TXN_MISSING' });
    await assert.rejects(complete(callback, ''), { code: 'ERR_OIDC_TXN_MISSING' });
  });

  test('expired transaction cookie is rejected (ERR_OIDC_TXN_EXPIRED)', async () => {
    const { callback, cookie } = await signInToCallback();
    await assert.rejects(complete(callback, cookie, { now: new Date(Date.now() + 601_000) }), {
      code: 'ERR_OIDC_TXN_EXPIRED',
    });
  });

  test('tampered transaction cookie is rejected (ERR_OIDC_TXN_INVALID)', async () => {
    const { callback, cookie } = await signInToCallback();
    const parts = cookie.split('.');
    const ciphertext = parts[3]!;
    parts[3] = (ciphertext[0] === 'A' ? 'B' : 'A') + ciphertext.slice(1);
    await assert.rejects(complete(callback, parts.join('.')), { code: 'ERR_OIDC_TXN_INVALID' });
    await assert.rejects(complete(callback, 'not-a-jwe'), { code: 'ERR_OIDC_TXN_INVALID' });
  });

  test('a transaction cookie sealed with another key is rejected (ERR_OIDC_TXN_INVALID)', async () => {
    const { callback, cookie } = await signInToCallback();
    await assert.rejects(complete(callback, cookie, { txnKey: new Uint8Array(randomBytes(32)) }), {
      code: 'ERR_OIDC_TXN_INVALID',
    });
  });

  test('a transaction bound to another host is rejected (ERR_OIDC_TXN_INVALID)', async () => {
    const { callback, cookie } = await signInToCallback();
    const tampered = await reseal(cookie, t.txnKey, (p) => {
      p['host'] = 'other.example.test';
    });
    await assert.rejects(complete(callback, tampered), { code: 'ERR_OIDC_TXN_INVALID' });
  });

  test('an unsafe return path smuggled into the transaction is refused (ERR_OIDC_TXN_INVALID is not needed: it was never stored)', async () => {
    const { location, txnCookie } = await startSignIn({
      client: t.client,
      redirectUri: TEST_REDIRECT_URI,
      returnTo: '//evil.example/x',
      txnKey: t.txnKey,
    });
    const callback = await browseToCallback({
      authorizationUrl: location,
      redirectUri: TEST_REDIRECT_URI,
      username: 'alice',
      password: 'alice',
    });
    const result = await complete(callback, txnCookie.value);
    assert.equal(result.returnTo, '/');
  });

  // Issue 12 point 8: with the transaction key leaked, a forged transaction must still not
  // redirect off-origin: the return path is checked again when the callback uses it.
  for (const returnTo of [
    '//evil.example/x',
    'https://evil.example/',
    '/\\evil.example',
    '/%2F%2Fevil.example',
    '/.gatehouse/sign_out',
    'javascript:alert(1)',
  ]) {
    test(`a forged transaction's return path ${JSON.stringify(returnTo)} is checked again at the callback (ERR_RETURN_URL_INVALID)`, async () => {
      const { callback, cookie } = await signInToCallback();
      const forged = await reseal(cookie, t.txnKey, (p) => {
        p['return_to'] = returnTo;
      });
      await assert.rejects(complete(callback, forged), { code: 'ERR_RETURN_URL_INVALID' });
    });
  }

  test('the user cancelling at the IdP gives ERR_OIDC_PROVIDER_ERROR', async () => {
    const { location, txnCookie } = await startSignIn({
      client: t.client,
      redirectUri: TEST_REDIRECT_URI,
      returnTo: '/',
      txnKey: t.txnKey,
    });
    let cookies = '';
    let url = new URL(location);
    let aborted = false;
    for (let hop = 0; hop < 10 && !url.href.startsWith(TEST_REDIRECT_URI); hop++) {
      const res = await fetch(url, { redirect: 'manual', headers: { cookie: cookies } });
      const set = res.headers.getSetCookie().map((c) => c.split(';')[0]);
      if (set.length > 0) cookies = [cookies, ...set].filter((c) => c !== '').join('; ');
      const next = res.headers.get('location');
      await res.arrayBuffer();
      if (next !== null) url = new URL(next, url);
      else if (!aborted) {
        url = new URL(`${url.pathname}/abort`, url);
        aborted = true;
      }
    }
    assert.equal(url.searchParams.get('error'), 'access_denied');
    await assert.rejects(complete(url, txnCookie.value), { code: 'ERR_OIDC_PROVIDER_ERROR' });
  });

  describe('ID token checks (token endpoint response altered in transit)', () => {
    async function alteredClientFlow(
      alter: (body: Record<string, unknown>) => void,
    ): Promise<unknown> {
      const client = createOidcClient({
        issuer: t.idp.url,
        clientId: TEST_CLIENT_ID,
        clientSecret: TEST_CLIENT_SECRET,
        scopes: ['openid', 'email'],
        allowInsecureIssuer: true,
      });
      const config = await client.configuration();
      const tokenEndpoint = config.serverMetadata().token_endpoint;
      config[oidc.customFetch] = async (url, init) => {
        // openid-client's fetch options are a RequestInit in all but exactOptionalPropertyTypes.
        const response = await fetch(url, init as RequestInit);
        if (url !== tokenEndpoint) return response;
        const body = (await response.json()) as Record<string, unknown>;
        alter(body);
        return new Response(JSON.stringify(body), {
          status: response.status,
          headers: { 'content-type': 'application/json' },
        });
      };
      const { location, txnCookie } = await startSignIn({
        client,
        redirectUri: TEST_REDIRECT_URI,
        returnTo: '/',
        txnKey: t.txnKey,
      });
      const callback = await browseToCallback({
        authorizationUrl: location,
        redirectUri: TEST_REDIRECT_URI,
        username: 'alice',
        password: 'alice',
      });
      return completeSignIn({
        client,
        currentUrl: callback,
        txnCookieValue: txnCookie.value,
        txnKey: t.txnKey,
        redirectUri: TEST_REDIRECT_URI,
        replayCache: createReplayCache(),
      });
    }

    test('the ID token signature is checked (ERR_OIDC_ID_TOKEN_INVALID)', async () => {
      const pending = alteredClientFlow((body) => {
        const [h, p, s] = String(body['id_token']).split('.');
        body['id_token'] = `${h}.${p}.${s!.slice(0, -4)}AAAA`;
      });
      await assert.rejects(pending, { code: 'ERR_OIDC_ID_TOKEN_INVALID' });
    });

    test('an ID token with a forged payload (other subject) fails the signature (ERR_OIDC_ID_TOKEN_INVALID)', async () => {
      const pending = alteredClientFlow((body) => {
        const [h, p, s] = String(body['id_token']).split('.');
        const claims = JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<
          string,
          unknown
        >;
        claims['sub'] = 'mallory';
        body['id_token'] = `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`;
      });
      await assert.rejects(pending, { code: 'ERR_OIDC_ID_TOKEN_INVALID' });
    });

    test('an unsigned (alg: none) ID token is rejected (ERR_OIDC_ID_TOKEN_INVALID)', async () => {
      const pending = alteredClientFlow((body) => {
        const [, p] = String(body['id_token']).split('.');
        body['id_token'] = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${p}.`;
      });
      await assert.rejects(pending, { code: 'ERR_OIDC_ID_TOKEN_INVALID' });
    });

    test('a response without an ID token is rejected (ERR_OIDC_ID_TOKEN_INVALID)', async () => {
      const pending = alteredClientFlow((body) => {
        delete body['id_token'];
      });
      await assert.rejects(pending, { code: 'ERR_OIDC_ID_TOKEN_INVALID' });
    });
  });
});
