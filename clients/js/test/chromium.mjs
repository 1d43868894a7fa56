// Launches Debian's chromium (never a downloaded browser) with playwright-core: the one
// set-up of every browser script, this package's (test/browser.mjs) and the repository's
// (tests/console*_browser.mjs, which import this file through JS_DIR). It lives here, with
// playwright-core in this package's node_modules, so the import points from the repository's
// tests to the package and never back. Whether a missing chromium skips or fails (CI=true)
// is decided before any script runs, by the Python test that starts it (tests/sdk_support.py).
import { chromium } from 'playwright-core';

// Headless in a container, without the sandbox (no user namespaces there) or a GPU, and
// without the browser's own traffic (updates, sync, first-run pages) beside the test's.
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** The browser at $CHROMIUM (default /usr/bin/chromium), with FLAGS and then `extraArgs`. */
export function launchChromium(extraArgs = []) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [...FLAGS, ...extraArgs],
  });
}
