/**
 * The OIDC sign-in journey against the real demo IdP (oidc-provider), without a browser:
 * discovery → startSignIn → login page → credentials → callback → completeSignIn → refresh →
 * sign-out URL.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { completeSignIn } from '../../../src/oidc/callback.js';
import { createReplayCache } from '../../../src/oidc/replay-cache.js';
import { refreshSession } from '../../../src/oidc/refresh.js';
import { startSignIn, TXN_COOKIE_NAME, txnSetCookie } from '../../../src/oidc/sign-in.js';
import { signOutLocation } from '../../../src/oidc/sign-out.js';
import {
  browseToCallback,
  fetchLoginPage,
  newJar,
  startTestIdp,
  TEST_CLIENT_ID,
  TEST_POST_LOGOUT_URI,
  TEST_REDIRECT_URI,
  type TestIdp,
} from '../../support/idp.js';

describe('OIDC sign-in with the demo IdP', () => {
  let t: TestIdp;
  before(async () => {
    t = await startTestIdp();
  });
  after(async () => {
    await t.stop();
  });

  test('discovery exposes the metadata Gatehouse needs', async () => {
    const md = await t.client.metadata();
    assert.equal(md.issuer, t.idp.issuer);
    assert.equal(md.jwksUri, `${t.idp.issuer}/jwks`);
    assert.equal(md.endSessionEndpoint, `${t.idp.issuer}/session/end`);
    assert.equal(md.issParameterSupported, true);
    assert.equal(t.client.state, 'ready');
    assert.deepEqual(t.client.metadataIfReady(), md);
  });

  test('the authorization URL carries code flow, PKCE S256, state, nonce and scope', async () => {
    const { location, txnCookie } = await startSignIn({
      client: t.client,
      redirectUri: TEST_REDIRECT_URI,
      returnTo: '/reports?q=1',
      txnKey: t.txnKey,
    });
    const url = new URL(location);
    assert.equal(url.origin + url.pathname, `${t.idp.issuer}/auth`);
    const p = url.searchParams;
    assert.equal(p.get('response_type'), 'code');
    assert.equal(p.get('client_id'), TEST_CLIENT_ID);
    assert.equal(p.get('redirect_uri'), TEST_REDIRECT_URI);
    assert.equal(p.get('code_challenge_method'), 'S256');
    assert.match(p.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/);
    assert.match(p.get('state') ?? '', /^[A-Za-z0-9_-]{43}$/);
    assert.match(p.get('nonce') ?? '', /^[A-Za-z0-9_-]{43}$/);
    assert.equal(p.get('scope'), 'openid email profile groups offline_access');
    assert.equal(txnCookie.name, TXN_COOKIE_NAME);
    assert.equal(txnCookie.maxAge, 600);
    assert.equal(txnCookie.value.split('.').length, 5, 'the transaction cookie is a compact JWE');
    assert.ok(
      !txnCookie.value.includes(p.get('state')!),
      'the state is not readable in the cookie',
    );
    assert.equal(
      txnSetCookie(txnCookie),
      `${TXN_COOKIE_NAME}=${txnCookie.value}; Path=/; Max-Age=600; Secure; HttpOnly; SameSite=Lax`,
    );
  });

  test('the login page is self-contained, labelled, and free of external assets', async () => {
    const { location } = await startSignIn({
      client: t.client,
      redirectUri: TEST_REDIRECT_URI,
      returnTo: '/',
      txnKey: t.txnKey,
    });
    const page = await fetchLoginPage(location);
    assert.equal(page.status, 200);
    assert.match(page.html, /<label for="username">Username<\/label>/);
    assert.match(page.html, /<label for="password">Password<\/label>/);
    assert.match(page.html, /<form method="post" action="\/interaction\/[A-Za-z0-9_-]+\/login"/);
    assert.doesNotMatch(page.html, /https?:\/\//, 'no external URL in the page');
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'/);
  });

  test('alice signs in: verified claims with email and groups, refresh token with offline_access', async () => {
    const { location, txnCookie } = await startSignIn({
      client: t.client,
      redirectUri: TEST_REDIRECT_URI,
      returnTo: '/reports?q=1',
      txnKey: t.txnKey,
    });
    const jar = newJar();
    const callback = await browseToCallback({
      authorizationUrl: location,
      redirectUri: TEST_REDIRECT_URI,
      username: 'alice',
      password: 'alice',
      jar,
    });
    assert.equal(callback.searchParams.get('iss'), t.idp.issuer, 'RFC 9207 iss parameter present');
    const result = await completeSignIn({
      client: t.client,
      currentUrl: callback,
      txnCookieValue: txnCookie.value,
      txnKey: t.txnKey,
      redirectUri: TEST_REDIRECT_URI,
      replayCache: createReplayCache(),
    });
    assert.equal(result.claims.sub, 'alice');
    assert.equal(result.claims.iss, t.idp.issuer);
    assert.equal(result.claims.aud, TEST_CLIENT_ID);
    assert.equal(result.claims['email'], 'alice@example.com');
    assert.equal(result.claims['email_verified'], true);
    assert.equal(result.claims['name'], 'Alice Admin');
    assert.deepEqual(result.claims['groups'], ['admins', 'staff']);
    assert.equal(result.returnTo, '/reports?q=1');
    assert.equal(typeof result.tokens.id_token, 'string');
    assert.equal(typeof result.tokens.access_token, 'string');
    assert.equal(
      typeof result.tokens.refresh_token,
      'string',
      'offline_access yields a refresh token',
    );
    assert.equal(typeof result.tokens.expires_in, 'number');
    assert.equal(result.handoff, undefined);

    const refreshed = await refreshSession({
      client: t.client,
      refreshToken: result.tokens.refresh_token!,
      expectedSubject: 'alice',
    });
    assert.equal(refreshed.claims?.sub, 'alice');
    assert.deepEqual(refreshed.claims?.['groups'], ['admins', 'staff']);
    assert.equal(typeof refreshed.tokens.access_token, 'string');

    const signOut = new URL(
      await signOutLocation({
        client: t.client,
        postLogoutRedirectUri: TEST_POST_LOGOUT_URI,
        allowedPostLogout: (u) => u.href === TEST_POST_LOGOUT_URI,
        state: 'bye',
      }),
    );
    assert.equal(signOut.origin + signOut.pathname, `${t.idp.issuer}/session/end`);
    // Issue 12 point 1: never the ID token in a URL the browser keeps; client_id stands in for it.
    assert.equal(signOut.searchParams.has('id_token_hint'), false);
    assert.doesNotMatch(signOut.href, /eyJ/);
    assert.equal(signOut.searchParams.get('post_logout_redirect_uri'), TEST_POST_LOGOUT_URI);
    assert.equal(signOut.searchParams.get('client_id'), TEST_CLIENT_ID);
    assert.equal(signOut.searchParams.get('state'), 'bye');
    // The IdP accepts it: its (auto-confirmed) logout page, then back to the post-logout URI.
    const logout = await fetch(signOut, { redirect: 'manual', headers: { cookie: jar.header() } });
    assert.equal(logout.status, 200);
    const html = await logout.text();
    assert.match(html, /id="op.logoutForm"/);
    assert.match(html, /name="logout" value="yes"/);
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1] ?? '';
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(html)?.[1] ?? '';
    const confirmed = await fetch(action, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: jar.header(), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ xsrf, logout: 'yes' }),
    });
    assert.equal(confirmed.status, 303);
    const back = new URL(confirmed.headers.get('location') ?? '');
    assert.equal(back.origin + back.pathname, TEST_POST_LOGOUT_URI);
    assert.equal(back.searchParams.get('state'), 'bye');
  });

  test('bob signs in with his own groups; a refresh for the wrong subject fails', async () => {
    const { location, txnCookie } = await startSignIn({
      client: t.client,
      redirectUri: TEST_REDIRECT_URI,
      returnTo: undefined,
      txnKey: t.txnKey,
    });
    const callback = await browseToCallback({
      authorizationUrl: location,
      redirectUri: TEST_REDIRECT_URI,
      username: 'bob',
      password: 'bob',
    });
    const result = await completeSignIn({
      client: t.client,
      currentUrl: callback,
      txnCookieValue: txnCookie.value,
      txnKey: t.txnKey,
      redirectUri: TEST_REDIRECT_URI,
    });
    assert.equal(result.claims['email'], 'bob@example.com');
    assert.deepEqual(result.claims['groups'], ['staff']);
    assert.equal(result.returnTo, '/');
    await assert.rejects(
      refreshSession({
        client: t.client,
        refreshToken: result.tokens.refresh_token!,
        expectedSubject: 'alice',
      }),
      { code: 'ERR_OIDC_REFRESH_FAILED' },
    );
  });

  test('a wrong password shows the form again with an error, and no code', async () => {
    const { location } = await startSignIn({
      client: t.client,
      redirectUri: TEST_REDIRECT_URI,
      returnTo: '/',
      txnKey: t.txnKey,
    });
    await assert.rejects(
      browseToCallback({
        authorizationUrl: location,
        redirectUri: TEST_REDIRECT_URI,
        username: 'alice',
        password: 'wrong',
      }),
      /IdP answered 401/,
    );
  });

  test('an invalid refresh token fails with ERR_OIDC_REFRESH_FAILED', async () => {
    await assert.rejects(
      refreshSession({ client: t.client, refreshToken: 'not-a-refresh-token' }),
      { code: 'ERR_OIDC_REFRESH_FAILED' },
    );
  });

  test('a post-logout URI that is not allowed is refused', async () => {
    await assert.rejects(
      signOutLocation({
        client: t.client,
        postLogoutRedirectUri: 'https://evil.example/',
        allowedPostLogout: (u) => u.href === TEST_POST_LOGOUT_URI,
      }),
      { code: 'ERR_RETURN_URL_INVALID' },
    );
  });
});
