/**
 * Every page Gatehouse renders, in headless Chromium: screenshots for people to look at
 * (test-results/screenshots/<name>-desktop.png, -mobile.png, -mobile-dark.png), and the checks a
 * person would make — landmarks, one h1, named controls, contrast in both colour schemes, a
 * visible focus ring, nothing wider than a phone, the CSP honoured with no violation.
 *
 * First from a tiny local HTTP server that serves the page functions' replies as they are; then,
 * for the pages a user meets most, through the real stack (demo IdP, Gatehouse, Envoy).
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { LocalReply } from '../../src/pages/reply.js';
import { launchChromium } from '../support/browser.js';
import { repoPath, testdata } from '../support/paths.js';
import { requireTool } from '../support/tools.js';
import { startBrowserStack } from '../support/stack.js';
import { BROWSER, HOSTILE_SAMPLES, SAMPLES } from '../unit/pages/samples.js';

const SCREENSHOTS = repoPath('test-results', 'screenshots');
const DESKTOP = { width: 1280, height: 800 } as const;
const MOBILE = { width: 390, height: 844 } as const;

/** Serve each reply at `/<name>`, status, headers and body exactly as Envoy would send them. */
async function servePages(
  pages: ReadonlyMap<string, LocalReply>,
): Promise<{ origin: string; server: Server }> {
  const server = createServer((req, res) => {
    const reply = pages.get(
      decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname.slice(1)),
    );
    if (reply === undefined) {
      res.writeHead(404).end();
      return;
    }
    for (const [name, value] of reply.headers) res.appendHeader(name, value);
    res.writeHead(reply.status).end(reply.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  return { origin: `http://127.0.0.1:${address.port}`, server };
}

/** Console errors (CSP violations among them) and dialogs (a script that ran) on a page. */
function watch(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (m) => {
    // Chromium logs the page's own non-2xx status (403, 404…) as a failed load: that is the point.
    const url = m.location().url;
    if (
      /^Failed to load resource/.test(m.text()) &&
      (url === page.url() || url.endsWith('/favicon.ico'))
    )
      return;
    if (m.type() === 'error' || /Content Security Policy/i.test(m.text()))
      problems.push(`console ${m.type()}: ${m.text()} (${url})`);
  });
  page.on('dialog', (d) => {
    problems.push(`a script ran: ${d.message()}`);
    void d.dismiss();
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  return problems;
}

/**
 * WCAG 2 contrast of every visible text against the background it sits on (walking up to the
 * first opaque background): 4.5:1, or 3:1 for large text. Runs in the page (plain JS: this
 * project's TypeScript has no DOM types).
 */
const CONTRAST_FAILURES = `(() => {
  const rgb = (c) => {
    const m = /rgba?\\(([\\d.]+),\\s*([\\d.]+),\\s*([\\d.]+)(?:,\\s*([\\d.]+))?\\)/.exec(c);
    if (m === null) throw new Error('unparsed colour ' + c);
    return [Number(m[1]), Number(m[2]), Number(m[3]), m[4] === undefined ? 1 : Number(m[4])];
  };
  const channel = (v) => (v / 255 <= 0.03928 ? v / 255 / 12.92 : ((v / 255 + 0.055) / 1.055) ** 2.4);
  const lum = (c) => 0.2126 * channel(c[0]) + 0.7152 * channel(c[1]) + 0.0722 * channel(c[2]);
  const background = (el) => {
    for (let e = el; e !== null; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c[3] === 1) return c;
    }
    return [255, 255, 255, 1];
  };
  const failures = [];
  for (const el of document.body.querySelectorAll('*')) {
    const own = Array.from(el.childNodes).some((n) => n.nodeType === Node.TEXT_NODE && n.textContent.trim() !== '');
    if (!own || el.getClientRects().length === 0) continue;
    const style = getComputedStyle(el);
    const a = lum(rgb(style.color));
    const b = lum(background(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const size = Number.parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
    if (ratio < (large ? 3 : 4.5)) failures.push(el.tagName.toLowerCase() + ' "' + el.textContent.trim().slice(0, 40) + '" ' + ratio.toFixed(2) + ':1');
  }
  return failures;
})()`;

/** The element Tab reached and its outline, in the page. */
const FOCUS_RING = `(() => {
  const el = document.activeElement;
  if (el === null || el === document.body) return null;
  const s = getComputedStyle(el);
  return { tag: el.tagName, outline: s.outlineStyle + ' ' + s.outlineWidth };
})()`;

const BLUR = 'document.activeElement && document.activeElement.blur()';

/** The checks a person would make on one loaded page. */
async function checkPage(page: Page, name: string): Promise<void> {
  assert.equal(await page.getByRole('main').count(), 1, `${name}: one main landmark`);
  assert.equal(await page.getByRole('banner').count(), 1, `${name}: a banner`);
  assert.equal(await page.getByRole('contentinfo').count(), 1, `${name}: a footer landmark`);
  assert.equal(await page.getByRole('heading', { level: 1 }).count(), 1, `${name}: one h1`);
  assert.equal(await page.locator('html').getAttribute('lang'), 'en');
  // Every control has an accessible name; the aria snapshot lists a nameless one as a bare role.
  const tree = await page.locator('body').ariaSnapshot();
  assert.doesNotMatch(
    tree,
    /^\s*- (button|link|textbox|checkbox|combobox)\s*(\[[^\]]*\])?:?\s*$/m,
    `${name}: a control without a name:\n${tree}`,
  );
  for (const button of await page.getByRole('button').all())
    assert.ok(((await button.textContent()) ?? '').trim() !== '', `${name}: button name`);
  // The stylesheet applied (the CSP allows it by hash) and nothing is wider than the viewport.
  assert.equal(
    await page.evaluate<string>('getComputedStyle(document.body).display'),
    'flex',
    `${name}: the inline stylesheet applied`,
  );
  const scrollWidth = await page.evaluate<number>('document.documentElement.scrollWidth');
  const innerWidth = await page.evaluate<number>('window.innerWidth');
  assert.ok(
    scrollWidth <= innerWidth,
    `${name}: no horizontal scrolling (${scrollWidth} > ${innerWidth})`,
  );
  // Keyboard: the first control takes focus with a visible ring.
  await page.keyboard.press('Tab');
  const ring = await page.evaluate<{ tag: string; outline: string } | null>(FOCUS_RING);
  assert.ok(ring !== null, `${name}: Tab reaches a control`);
  assert.match(
    ring.outline,
    /^solid [3-9]/,
    `${name}: a visible focus ring on ${ring.tag} (${ring.outline})`,
  );
}

/** Open `url`, check it, and write `<name>-desktop.png` or `<name>-mobile.png` and `-mobile-dark.png`. */
async function shoot(
  context: BrowserContext,
  url: string,
  name: string,
  expectStatus?: number,
): Promise<void> {
  const page = await context.newPage();
  const problems = watch(page);
  try {
    const response = await page.goto(url);
    if (expectStatus !== undefined)
      assert.equal(response?.status(), expectStatus, `${name}: status`);
    await checkPage(page, name);
    await page.mouse.move(0, 0);
    await page.evaluate(BLUR);
    const size = page.viewportSize();
    const kind = size !== null && size.width <= MOBILE.width ? 'mobile' : 'desktop';
    for (const scheme of kind === 'mobile' ? (['light', 'dark'] as const) : (['light'] as const)) {
      await page.emulateMedia({ colorScheme: scheme });
      const failures = await page.evaluate<string[]>(CONTRAST_FAILURES);
      assert.deepEqual(failures, [], `${name} (${scheme}): text below WCAG AA contrast`);
      await page.screenshot({
        path: join(SCREENSHOTS, `${name}-${kind}${scheme === 'dark' ? '-dark' : ''}.png`),
        fullPage: true,
      });
    }
    assert.deepEqual(problems, [], `${name}: no console errors, CSP violations or scripts`);
  } finally {
    await page.close();
  }
}

async function contexts(
  browser: Browser,
): Promise<{ desktop: BrowserContext; mobile: BrowserContext }> {
  const desktop = await browser.newContext({ viewport: DESKTOP, colorScheme: 'light' });
  const mobile = await browser.newContext({
    viewport: MOBILE,
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    colorScheme: 'light',
  });
  return { desktop, mobile };
}

test('every page in Chromium, on a desktop and a phone: landmarks, named controls, contrast, focus, CSP; screenshots', async (t) => {
  const chromiumBin = requireTool(t, 'chromium');
  if (chromiumBin === undefined) return;
  mkdirSync(SCREENSHOTS, { recursive: true });

  const pages = new Map<string, LocalReply>();
  for (const sample of [...SAMPLES, ...HOSTILE_SAMPLES])
    pages.set(sample.name, sample.render(BROWSER));
  const { origin, server } = await servePages(pages);
  t.after(() => server.close());

  const browser = await launchChromium(chromiumBin);
  t.after(() => browser.close());
  const { desktop, mobile } = await contexts(browser);

  for (const sample of SAMPLES) {
    await t.test(sample.name, async () => {
      const url = `${origin}/${encodeURIComponent(sample.name)}`;
      const status = pages.get(sample.name)!.status;
      await shoot(desktop, url, sample.name, status);
      await shoot(mobile, url, sample.name, status);
    });
  }

  await t.test('hostile input shows as text and runs nothing', async () => {
    for (const sample of HOSTILE_SAMPLES) {
      const page = await desktop.newPage();
      const problems = watch(page);
      await page.goto(`${origin}/${encodeURIComponent(sample.name)}`);
      assert.equal(await page.locator('script, img, b').count(), 0, sample.name);
      assert.match(
        (await page.locator('main').textContent()) ?? '',
        /<script>/,
        `${sample.name}: the markup is visible as text`,
      );
      assert.deepEqual(problems, [], sample.name);
      await page.close();
    }
  });

  await t.test('sign-out controls are buttons named "Sign out" in POST forms', async () => {
    for (const name of ['deny', 'whoami', 'sign-out-confirm', 'error-sign-out-forbidden']) {
      const page = await desktop.newPage();
      await page.goto(`${origin}/${name}`);
      const button = page.getByRole('button', { name: 'Sign out', exact: true });
      assert.equal(await button.count(), 1, name);
      assert.equal(
        await page.locator('form', { has: button }).getAttribute('method'),
        'post',
        name,
      );
      await page.close();
    }
  });
});

test('deny, who am I, sign-out, not-found and error pages through Envoy and Gatehouse, signed in at the demo IdP', async (t) => {
  // As test/e2e/sign-in-browser.test.ts: http://localhost is a secure context for __Host- cookies.
  const stack = await startBrowserStack(t, {
    policy: testdata('e2e', 'identity', 'authz.rego'),
    redirectUris: (port) => [`http://localhost:${port}/.gatehouse/callback`],
    postLogoutRedirectUris: (port) => [`http://localhost:${port}/.gatehouse/signed_out`],
  });
  if (stack === undefined) return;
  mkdirSync(SCREENSHOTS, { recursive: true });
  const { port, idp, browser } = stack;
  const origin = `http://localhost:${port}`;

  const { desktop, mobile } = await contexts(browser);

  // A callback nobody started: the error page, before signing in.
  await shoot(
    desktop,
    `${origin}/.gatehouse/callback?code=abc&state=def`,
    'stack-error-callback',
    401,
  );

  // Sign in once per context (the session cookie lives in the context).
  for (const context of [desktop, mobile]) {
    const page = await context.newPage();
    await page.goto(`${origin}/app/`);
    assert.ok(page.url().startsWith(idp.issuer), `the IdP's sign-in page, not ${page.url()}`);
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill('alice');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${origin}/app/`);
    await page.close();
  }

  for (const context of [desktop, mobile]) {
    await shoot(context, `${origin}/vault/reports`, 'stack-deny', 403);
    await shoot(context, `${origin}/.gatehouse/`, 'stack-whoami', 200);
    await shoot(context, `${origin}/.gatehouse/sign_out`, 'stack-sign-out-confirm', 200);
    await shoot(context, `${origin}/.gatehouse/no-such-page`, 'stack-not-found', 404);
  }

  // The deny page names the user, the reason and the request; signing out from it works.
  const page = await desktop.newPage();
  const problems = watch(page);
  await page.goto(`${origin}/vault/reports`);
  const main = page.getByRole('main');
  assert.match((await main.textContent()) ?? '', /alice@example\.com may not open the vault/);
  assert.match((await main.textContent()) ?? '', /GET http:\/\/localhost:\d+\/vault\/reports/);
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await page.waitForURL(`${origin}/.gatehouse/signed_out`);
  await checkPage(page, 'stack-signed-out');
  await page.mouse.move(0, 0);
  await page.evaluate(BLUR);
  await page.screenshot({
    path: join(SCREENSHOTS, 'stack-signed-out-desktop.png'),
    fullPage: true,
  });
  assert.deepEqual(problems, [], 'no console errors or CSP violations through Envoy');
});
