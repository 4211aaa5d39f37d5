/**
 * The idle timeout in a real browser (issue 15): Chromium, Envoy, Gatehouse and the real
 * oidc-provider, with Gatehouse's sessions on a test clock (`StartOptions.clock`, the in-process
 * start API: no configuration key can turn it on). Activity within `idle_timeout_seconds` keeps
 * the session; a navigation after a longer silence is sent to sign in, and the old cookie is
 * revoked in the store, not only replaced in this browser.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { signInAtIdp } from '../support/browser.js';
import { testdata } from '../support/paths.js';
import { startBrowserStack } from '../support/stack.js';

const IDLE_S = 600;
const SESSION_COOKIE = '__Host-gatehouse';

test('idle timeout in Chromium: activity within the window keeps the session; after it the next navigation is sent to sign in', async (t) => {
  let skippedMs = 0;
  const stack = await startBrowserStack(t, {
    policy: testdata('e2e', 'identity', 'authz.rego'),
    redirectUris: (port) => [`http://localhost:${port}/.gatehouse/callback`],
    // Only the idle timeout moves here: re-validation (which the skipped time would make due)
    // has its own test (test/integration/identity/revalidate.test.ts).
    session: { idle_timeout_seconds: IDLE_S, revalidate_interval_seconds: 0 },
    clock: () => Date.now() + skippedMs,
  });
  if (stack === undefined) return;
  const { port, idp, logs, upstream, browser } = stack;
  const origin = `http://localhost:${port}`;
  const context = await browser.newContext();
  const page = await context.newPage();
  const idpTrips: URL[] = [];
  page.on('request', (r) => {
    // Authorization requests only (not the IdP's own /auth/<uid> resumes after its login form).
    const url = new URL(r.url());
    if (url.origin === new URL(idp.issuer).origin && url.pathname === '/auth') idpTrips.push(url);
  });
  const at = async (url: string) =>
    page.waitForURL(url).catch(async (err: unknown) => {
      throw new Error(
        `not at ${url}: at ${page.url()}\n${(await page.content()).slice(0, 1500)}\n${JSON.stringify(logs.lines.slice(-5))}`,
        { cause: err },
      );
    });
  const sessionCookie = async () =>
    (await context.cookies(origin)).find((c) => c.name === SESSION_COOKIE)?.value;
  const skip = (seconds: number) => {
    skippedMs += seconds * 1000;
  };

  // 1. Sign in.
  await page.goto(`${origin}/app/start`);
  assert.ok(page.url().startsWith(idp.issuer), `expected the IdP, got ${page.url()}`);
  await signInAtIdp(page, 'alice', 'alice');
  await at(`${origin}/app/start`);
  const first = await sessionCookie();
  assert.ok(first, 'signed in');
  assert.equal(idpTrips.length, 1);

  // 2. Activity within the window, twice: more than the timeout in total, never idle that long.
  for (const path of ['/app/two', '/app/three']) {
    skip(IDLE_S - 200);
    await page.goto(`${origin}${path}`);
    await at(`${origin}${path}`);
    assert.equal(upstream.last()?.url, path, 'allowed, straight to the upstream');
    assert.equal(idpTrips.length, 1, 'no trip to the IdP');
    assert.equal(await sessionCookie(), first, 'the same session');
  }

  // 3. Idle past the timeout: the next navigation goes to the IdP before the upstream sees it.
  skip(IDLE_S + 1);
  const seen = upstream.requests.length;
  await page.goto(`${origin}/app/after-idle`);
  // The IdP still has its own session (SSO): it sends the browser straight back, signed in anew.
  await at(`${origin}/app/after-idle`);
  assert.equal(idpTrips.length, 2, 'sent to sign in');
  assert.equal(upstream.requests.length, seen + 1, 'the upstream saw the request once, after');
  const second = await sessionCookie();
  assert.ok(second !== undefined && second !== first, 'a new session');
  assert.equal(
    logs.lines.filter((l) => l['msg'] === 'sign-in completed').length,
    2,
    'a second sign-in',
  );

  // 4. The idle session is over in the store, not only in this browser: a copy is refused.
  const copy = await browser.newContext();
  try {
    const api = await copy.request.get(`${origin}/app/api`, {
      headers: { accept: 'application/json', cookie: `${SESSION_COOKIE}=${first}` },
    });
    assert.equal(api.status(), 401);
  } finally {
    await copy.close();
  }
});
