/**
 * The enrolled-device journey in real Chromium, with the DevTools WebAuthn virtual authenticator
 * (a CTAP2 platform authenticator with user verification): the devices page and its endpoints,
 * served as they are by a loopback HTTP server, register a device and then prove possession of
 * it; a second browser context without the authenticator cannot.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { handleDeviceRequest } from '../../src/device/webauthn/endpoints.js';
import { MemoryChallengeStore } from '../../src/device/webauthn/memory-challenges.js';
import { MemoryDeviceRegistry } from '../../src/device/webauthn/memory-registry.js';
import { DEVICE_PATHS } from '../../src/device/webauthn/paths.js';
import { launchChromium } from '../support/browser.js';
import { requireTool } from '../support/tools.js';

const SUB = 'user-ada';

async function serve(
  registry: MemoryDeviceRegistry,
  requireUserVerification = true,
): Promise<{
  origin: string;
  server: Server;
  proofs: string[];
  /** Each proof's user verification, in order. */
  verified: boolean[];
}> {
  const proofs: string[] = [];
  const verified: boolean[] = [];
  let deps: Parameters<typeof handleDeviceRequest>[1] | undefined;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
      assert.ok(deps !== undefined);
      handleDeviceRequest(
        {
          method: req.method ?? 'GET',
          pathname: new URL(req.url ?? '/', 'http://x').pathname,
          headers,
          body: Buffer.concat(chunks).toString('utf8'),
          user: { sub: SUB, name: 'ada@example.com' },
        },
        deps,
      ).then(
        (reply) => {
          if (reply === undefined) {
            res.writeHead(404).end();
            return;
          }
          for (const [name, value] of reply.headers) res.appendHeader(name, value);
          res.writeHead(reply.status).end(reply.body);
        },
        () => res.writeHead(500).end(),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  // `localhost` is a secure context and a valid RP ID (an IP address is neither for WebAuthn).
  const origin = `http://localhost:${address.port}`;
  deps = {
    settings: {
      rpId: 'localhost',
      rpName: 'Gatehouse test',
      origins: [origin],
      attestationFormats: ['none', 'packed'],
      aaguids: [],
      requireUserVerification,
      operatorApproval: false,
      // Short, so that the context without an authenticator gives up quickly.
      challengeTtlSeconds: 5,
    },
    registry,
    challenges: new MemoryChallengeStore(),
    onProof: async (proof) => {
      proofs.push(proof.device.id);
      verified.push(proof.userVerified);
      return [];
    },
  };
  return { origin, server, proofs, verified };
}

/** Console errors (a CSP violation among them) on a page. */
function watch(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || /Content Security Policy/i.test(m.text()))
      problems.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  return problems;
}

async function press(page: Page, name: string): Promise<string> {
  const status = page.locator('#device-status');
  await page.getByRole('button', { name }).click();
  // Polled from here: the page's CSP refuses string evaluation (waitForFunction).
  const deadline = Date.now() + 30_000;
  for (;;) {
    const text = (await status.textContent()) ?? '';
    if (text !== '' && !text.startsWith('Waiting')) return text;
    assert.ok(Date.now() < deadline, `no outcome after pressing ${name}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test('register a device with a virtual authenticator, prove possession, remove it; without it, no proof', async (t) => {
  const chromium = requireTool(t, 'chromium');
  if (chromium === undefined) return;
  const registry = new MemoryDeviceRegistry();
  const { origin, server, proofs } = await serve(registry);
  let browser: Browser | undefined;
  t.after(async () => {
    await browser?.close();
    await new Promise((resolve) => server.close(resolve));
  });
  browser = await launchChromium(chromium);

  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = watch(page);
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

  await page.goto(origin + DEVICE_PATHS.devices);
  assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Your devices');
  assert.equal(await press(page, 'Register this device'), 'Device registered.');
  const [device, ...others] = await registry.listByUser(SUB);
  assert.ok(device !== undefined);
  assert.deepEqual(others, []);
  assert.equal(device.kind, 'platform');
  assert.equal(device.approval, 'approved');
  const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  assert.equal(credentials.length, 1);
  assert.equal(
    credentials[0]?.credentialId,
    Buffer.from(device.id, 'base64url').toString('base64'),
  );

  await page.reload();
  assert.equal(await press(page, 'Verify this device'), 'Device verified.');
  assert.deepEqual(proofs, [device.id]);
  const used = await registry.get(device.id);
  assert.ok(used?.last_used !== undefined);
  assert.ok(used.counter >= device.counter);
  assert.deepEqual(problems, []);

  // A second browser: same user, same pages, no authenticator holding the credential.
  const stranger = await browser.newContext();
  const other = await stranger.newPage();
  // Its own virtual authenticator, empty: the request reaches an authenticator that does not hold
  // the credential (without the WebAuthn domain, headless Chromium would wait on its own UI).
  const strangerCdp = await stranger.newCDPSession(other);
  await strangerCdp.send('WebAuthn.enable', { enableUI: false });
  await strangerCdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
    },
  });
  await other.goto(origin + DEVICE_PATHS.devices);
  const outcome = await press(other, 'Verify this device');
  assert.match(outcome, /^That did not work/);
  assert.deepEqual(proofs, [device.id], 'no proof from the browser without the authenticator');
  assert.equal((await registry.get(device.id))?.last_used, used.last_used);

  // The owner removes the device: it is revoked and can no longer prove anything.
  await page.reload();
  assert.equal(await press(page, 'Remove'), 'Device removed.');
  assert.equal((await registry.get(device.id))?.approval, 'revoked');
  await page.reload();
  assert.equal(await page.getByRole('button', { name: 'Verify this device' }).count(), 0);
  assert.deepEqual(problems, []);
});

test('a decision requiring user verification (uv=required) makes the page require it, with UV merely preferred in config', async (t) => {
  const chromium = requireTool(t, 'chromium');
  if (chromium === undefined) return;
  const registry = new MemoryDeviceRegistry();
  const { origin, server, verified } = await serve(registry, false);
  let browser: Browser | undefined;
  t.after(async () => {
    await browser?.close();
    await new Promise((resolve) => server.close(resolve));
  });
  browser = await launchChromium(chromium);
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = watch(page);
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  // A security key that cannot verify its user (no PIN, no biometric).
  const key = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'usb', hasUserVerification: false },
  });
  await page.goto(origin + DEVICE_PATHS.devices);
  assert.equal(await press(page, 'Register this device'), 'Device registered.');
  await page.goto(origin + DEVICE_PATHS.devices);
  assert.equal(await press(page, 'Verify this device'), 'Device verified.');
  assert.deepEqual(verified, [false], 'UV preferred: a proof without it');

  // Sent by a require_user_verification decision: the options require UV, which this key
  // cannot give, so there is no proof (before, it answered with presence alone and the decision
  // sent the user back here, again and again).
  await page.goto(`${origin}${DEVICE_PATHS.devices}?why=user_not_verified&uv=required`);
  assert.match(await press(page, 'Verify this device'), /^That did not work/);
  assert.deepEqual(verified, [false], 'no proof without user verification');

  // A platform authenticator that verifies its user: the same page proves with UV.
  await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId: key.authenticatorId });
  await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
    },
  });
  await page.goto(origin + DEVICE_PATHS.devices);
  assert.equal(await press(page, 'Register this device'), 'Device registered.');
  await page.goto(`${origin}${DEVICE_PATHS.devices}?why=user_not_verified&uv=required`);
  assert.equal(await press(page, 'Verify this device'), 'Device verified.');
  assert.deepEqual(verified, [false, true]);
  assert.deepEqual(problems, []);
});
