import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createLocalJWKSet, jwtVerify, decodeJwt } from 'jose';
import { signInAtIdp } from '../support/browser.js';
import { testdata } from '../support/paths.js';
import { startBrowserStack } from '../support/stack.js';

test('browser sign-in through Envoy: IdP login, back to the page, identity headers and a verified assertion, 403 with reasons, sign-out', async (t) => {
  // The browser uses http://localhost: a secure context, so __Host- cookies work without TLS.
  const stack = await startBrowserStack(t, {
    policy: testdata('e2e', 'identity', 'authz.rego'),
    redirectUris: (port) => [`http://localhost:${port}/.gatehouse/callback`],
    postLogoutRedirectUris: (port) => [`http://localhost:${port}/.gatehouse/signed_out`],
  });
  if (stack === undefined) return;
  const { port, idp, logs, upstream, browser } = stack;
  const origin = `http://localhost:${port}`;

  const context = await browser.newContext();
  const page = await context.newPage();

  // 1. A protected URL sends the browser to the provider's sign-in page.
  await page.goto(`${origin}/app/hello?x=1`);
  assert.ok(page.url().startsWith(idp.issuer), `expected the IdP's login page, got ${page.url()}`);
  await signInAtIdp(page, 'alice', 'alice');

  // 2. Back at the original URL, through Envoy, at the upstream.
  await page.waitForURL(`${origin}/app/hello?x=1`).catch(async (err: unknown) => {
    throw new Error(
      `not back at the page: at ${page.url()}\n${(await page.content()).slice(0, 1500)}\n${JSON.stringify(logs.lines.slice(-5))}`,
      { cause: err },
    );
  });
  const seen = upstream.last();
  assert.ok(seen, 'the upstream saw the request');
  assert.equal(seen.headers['x-gatehouse-user'] !== undefined, true);
  assert.equal(seen.headers['x-gatehouse-email'], 'alice@example.com');
  assert.equal(seen.headers['x-gatehouse-groups'], '"admins", "staff"');
  assert.equal(seen.headers['x-policy'], 'app');
  assert.doesNotMatch(
    String(seen.headers['cookie'] ?? ''),
    /__Host-gatehouse/,
    'Gatehouse cookies never reach the upstream',
  );

  // 3. The assertion JWT verifies against the JWKS Gatehouse publishes (fetched through Envoy).
  const jwks = (await (await fetch(`${origin}/.well-known/gatehouse/jwks.json`)).json()) as {
    keys: object[];
  };
  const assertion = String(seen.headers['x-gatehouse-jwt-assertion']);
  const { payload } = await jwtVerify(
    assertion,
    createLocalJWKSet(jwks as Parameters<typeof createLocalJWKSet>[0]),
    { audience: `localhost:${port}`, issuer: 'gatehouse' },
  );
  assert.equal(payload['email'], 'alice@example.com');
  assert.deepEqual(payload['groups'], ['admins', 'staff']);
  assert.ok(typeof payload['sid'] === 'string' && typeof payload.jti === 'string');
  assert.ok((payload.exp ?? 0) - (payload.iat ?? 0) <= 300);

  // 4. Spoofed identity headers from the client never reach the upstream.
  await page.setExtraHTTPHeaders({
    'x-gatehouse-email': 'mallory@evil.test',
    'X-Gatehouse-Groups': 'admins',
  });
  await page.goto(`${origin}/app/again`);
  assert.equal(upstream.last()?.headers['x-gatehouse-email'], 'alice@example.com');
  assert.equal(upstream.last()?.headers['x-gatehouse-groups'], '"admins", "staff"');
  await page.setExtraHTTPHeaders({});

  // 5. The session cookie has the attributes the brief fixes.
  const cookie = (await context.cookies(origin)).find((c) => c.name === '__Host-gatehouse');
  assert.ok(cookie, 'session cookie set');
  assert.equal(cookie.secure, true);
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, 'Lax');
  assert.equal(cookie.path, '/');

  // 6. The same user is denied where the policy says so, with its reasons.
  const before = upstream.requests.length;
  const denied = await page.goto(`${origin}/vault`);
  assert.equal(denied?.status(), 403);
  assert.match(await page.content(), /alice@example.com may not open the vault/);
  assert.equal(upstream.requests.length, before, 'a denied request never reaches the upstream');
  await page.screenshot({ path: join(tmpdir(), 'gatehouse-deny.png') });

  // 7. Who am I: identity, groups, expiry — never a token.
  await page.goto(`${origin}/.gatehouse/`);
  const whoami = await page.content();
  assert.match(whoami, /alice@example.com/);
  assert.match(whoami, /admins, staff/);
  assert.doesNotMatch(whoami, /eyJ[A-Za-z0-9_-]{10,}/, 'no JWT on the page');

  // 8. Sign-out ends the session (POST from the page, RP-initiated logout at the IdP). Issue 12
  // point 1: no token in any URL the browser visits (client_id stands in for id_token_hint).
  const urls: string[] = [];
  page.on('request', (request) => urls.push(request.url()));
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL(`${origin}/.gatehouse/signed_out`).catch(async (err: unknown) => {
    throw new Error(
      `not signed out: at ${page.url()}\n${(await page.content()).slice(0, 3000)}\n${JSON.stringify(logs.lines.slice(-3))}`,
      { cause: err },
    );
  });
  assert.equal(
    (await context.cookies(origin)).find((c) => c.name === '__Host-gatehouse'),
    undefined,
  );
  assert.ok(
    urls.some((u) => u.startsWith(`${idp.issuer}/session/end`)),
    `the IdP's end_session was reached: ${urls.join(' ')}`,
  );
  for (const url of urls)
    assert.doesNotMatch(url, /id_token_hint|eyJ[A-Za-z0-9_-]{10,}/, `no token in ${url}`);
  await page.goto(`${origin}/app/hello`);
  assert.ok(page.url().startsWith(idp.issuer), 'signed out: sign-in again');

  // The decision log recorded who was allowed, without tokens.
  const line = logs.lines.find((l) => l['path'] === '/app/hello' && l['allowed'] === true);
  assert.equal(line?.['email'], 'alice@example.com');
  assert.equal(JSON.stringify(logs.lines).includes(assertion), false, 'no assertion in logs');
  assert.equal(decodeJwt(assertion).aud, `localhost:${port}`);
});
