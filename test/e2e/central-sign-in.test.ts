/**
 * Central sign-in host, end to end: headless Chromium through the real Envoy, the real demo IdP.
 *
 * One Envoy listener on port P is reached under two names: `localhost:P` is the central sign-in
 * host (the only redirect URI registered at the IdP is `http://localhost:P/.gatehouse/callback`)
 * and `127.0.0.1:P` is a protected host that signs in through it and receives the identity back
 * in a single-use, browser-bound hand-off (`/.gatehouse/callback?handoff=…`). Both names are
 * loopback, so Chromium treats them as secure contexts and keeps `__Host-` cookies without TLS.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { signInAtIdp } from '../support/browser.js';
import { testdata } from '../support/paths.js';
import { startBrowserStack } from '../support/stack.js';

test('central sign-in host: a protected host signs in through localhost and gets a hand-off that cannot be replayed elsewhere', async (t) => {
  const stack = await startBrowserStack(t, {
    policy: testdata('identity', 'authz.rego'),
    // Only the central host's callback is registered.
    redirectUris: (port) => [`http://localhost:${port}/.gatehouse/callback`],
    identity: (port) => ({
      sign_in_host: `localhost:${port}`,
      allowed_hosts: [`127.0.0.1:${port}`],
    }),
  });
  if (stack === undefined) return;
  const { port, idp, logs, upstream, browser } = stack;
  const central = `localhost:${port}`;
  const protectedHost = `127.0.0.1:${port}`;

  const context = await browser.newContext();
  const page = await context.newPage();
  const visited: string[] = [];
  let handoffUrl: string | undefined;
  page.on('request', (request) => {
    const url = request.url();
    visited.push(url);
    if (
      url.startsWith(`http://${protectedHost}/.gatehouse/callback?`) &&
      new URL(url).searchParams.has('handoff')
    )
      handoffUrl = url;
  });

  // Every response the page got (navigations and subresources), for a failure's message.
  const responses: string[] = [];
  page.on('response', (response) => {
    responses.push(
      `${response.status()} ${response.url().slice(0, 60)} ${JSON.stringify(response.headers())}`,
    );
  });
  const diagnosed = (step: string) => (err: unknown) => {
    throw new Error(
      `${step}: ${JSON.stringify(responses.slice(-3))}\n${JSON.stringify(logs.lines.slice(-4))}`,
      { cause: err },
    );
  };

  // 1. The protected host sends the browser through the central host to the IdP's login page.
  const target = `http://${protectedHost}/app/x?q=1`;
  await page.goto(target).catch(diagnosed('the first visit'));
  assert.ok(page.url().startsWith(idp.issuer), `expected the IdP's login page, got ${page.url()}`);
  assert.ok(
    visited.some((u) => u.startsWith(`http://${central}/.gatehouse/sign_in?request=`)),
    'went through the central host',
  );
  await signInAtIdp(page, 'alice', 'alice');

  // 2. Back at the original URL on the protected host, signed in.
  await page.waitForURL(target).catch(async (err: unknown) => {
    throw new Error(
      `not back at the page: at ${page.url()}\n${(await page.content()).slice(0, 1500)}\n${JSON.stringify(logs.lines.slice(-5))}`,
      { cause: err },
    );
  });
  assert.ok(
    visited.some((u) => u.startsWith(`http://${central}/.gatehouse/callback?`)),
    'the IdP returned to the central host',
  );
  assert.ok(
    handoffUrl,
    `a hand-off URL on the protected host was requested: ${JSON.stringify(visited)}`,
  );
  const seen = upstream.last();
  assert.ok(seen, 'the upstream saw the request');
  assert.equal(seen.url, '/app/x?q=1');
  assert.equal(seen.headers['x-gatehouse-email'], 'alice@example.com');
  assert.equal(seen.headers['x-gatehouse-user'], 'alice');
  assert.equal(seen.headers['x-auth-method'], 'session');
  assert.doesNotMatch(String(seen.headers['cookie'] ?? ''), /__Host-gatehouse/);
  assert.doesNotMatch(seen.url, /handoff|code=/);

  // The assertion is for the protected host.
  const jwks = (await (
    await fetch(`http://${protectedHost}/.well-known/gatehouse/jwks.json`)
  ).json()) as JSONWebKeySet;
  const { payload } = await jwtVerify(
    String(seen.headers['x-gatehouse-jwt-assertion']),
    createLocalJWKSet(jwks),
    { issuer: 'gatehouse', audience: protectedHost },
  );
  assert.equal(payload['email'], 'alice@example.com');

  // The session lives on the protected host, with the fixed attributes.
  const cookie = (await context.cookies(`http://${protectedHost}`)).find(
    (c) => c.name === '__Host-gatehouse',
  );
  assert.ok(cookie, 'session cookie on the protected host');
  assert.equal(cookie.secure, true);
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, 'Lax');
  assert.equal(cookie.path, '/');

  // 3. The hand-off URL replayed in another browser (no transaction cookie, already used) is refused.
  const other = await browser.newContext();
  t.after(() => other.close());
  const thief = await other.newPage();
  const before = upstream.requests.length;
  const replay = await thief.goto(handoffUrl);
  assert.ok(replay, 'a response');
  assert.equal(replay.status(), 401);
  assert.match(replay.headers()['x-gatehouse-error'] ?? '', /^ERR_(HANDOFF|OIDC_TXN)_[A-Z_]+$/);
  assert.equal(
    (await other.cookies(`http://${protectedHost}`)).find((c) => c.name === '__Host-gatehouse'),
    undefined,
    'no session for the thief',
  );
  // The thief is not signed in: a protected page sends it to sign-in again.
  await thief.goto(target);
  assert.ok(
    !thief.url().startsWith(`http://${protectedHost}/app/`),
    `the thief is not let in: ${thief.url()}`,
  );
  assert.equal(upstream.requests.length, before, 'nothing reached the upstream for the thief');

  // 4. Replayed in the same browser, it is refused too (single use); the session stays.
  const again = await page.goto(handoffUrl).catch(diagnosed('the replayed hand-off'));
  assert.ok(again);
  assert.equal(again.status(), 401);
  assert.match(again.headers()['x-gatehouse-error'] ?? '', /^ERR_(HANDOFF|OIDC_TXN)_[A-Z_]+$/);
  const still = await page.goto(`http://${protectedHost}/app/y`);
  assert.equal(still?.status(), 200);
  assert.equal(upstream.last()?.headers['x-gatehouse-email'], 'alice@example.com');
});
