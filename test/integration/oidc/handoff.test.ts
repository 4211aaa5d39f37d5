/**
 * Central sign-in host: one redirect URI at the central host, identity handed off to protected
 * hosts. The whole journey runs against the real demo IdP; the attacks on the hand-off itself
 * need no IdP.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { completeSignIn } from '../../../src/oidc/callback.js';
import {
  acceptHandoffRequest,
  completeHandoff,
  HANDOFF_REQUEST_PARAM,
  HANDOFF_TOKEN_PARAM,
  issueHandoff,
  startHandoff,
  type HandoffTarget,
} from '../../../src/oidc/handoff.js';
import { createReplayCache } from '../../../src/oidc/replay-cache.js';
import { createSignInFlow } from '../../../src/oidc/flow.js';
import { startSignIn } from '../../../src/oidc/sign-in.js';
import { browseToCallback, startTestIdp, type TestIdp } from '../../support/idp.js';
import { memorySessions } from '../../support/sessions.js';
import { ringOf } from '../../unit/keys/support.js';
import { EncryptJWT } from 'jose';

const CENTRAL = 'login.example.test';
const CENTRAL_SIGN_IN = `https://${CENTRAL}/.gatehouse/sign_in`;
const CENTRAL_CALLBACK = `https://${CENTRAL}/.gatehouse/callback`;
const APP = 'app.example.test';
const ALLOWED = ['*.example.test'];

const key = (): Uint8Array => new Uint8Array(randomBytes(32));
/** Gatehouse's signing keys (shared by every replica), and an attacker's. */
const ring = await ringOf('p256.pem');
const otherRing = await ringOf('p384.pem');

