// Debian's Chromium driven by playwright-core (which downloads no browser of its own).
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

// Flags that work on these machines (see real-peers.md):
// - the closed network refuses Chromium's background connections, so those are turned off;
// - fake camera/microphone devices with auto-granted permission;
// - loopback: Chromium gathers no 127.0.0.1 candidates unless allowed, and a receive-only page
//   hides its local addresses behind mDNS names unless that is disabled.
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
  '--allow-loopback-in-peer-connection',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--autoplay-policy=no-user-gesture-required',
];

/** Returns a reason to skip when Chromium is not installed, else undefined. */
export function chromiumMissing() {
  return existsSync(CHROMIUM_PATH)
    ? undefined
    : `${CHROMIUM_PATH} not found (scripts/install-test-deps.sh installs Debian's chromium)`;
}

export async function launchChromium() {
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
}

/**
 * Opens the test page in its own browser context and records its console into
 * artifacts/<name>.console.log when flushLog() is called.
 */
export async function openTestPage(browser, pageURL, name, artifacts) {
  const context = await browser.newContext({
    viewport: { width: 1320, height: 1000 },
    permissions: ['camera', 'microphone'],
  });
  const page = await context.newPage();
  const lines = [];
  page.on('console', (msg) => lines.push(`[${msg.type()}] ${msg.text()}`));
  page.on('pageerror', (err) => lines.push(`[pageerror] ${err.stack ?? err.message}`));
  await page.goto(pageURL);
  await page.waitForFunction(() => typeof window.cc === 'object');
  return {
    page,
    flushLog: () => writeFile(join(artifacts, `${name}.console.log`), `${lines.join('\n')}\n`),
    screenshot: (label) => page.screenshot({ path: join(artifacts, `${name}-${label}.png`) }),
    close: () => context.close(),
  };
}
