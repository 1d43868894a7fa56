// Drives Debian's chromium (never a downloaded browser) with playwright-core: opens the
// test page, which loads dist/levelstream.browser.js and subscribes; writes a document
// through REST; waits for the page to show it. Prints one JSON line with the outcome.
// Usage: node test/browser.mjs <page-url> <server-url> <token> <collection> <websocket|sse>
import { launchChromium } from './chromium.mjs';

const [pageUrl, baseUrl, token, collection, transport] = process.argv.slice(2);
const browser = await launchChromium();
const logs = [];
try {
  const page = await browser.newPage();
  page.on('console', (message) => logs.push(`${message.type()}: ${message.text()}`));
  page.on('pageerror', (error) => logs.push(`pageerror: ${error.message}`));
  const hash = new URLSearchParams({ base: baseUrl, token, collection, transport: transport === 'sse' ? 'sse' : 'auto' });
  await page.goto(`${pageUrl}#${hash}`);
  await page.waitForFunction(() => document.getElementById('ready').textContent === 'ready', null, {
    timeout: 20_000,
  });
  const key = `from-rest-${transport}`;
  const value = { title: 'Printer on fire', via: transport };
  const response = await fetch(`${baseUrl}/v1/collections/${collection}/docs/${key}`, {
    method: 'PUT',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(value),
  });
  if (response.status !== 201) throw new Error(`PUT answered ${response.status}`);
  const item = page.locator(`li[data-key="${key}"]`);
  await item.waitFor({ timeout: 20_000 });
  const shown = await item.textContent();
  const rest = JSON.parse(await item.getAttribute('data-rest'));
  const status = await page.locator('#status').textContent();
  const snapshotItems = await page.locator('li').count();
  console.log(JSON.stringify({ shown, rest, status, items: snapshotItems, ok: JSON.stringify(rest) === JSON.stringify(value) }));
} catch (error) {
  console.log(JSON.stringify({ ok: false, error: String(error), logs }));
  process.exitCode = 1;
} finally {
  await browser.close();
}
