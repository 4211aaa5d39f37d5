/**
 * The enrolled-device journey of issue 18, end to end: real Chromium with the DevTools WebAuthn
 * virtual authenticator, the real Envoy (envoy/front-proxy.yaml), the real oidc-provider, a real
 * Redis as the session store, and `gatehouse devices` run as a process against that Redis, as an
 * operator runs it. A user signs in and enrolls a device, which waits for approval; the operator
 * approves it with the CLI; a policy requiring a device for /admin (`require_device`) sends the
 * browser to the proof page, the assertion runs and /admin is allowed. A second browser holding
 * a copy of the session cookie and no authenticator is refused once the proof is older than
 * `device.webauthn.proof_interval_seconds` (the shortest allowed: 60 s, waited in real time; the
 * Check's own clock is tested in test/unit/check/device-proof.test.ts); removing the device on
 * the who-am-I page ends the access.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import type { BrowserContext, CDPSession, Page } from 'playwright-core';
import { signInAtIdp } from '../support/browser.js';
import { repoPath, testdata } from '../support/paths.js';
import { startRedis } from '../support/redis.js';
import { startBrowserStack } from '../support/stack.js';

const MAIN = repoPath('dist', 'src', 'cli', 'main.js');
const DEVICES = '/.gatehouse/devices';
const PROOF_INTERVAL_SECONDS = 60;

/** `gatehouse …` as a child process, as an operator runs it. */
function gatehouseCli(
  args: readonly string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, GATEHOUSE_CONFIG: '' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * A CTAP2 platform authenticator with user verification. Every context gets one: without the
 * WebAuthn domain, headless Chromium would wait on its own UI instead of answering.
 */
async function addAuthenticator(
  context: BrowserContext,
  page: Page,
): Promise<{ cdp: CDPSession; authenticatorId: string }> {
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
    },
  });
  return { cdp, authenticatorId };
}