describe('central sign-in host hand-off', () => {
  let t: TestIdp;
  const handoffKey = key();
  const appTxnKey = key();
  const centralTxnKey = key();

  before(async () => {
    t = await startTestIdp([CENTRAL_CALLBACK]);
  });
  after(async () => {
    await t.stop();
  });

  test('a protected host signs in through the central host and receives the identity', async () => {
    // 1. Protected host: transaction cookie + redirect to the central host.
    const start = await startHandoff({
      centralSignInUrl: CENTRAL_SIGN_IN,
      host: APP,
      returnTo: '/dash?tab=2',
      txnKey: appTxnKey,
      ring,
    });
    const toCentral = new URL(start.location);
    assert.equal(toCentral.origin + toCentral.pathname, CENTRAL_SIGN_IN);
    const request = toCentral.searchParams.get(HANDOFF_REQUEST_PARAM) ?? undefined;
    assert.equal(request?.split('.').length, 3, 'the request is a JWS signed by Gatehouse');

    // 2. Central host: check the request, run the OIDC flow with its own redirect URI.
    const target = await acceptHandoffRequest({
      request,
      ring,
      centralHost: CENTRAL,
      allowedHosts: ALLOWED,
    });
    assert.equal(target.host, APP);
    assert.equal(target.returnTo, '/dash?tab=2');
    const signIn = await startSignIn({
      client: t.client,
      redirectUri: CENTRAL_CALLBACK,
      returnTo: '/',
      txnKey: centralTxnKey,
      handoff: target,
    });
    const callback = await browseToCallback({
      authorizationUrl: signIn.location,
      redirectUri: CENTRAL_CALLBACK,
      username: 'alice',
      password: 'alice',
    });
    const result = await completeSignIn({
      client: t.client,
      currentUrl: callback,
      txnCookieValue: signIn.txnCookie.value,
      txnKey: centralTxnKey,
      redirectUri: CENTRAL_CALLBACK,
      replayCache: createReplayCache(),
    });
    assert.deepEqual(result.handoff, target);

    // 3. Central host: hand off to the protected host's callback.
    const { location } = await issueHandoff({
      target: result.handoff!,
      claims: result.claims,
      tokens: result.tokens,
      ring,
      handoffKey,
      centralHost: CENTRAL,
    });
    const back = new URL(location);
    assert.equal(back.origin + back.pathname, `https://${APP}/.gatehouse/callback`);
    const token = back.searchParams.get(HANDOFF_TOKEN_PARAM) ?? undefined;

    // 4. Protected host: accept it.
    const replayCache = createReplayCache();
    const done = await completeHandoff({
      token,
      txnCookieValue: start.txnCookie.value,
      txnKey: appTxnKey,
      handoffKey,
      ring,
      host: APP,
      centralHost: CENTRAL,
      replayCache,
    });
    assert.equal(done.claims.sub, 'alice');
    assert.equal(done.claims['email'], 'alice@example.com');
    assert.deepEqual(done.claims['groups'], ['admins', 'staff']);
    assert.equal(done.tokens.id_token, result.tokens.id_token);
    assert.equal(typeof done.tokens.refresh_token, 'string');
    assert.equal(done.returnTo, '/dash?tab=2');

    // Replay of the same hand-off URL on the same replica.
    await assert.rejects(
      completeHandoff({
        token,
        txnCookieValue: start.txnCookie.value,
        txnKey: appTxnKey,
        handoffKey,
        ring,
        host: APP,
        centralHost: CENTRAL,
        replayCache,
      }),
      { code: 'ERR_HANDOFF_REPLAYED' },
    );
  });

  test('a forged central transaction naming a host outside allowed_hosts never gets a hand-off (checked again at the callback)', async () => {
    const sessions = memorySessions(ring);
    const flow = createSignInFlow({
      client: t.client,
      ring,
      sessions: sessions.book,
      txnKey: centralTxnKey,
      cookieName: '__Host-gatehouse',
      groupsClaim: 'groups',
      postLogoutRedirectPath: '/.gatehouse/signed_out',
      centralHost: CENTRAL,
      allowedHosts: ALLOWED,
      handoffKey,
      onEvent: () => undefined,
    });
    // What someone holding the transaction key could seal: a hand-off to a host not allowed.
    const forged = await startSignIn({
      client: t.client,
      redirectUri: CENTRAL_CALLBACK,
      returnTo: '/',
      txnKey: centralTxnKey,
      handoff: { host: 'evil.test', returnTo: '/', nonce: 'n'.repeat(43) },
    });
    const callback = await browseToCallback({
      authorizationUrl: forged.location,
      redirectUri: CENTRAL_CALLBACK,
      username: 'alice',
      password: 'alice',
    });
    const reply = await flow.callback({
      method: 'GET',
      host: CENTRAL,
      scheme: 'https',
      path: `${callback.pathname}${callback.search}`,
      pathname: callback.pathname,
      headers: {
        cookie: `__Host-gatehouse-txn=${forged.txnCookie.value}`,
        accept: 'application/json',
      },
      requestId: 'r-1',
    });
    assert.equal(reply.status, 401);
    assert.equal(
      reply.headers.some(([name, value]) => name === 'location' && value.includes('evil.test')),
      false,
    );
    assert.match(reply.body, /ERR_HANDOFF_INVALID/);
  });

  describe('attacks on the hand-off', () => {
    const claims = { iss: 'https://idp.example', sub: 'alice', aud: 'gatehouse', iat: 1, exp: 2 };
    const tokens = { id_token: 'x.y.z' };

    async function begin(host = APP): Promise<{ cookie: string; target: HandoffTarget }> {
      const start = await startHandoff({
        centralSignInUrl: CENTRAL_SIGN_IN,
        host,
        returnTo: '/r',
        txnKey: appTxnKey,
        ring,
      });
      const request = new URL(start.location).searchParams.get(HANDOFF_REQUEST_PARAM) ?? undefined;
      const target = await acceptHandoffRequest({
        request,
        ring,
        centralHost: CENTRAL,
        allowedHosts: ALLOWED,
      });
      return { cookie: start.txnCookie.value, target };
    }

    async function tokenFor(
      target: HandoffTarget,
      extra: { now?: Date; centralHost?: string; handoffKey?: Uint8Array; ring?: typeof ring } = {},
    ): Promise<string> {
      const { location } = await issueHandoff({
        target,
        claims,
        tokens,
        ring: extra.ring ?? ring,
        handoffKey: extra.handoffKey ?? handoffKey,
        centralHost: extra.centralHost ?? CENTRAL,
        ...(extra.now === undefined ? {} : { now: extra.now }),
      });
      return new URL(location).searchParams.get(HANDOFF_TOKEN_PARAM)!;
    }

    function accept(
      token: string | undefined,
      cookie: string | undefined,
      extra: { now?: Date; host?: string } = {},
    ): Promise<unknown> {
      return completeHandoff({
        token,
        txnCookieValue: cookie,
        txnKey: appTxnKey,
        handoffKey,
        ring,
        host: extra.host ?? APP,
        centralHost: CENTRAL,
        replayCache: createReplayCache(),
        ...(extra.now === undefined ? {} : { now: extra.now }),
      });
    }

    test('a valid hand-off is accepted (control)', async () => {
      const { cookie, target } = await begin();
      const done = (await accept(await tokenFor(target), cookie)) as { returnTo: string };
      assert.equal(done.returnTo, '/r');
    });

    test('tampered hand-off token is rejected (ERR_HANDOFF_INVALID)', async () => {
      const { cookie, target } = await begin();
      const parts = (await tokenFor(target)).split('.');
      parts[3] = (parts[3]![0] === 'A' ? 'B' : 'A') + parts[3]!.slice(1);
      await assert.rejects(accept(parts.join('.'), cookie), { code: 'ERR_HANDOFF_INVALID' });
    });

    test('missing hand-off token is rejected (ERR_HANDOFF_INVALID)', async () => {
      const { cookie } = await begin();
      await assert.rejects(accept(undefined, cookie), { code: 'ERR_HANDOFF_INVALID' });
    });

    test('a hand-off token for another host (wrong audience) is rejected (ERR_HANDOFF_INVALID)', async () => {
      const { cookie, target } = await begin();
      await assert.rejects(
        accept(await tokenFor({ ...target, host: 'other.example.test' }), cookie),
        { code: 'ERR_HANDOFF_INVALID' },
      );
    });

    test('a hand-off token from another issuer is rejected (ERR_HANDOFF_INVALID)', async () => {
      const { cookie, target } = await begin();
      await assert.rejects(
        accept(await tokenFor(target, { centralHost: 'evil.example.test' }), cookie),
        { code: 'ERR_HANDOFF_INVALID' },
      );
    });

    test('a hand-off token sealed with another key is rejected (ERR_HANDOFF_INVALID)', async () => {
      const { cookie, target } = await begin();
      await assert.rejects(accept(await tokenFor(target, { handoffKey: key() }), cookie), {
        code: 'ERR_HANDOFF_INVALID',
      });
    });

    test('an expired hand-off token (older than 60 s) is rejected (ERR_HANDOFF_INVALID)', async () => {
      const { cookie, target } = await begin();
      const token = await tokenFor(target);
      await assert.rejects(accept(token, cookie, { now: new Date(Date.now() + 61_000) }), {
        code: 'ERR_HANDOFF_INVALID',
      });
    });

    test('login CSRF: a hand-off minted for another browser (other nonce) is rejected (ERR_HANDOFF_INVALID)', async () => {
      const victim = await begin();
      const attacker = await begin();
      await assert.rejects(accept(await tokenFor(attacker.target), victim.cookie), {
        code: 'ERR_HANDOFF_INVALID',
      });
    });

    // Issue 12 point 3: the session secret alone (hence the hand-off and transaction keys) must
    // not mint an identity; only Gatehouse's signing key can.
    test('a hand-off token signed by another key, though sealed with the right hand-off key, is rejected (ERR_HANDOFF_INVALID)', async () => {
      const { cookie, target } = await begin();
      await assert.rejects(accept(await tokenFor(target, { ring: otherRing }), cookie), {
        code: 'ERR_HANDOFF_INVALID',
      });
    });

    test('an encrypted-only hand-off token (what the session secret alone can mint) is rejected (ERR_HANDOFF_INVALID)', async () => {
      const { cookie, target } = await begin();
      const iat = Math.floor(Date.now() / 1000);
      const forged = await new EncryptJWT({
        nonce: target.nonce,
        return_to: '/',
        claims: { ...claims, sub: 'mallory-as-admin' },
        tokens,
      })
        .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', typ: 'gatehouse-handoff+jwt' })
        .setIssuer(CENTRAL)
        .setAudience(APP)
        .setJti('forged-jti-0001')
        .setIssuedAt(iat)
        .setExpirationTime(iat + 60)
        .encrypt(handoffKey);
      await assert.rejects(accept(forged, cookie), { code: 'ERR_HANDOFF_INVALID' });
    });

    test('a hand-off request signed by another key is rejected (ERR_HANDOFF_INVALID)', async () => {
      const start = await startHandoff({
        centralSignInUrl: CENTRAL_SIGN_IN,
        host: APP,
        returnTo: '/',
        txnKey: appTxnKey,
        ring: otherRing,
      });
      const request = new URL(start.location).searchParams.get(HANDOFF_REQUEST_PARAM) ?? undefined;
      await assert.rejects(
        acceptHandoffRequest({ request, ring, centralHost: CENTRAL, allowedHosts: ALLOWED }),
        { code: 'ERR_HANDOFF_INVALID' },
      );
    });

    test('a failed hand-off attempt consumes the transaction: the right token afterwards is refused (ERR_HANDOFF_REPLAYED)', async () => {
      const { cookie, target } = await begin();
      const replayCache = createReplayCache();
      const attempt = (token: string) =>
        completeHandoff({
          token,
          txnCookieValue: cookie,
          txnKey: appTxnKey,
          handoffKey,
          ring,
          host: APP,
          centralHost: CENTRAL,
          replayCache,
        });
      await assert.rejects(attempt(await tokenFor(target, { ring: otherRing })), {
        code: 'ERR_HANDOFF_INVALID',
      });
      await assert.rejects(attempt(await tokenFor(target)), { code: 'ERR_HANDOFF_REPLAYED' });
    });

    test('a hand-off without the protected host transaction cookie is rejected (ERR_OIDC_TXN_MISSING)', async () => {
      const { target } = await begin();
      await assert.rejects(accept(await tokenFor(target), undefined), {
        code: 'ERR_OIDC_TXN_MISSING',
      });
    });

    test('a hand-off token presented as the transaction cookie is rejected (ERR_OIDC_TXN_INVALID)', async () => {
      const { target } = await begin();
      const token = await tokenFor(target);
      await assert.rejects(
        completeHandoff({
          token,
          txnCookieValue: token,
          txnKey: handoffKey,
          handoffKey,
          ring,
          host: APP,
          centralHost: CENTRAL,
          replayCache: createReplayCache(),
        }),
        { code: 'ERR_OIDC_TXN_INVALID' },
      );
    });

    test('a hand-off request for a host that is not allowed is rejected (ERR_HANDOFF_INVALID)', async () => {
      const start = await startHandoff({
        centralSignInUrl: CENTRAL_SIGN_IN,
        host: 'evil.test',
        returnTo: '/',
        txnKey: appTxnKey,
        ring,
      });
      const request = new URL(start.location).searchParams.get(HANDOFF_REQUEST_PARAM) ?? undefined;
      await assert.rejects(
        acceptHandoffRequest({ request, ring, centralHost: CENTRAL, allowedHosts: ALLOWED }),
        { code: 'ERR_HANDOFF_INVALID' },
      );
      // `*.example.test` allows one label, not deeper names or the bare domain.
      for (const host of ['a.b.example.test', 'example.test', 'evil-example.test']) {
        const s = await startHandoff({
          centralSignInUrl: CENTRAL_SIGN_IN,
          host,
          returnTo: '/',
          txnKey: appTxnKey,
          ring,
        });
        const r = new URL(s.location).searchParams.get(HANDOFF_REQUEST_PARAM) ?? undefined;
        await assert.rejects(
          acceptHandoffRequest({ request: r, ring, centralHost: CENTRAL, allowedHosts: ALLOWED }),
          { code: 'ERR_HANDOFF_INVALID' },
          host,
        );
      }
    });

    test('a tampered, foreign or expired hand-off request is rejected (ERR_HANDOFF_INVALID)', async () => {
      const start = await startHandoff({
        centralSignInUrl: CENTRAL_SIGN_IN,
        host: APP,
        returnTo: '/',
        txnKey: appTxnKey,
        ring,
      });
      const request = new URL(start.location).searchParams.get(HANDOFF_REQUEST_PARAM)!;
      const parts = request.split('.');
      parts[1] = (parts[1]![0] === 'e' ? 'f' : 'e') + parts[1]!.slice(1);
      await assert.rejects(
        acceptHandoffRequest({
          request: parts.join('.'),
          ring,
          centralHost: CENTRAL,
          allowedHosts: ALLOWED,
        }),
        { code: 'ERR_HANDOFF_INVALID' },
      );
      await assert.rejects(
        acceptHandoffRequest({
          request,
          ring,
          centralHost: 'other-central.example.test',
          allowedHosts: ALLOWED,
        }),
        { code: 'ERR_HANDOFF_INVALID' },
      );
      await assert.rejects(
        acceptHandoffRequest({
          request,
          ring,
          centralHost: CENTRAL,
          allowedHosts: ALLOWED,
          now: new Date(Date.now() + 601_000),
        }),
        { code: 'ERR_HANDOFF_INVALID' },
      );
      await assert.rejects(
        acceptHandoffRequest({
          request: undefined,
          ring,
          centralHost: CENTRAL,
          allowedHosts: ALLOWED,
        }),
        { code: 'ERR_HANDOFF_INVALID' },
      );
    });

    test('the return path in a hand-off is same-origin only', async () => {
      const start = await startHandoff({
        centralSignInUrl: CENTRAL_SIGN_IN,
        host: APP,
        returnTo: '//evil.example/',
        txnKey: appTxnKey,
        ring,
      });
      const request = new URL(start.location).searchParams.get(HANDOFF_REQUEST_PARAM) ?? undefined;
      const target = await acceptHandoffRequest({
        request,
        ring,
        centralHost: CENTRAL,
        allowedHosts: ALLOWED,
      });
      assert.equal(target.returnTo, '/');
    });
  });
});
