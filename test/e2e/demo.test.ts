import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { launchChromium } from '../support/browser.js';
import { repoPath } from '../support/paths.js';
import { freePort } from '../support/ports.js';
import { requireTool } from '../support/tools.js';

test('the demo, as a new user tries it: open the URL it prints, sign in as alice, see the verified identity, enroll this browser as a device; Ctrl-C stops it', async (t) => {
  const chromiumBin = requireTool(t, 'chromium');
  if (
    requireTool(t, 'envoy') === undefined ||
    requireTool(t, 'opa') === undefined ||
    chromiumBin === undefined
  )
    return;
  const ports = await Promise.all(Array.from({ length: 6 }, () => freePort()));
  const demo = spawn(process.execPath, [repoPath('dist', 'demo', 'main.js')], {
    env: { ...process.env, GATEHOUSE_DEMO_PORTS: ports.join(',') },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: if the test fails, the cleanup below stops the demo's Gatehouse and
    // Envoy too (a SIGKILLed demo cannot stop them, and they would hold its output pipes open).
    detached: true,
  });
  let output = '';
  demo.stdout.on('data', (d: Buffer) => (output += d.toString()));
  demo.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) =>
    demo.once('exit', (code) => resolve(code)),
  );
  t.after(() => {
    try {
      process.kill(-demo.pid!, 'SIGKILL');
    } catch {
      // the group is gone
    }
  });

  const deadline = Date.now() + 60_000;
  while (!output.includes('Gatehouse demo is running')) {
    if (Date.now() > deadline || demo.exitCode !== null)
      assert.fail(`demo did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const url = /Open (http:\/\/localhost:\d+\/) /.exec(output)?.[1];
  assert.ok(url, `the demo prints the URL to open:\n${output}`);
  assert.match(output, /alice \/ alice/);

  const browser = await launchChromium(chromiumBin);
  t.after(() => browser.close());
  const page = await browser.newPage();
  await page.goto(url);
  assert.match(await page.title(), /Sign in/);
  await page.getByLabel('Username').fill('alice');
  await page.getByLabel('Password').fill('alice');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(url);
  const html = await page.content();
  assert.match(html, /Verified identity assertion/);
  assert.match(html, /alice@example\.com/);
  assert.match(html, /x-gatehouse-groups/);
  // The app links to who am I and sign-out; who am I shows alice.
  await page.getByRole('link', { name: 'Who am I' }).click();
  assert.match(await page.content(), /alice@example\.com/);
  // The demo enrolls devices: alice registers this browser's (virtual) platform authenticator.
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
    },
  });
  assert.match(output, /\.gatehouse\/devices +enroll this browser/);
  await page.goto(`${url}.gatehouse/devices`);
  await page.getByRole('button', { name: 'Register this device' }).click();
  // Polled: the page's CSP refuses the string evaluation waitForFunction would need.
  const enrolledBy = Date.now() + 30_000;
  let said = '';
  while (!said.startsWith('Device registered') && !said.startsWith('That did not work')) {
    assert.ok(Date.now() < enrolledBy, `no outcome of the registration: "${said}"`);
    await new Promise((r) => setTimeout(r, 100));
    said = (await page.locator('#device-status').textContent()) ?? '';
  }
  assert.equal(said, 'Device registered.');
  await page.goto(url);
  await page.getByRole('link', { name: 'Sign out' }).click();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL(/signed_out/);
  assert.match(await page.content(), /signed out/i);

  demo.kill('SIGINT');
  assert.equal(await exited, 0, output);
});