/** Press a button of a Gatehouse page (devices, who am I) and wait for what `#device-status` then says. */
async function press(page: Page, name: string): Promise<string> {
  const status = page.locator('#device-status');
  await page.getByRole('button', { name }).click();
  // Polled from here: the page's CSP refuses string evaluation (waitForFunction). An
  // authenticator without the credential answers only when the challenge times out (30 s).
  const deadline = Date.now() + 60_000;
  for (;;) {
    const text = (await status.textContent()) ?? '';
    if (text !== '' && !text.startsWith('Waiting')) return text;
    assert.ok(Date.now() < deadline, `no outcome after pressing ${name}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Where a navigation ended, as pathname and query parameters. */
function at(page: Page): { pathname: string; rd: string | null; why: string | null } {
  const url = new URL(page.url());
  return {
    pathname: url.pathname,
    rd: url.searchParams.get('rd'),
    why: url.searchParams.get('why'),
  };
}

test('enrolled device in Chromium through Envoy, Redis and the CLI: enroll, approve, prove for /admin, a copied cookie without the authenticator is refused at the next proof, removal ends access', async (t) => {
  const redis = await startRedis(t);
  if (redis === undefined) return;
  const stack = await startBrowserStack(t, {
    policy: testdata('e2e', 'devices', 'authz.rego'),
    redirectUris: (port) => [`http://localhost:${port}/.gatehouse/callback`],
    session: {
      // Given, not generated: the CLI process reads the same encrypted records.
      secret: randomBytes(32).toString('base64url'),
      store: { kind: 'redis', url: redis.url },
    },
    device: (port) => ({
      webauthn: {
        // `localhost` is a secure context and a valid RP ID (an IP address is neither).
        rp_id: 'localhost',
        origins: [`http://localhost:${port}`],
        attestation: { formats: ['none', 'packed'] },
        operator_approval: true,
        // The shortest allowed: an empty authenticator gives up after this.
        challenge_ttl_seconds: 30,
        proof_interval_seconds: PROOF_INTERVAL_SECONDS,
      },
    }),
  });
  if (stack === undefined) return;
  const { port, upstream, browser, configFile, logs } = stack;
  const origin = `http://localhost:${port}`;
  const cli = async (...args: string[]) => {
    const run = await gatehouseCli(['devices', ...args, '--config', configFile]);
    assert.equal(run.code, 0, `gatehouse devices ${args.join(' ')}: ${run.stderr}`);
    return run;
  };
  const listed = async () =>
    JSON.parse((await cli('list', '--user', 'alice', '--json')).stdout) as {
      id: string;
      sub: string;
      kind: string;
      approval: string;
    }[];
  const admin = `${origin}/admin/users`;
  const reached = (before: number) => upstream.requests.slice(before).map((r) => r.url);
  const landedAt = async (page: Page, url: string) =>
    page.waitForURL(url, { timeout: 30_000 }).catch(async (err: unknown) => {
      throw new Error(
        `not at ${url}: at ${page.url()}\n${(await page.content()).slice(0, 1500)}\n${JSON.stringify(logs.lines.slice(-5))}`,
        { cause: err },
      );
    });

  // 1. Sign in; /app needs no device.
  const owner = await browser.newContext();
  const page = await owner.newPage();
  const { cdp, authenticatorId } = await addAuthenticator(owner, page);
  await page.goto(`${origin}/app/home`);
  await signInAtIdp(page, 'alice', 'alice');
  await landedAt(page, `${origin}/app/home`);
  assert.equal(upstream.last()?.headers['x-device'], 'none');

  // 2. Enroll this browser's authenticator: with operator approval, it waits.
  await page.goto(origin + DEVICES);
  assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Your devices');
  assert.equal(
    await press(page, 'Register this device'),
    'Device registered. It can be used once an administrator approves it.',
  );
  const [pending, ...others] = await listed();
  assert.ok(pending !== undefined);
  assert.deepEqual(others, []);
  assert.equal(pending.approval, 'pending');
  assert.equal(pending.kind, 'platform');
  // The device is the credential this browser's authenticator now holds.
  const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  assert.deepEqual(
    credentials.map((c) => c.credentialId),
    [Buffer.from(pending.id, 'base64url').toString('base64')],
  );

  // 3. /admin requires a device: the browser goes to the proof page, which offers no proof
  // while the only device is pending; the upstream never sees the request.
  let seen = upstream.requests.length;
  await page.goto(admin);
  assert.deepEqual(at(page), { pathname: DEVICES, rd: '/admin/users', why: 'no_proof' });
  assert.equal(await page.getByRole('button', { name: 'Verify this device' }).count(), 0);
  assert.deepEqual(reached(seen), []);

  // 4. The operator approves it with the CLI (a process of its own, on the same Redis).
  const approve = await cli('approve', '--id', pending.id, '--reason', 'asset tag checked');
  assert.match(approve.stderr, /"msg":"device approved"/);
  assert.equal((await listed())[0]?.approval, 'approved');

  // 5. The proof: the assertion runs, the page returns to /admin, which is now allowed, and
  // the policy saw the device in input.device.enrolled.
  await page.reload();
  seen = upstream.requests.length;
  await page.getByRole('button', { name: 'Verify this device' }).click();
  await landedAt(page, admin);
  const provedBy = Date.now();
  assert.deepEqual(reached(seen), ['/admin/users']);
  assert.equal(upstream.last()?.headers['x-device'], `${pending.id} approved true`);

  // 6. A second browser with a copy of the session cookie (taken after the proof) and an
  // authenticator that does not hold the credential. Within the interval the copy rides on that
  // proof: that is what proof_interval_seconds bounds.
  const thief = await browser.newContext();
  await thief.addCookies(await owner.cookies(origin));
  const stolen = await thief.newPage();
  await addAuthenticator(thief, stolen);
  await stolen.goto(admin);
  assert.equal(stolen.url(), admin);

  // 7. Once the proof is older than the interval, the copy is sent to prove possession, and
  // cannot: /admin stays refused, for a navigation and for an API request.
  const wait = provedBy + (PROOF_INTERVAL_SECONDS + 2) * 1000 - Date.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  seen = upstream.requests.length;
  await stolen.goto(admin);
  assert.deepEqual(at(stolen), { pathname: DEVICES, rd: '/admin/users', why: 'proof_expired' });
  assert.match(await press(stolen, 'Verify this device'), /^That did not work/);
  await stolen.goto(admin);
  assert.equal(at(stolen).pathname, DEVICES);
  const api = await thief.request.get(admin, {
    headers: { accept: 'application/json' },
    maxRedirects: 0,
  });
  assert.equal(api.status(), 401);
  assert.equal(
    ((await api.json()) as Record<string, unknown>)['error'],
    'ERR_DEVICE_PROOF_REQUIRED',
  );
  assert.deepEqual(
    reached(seen),
    [],
    'the upstream never saw the copied cookie after the interval',
  );

  // 8. The owner, asked again, proves again with the device and is back on /admin. A proof moves
  // the session to a new id: the copy, taken before this proof, is signed out at once.
  await page.goto(admin);
  assert.deepEqual(at(page), { pathname: DEVICES, rd: '/admin/users', why: 'proof_expired' });
  await page.getByRole('button', { name: 'Verify this device' }).click();
  await landedAt(page, admin);
  assert.deepEqual(reached(seen), ['/admin/users']);
  const copy = await thief.request.get(`${origin}/.gatehouse/`, {
    headers: { accept: 'application/json' },
    maxRedirects: 0,
  });
  assert.equal(
    ((await copy.json()) as Record<string, unknown>)['authenticated'],
    false,
    "the owner's new proof ended the copied cookie",
  );

  // 9. The owner's who-am-I page lists the device (approved, proved by this very session) with
  // a Remove button; pressing it revokes the device, and the session bound to it ends, for the
  // owner and for the copy alike.
  await page.goto(`${origin}/.gatehouse/`);
  assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Who am I');
  const items = page.locator('ul.devices > li');
  assert.equal(await items.count(), 1);
  const item = (await items.first().textContent()) ?? '';
  assert.match(item, /^Built-in authenticator /);
  assert.match(item, /Approved; last used: \d{1,2} \w{3} \d{4}, \d\d:\d\d UTC\./);
  assert.match(item, /This session proved possession with it\./);
  assert.equal(
    await items.first().getByRole('button', { name: 'Remove' }).getAttribute('data-device'),
    pending.id,
  );
  assert.equal(await press(page, 'Remove'), 'Device removed.');
  assert.equal(await items.count(), 0);
  assert.equal((await listed())[0]?.approval, 'revoked');
  seen = upstream.requests.length;
  for (const context of [owner, thief]) {
    const after = await context.request.get(admin, {
      headers: { accept: 'application/json' },
      maxRedirects: 0,
    });
    assert.equal(after.status(), 401);
    const whoami = await context.request.get(`${origin}/.gatehouse/`, {
      headers: { accept: 'application/json' },
      maxRedirects: 0,
    });
    assert.equal(((await whoami.json()) as Record<string, unknown>)['authenticated'], false);
  }
  await page.goto(admin);
  assert.notEqual(page.url(), admin);
  assert.deepEqual(reached(seen), [], 'the upstream saw nothing after the removal');
});
