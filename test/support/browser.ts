import { chromium, type Browser, type Page } from 'playwright-core';

/**
 * Debian's Chromium as this workplace allows it: headless, no sandbox (tests run as root), no
 * background networking (the machine has no network beyond loopback), never a downloaded browser.
 */
export function launchChromium(executablePath: string): Promise<Browser> {
  return chromium.launch({
    executablePath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-gpu',
    ],
  });
}

/** Sign in on the demo IdP's login page. */
export async function signInAtIdp(page: Page, user: string, password: string): Promise<void> {
  await page.getByLabel('Username').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}
