import { chromium, type Browser } from 'playwright-core';

/**
 * Debian's Chromium as this workplace allows it: headless, no sandbox (tests run as root), no
 * background networking (the machine has no network beyond loopback), never a downloaded browser.
 */
export function launchChromium(executablePath: string): Promise<Browser> {
  return chromium.launch({
    executablePath,
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-gpu'],
  });
}
