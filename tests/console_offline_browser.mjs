// Drives /console in Debian's chromium through an outage of its server, for
// tests/test_console_offline.py: writes made while the server is down are shown pending,
// survive a reload, and drain when it is back; a conflicting one is shown to the operator.
// Talks to the test in JSON lines: prints `{"step": ...}` where the test acts on the
// server (stop it, change data, start it) and waits for one line on stdin before going on.
//
// While the server is down the page itself cannot be fetched from it: for the reload, the
// console's own files are answered from the checkout (with the headers the server gave
// them), as an offline-capable page cache would. Everything else (REST, the WebSocket) still
// goes to the server's port and fails while it is down.
//
// Usage: node tests/console_offline_browser.mjs <server-url> <token> <collection>
// (env: CHROMIUM, JS_DIR = clients/js, whose node_modules has playwright-core)
import path from 'node:path';
import readline from 'node:readline';
import { pathToFileURL } from 'node:url';

const { launchChromium } = await import(pathToFileURL(path.join(process.env.JS_DIR, 'test/chromium.mjs')).href);

const [baseUrl, token, collection] = process.argv.slice(2);
const STATIC = path.resolve('app/console/static');
const WAIT = { timeout: 30_000 };
const LONG_KEY = 'é'.repeat(300); // 300 characters (the form takes 512), 600 bytes: refused (422)
const stdin = readline.createInterface({ input: process.stdin });
const lines = stdin[Symbol.asyncIterator]();

function say(step, fields = {}) {
  console.log(JSON.stringify({ step, ...fields }));
}

async function goAhead() {
  const { value, done } = await lines.next();
  if (done) throw new Error('the test closed stdin');
  return value;
}

const browser = await launchChromium([
  // A page answered by the test (route.fulfill) has no address of its own, so Chromium
  // counts it as public and blocks its WebSocket to loopback (Local Network Access).
  '--disable-features=LocalNetworkAccessChecks',
]);
const problems = []; // script errors and CSP violations (not the refused connections of the outage)
let page = null;
try {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1100 } });
  page = await context.newPage();
  page.on('console', (message) => {
    const text = message.text();
    if (/ERR_CONNECTION_REFUSED|WebSocket connection to|status of 41[12]|status of 422/.test(text)) return; // the outage, the conflict, the refusal
    if (message.type() === 'error' || /Content Security Policy/i.test(text)) problems.push(`console ${message.type()}: ${text}`);
  });
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));

  const pill = () => page.locator('#sync').textContent();
  const row = (key) => page.locator(`#documents tbody tr[data-key="${key}"]`);
  const rows = () =>
    page.locator('#documents tbody tr').evaluateAll((trs) =>
      Object.fromEntries(trs.map((tr) => [tr.dataset.key, { pending: tr.dataset.pending === 'true', value: JSON.parse(tr.querySelector('td.value code').title) }])),
    );
  async function write(key, value) {
    await page.getByLabel('Key', { exact: true }).fill(key);
    await page.getByLabel('Value (JSON)').fill(JSON.stringify(value));
    await page.getByRole('button', { name: 'Put document' }).click();
    await page.locator('#write-result', { hasText: `Queued: the put of ${key} in ${collection}` }).waitFor(WAIT);
  }

  // 1. Online: connect, open the collection (its replica), nothing pending.
  const first = await page.goto(`${baseUrl}/console`);
  const pageHeaders = first.headers();
  await page.getByLabel('API key or JWT').fill(token);
  await page.getByRole('button', { name: 'Connect' }).click();
  await page.locator('#connection', { hasText: 'Connected' }).waitFor(WAIT);
  await page.getByLabel('or by name').fill(collection);
  await page.getByRole('button', { name: 'Open by name' }).click();
  await row('shared').waitFor(WAIT);
  await page.locator('#sync', { hasText: 'online · 0 pending' }).waitFor(WAIT);
  say('online', { pill: await pill(), rows: await rows() });

  // 2. The test stops the server: two writes from the form, shown at once, pending.
  await goAhead();
  await page.locator('#sync', { hasText: 'offline · 0 pending' }).waitFor(WAIT);
  await write('off-1', { text: 'written offline', n: 1 });
  await write('off-2', { text: 'written offline', n: 2 });
  await page.locator('#sync', { hasText: 'offline · 2 pending' }).waitFor(WAIT);
  const beforeReload = { pill: await pill(), rows: await rows() };

  // 3. Reload while the server is down (the page's files from the checkout, see above).
  const headers = Object.fromEntries(
    Object.entries(pageHeaders).filter(([name]) => /^(content-security-policy|x-frame-options|referrer-policy|cross-origin-)/.test(name)),
  );
  const types = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml' };
  const serveFile = (file) => (route) =>
    route.fulfill({ path: path.join(STATIC, file), headers: { ...headers, 'content-type': types[path.extname(file)] } });
  await page.route(`${baseUrl}/console`, serveFile('index.html'));
  await page.route(`${baseUrl}/console/static/*`, (route) => serveFile(path.basename(new URL(route.request().url()).pathname))(route));
  await page.reload();
  await page.locator('#connection', { hasText: 'Offline: local copy' }).waitFor(WAIT);
  await page.locator('#sync', { hasText: 'offline · 2 pending' }).waitFor(WAIT); // from IndexedDB
  await row('off-2').waitFor(WAIT);
  const afterReload = { pill: await pill(), rows: await rows(), notice: await page.locator('#error').textContent() };
  // One more after the reload: an edit of a document the server is about to change too.
  await write('shared', { text: 'mine' });
  await page.locator('#sync', { hasText: 'offline · 3 pending' }).waitFor(WAIT);
  say('queued', { beforeReload, afterReload, pill: await pill(), rows: await rows() });

  // 4. The server is back (with `shared` changed meanwhile): the queue drains, in order.
  await goAhead();
  await page.unrouteAll();
  await page.locator('#sync', { hasText: 'online · 0 pending' }).waitFor(WAIT);
  await page.locator('#connection', { hasText: 'Connected' }).waitFor(WAIT);
  const conflict = page.locator(`#conflicts li[data-key="shared"]`);
  await conflict.waitFor(WAIT);
  await page.locator('#documents tbody tr[data-key="off-2"][data-pending="false"]').waitFor(WAIT);
  say('synced', {
    pill: await pill(),
    rows: await rows(),
    conflict: await conflict.locator('.head').textContent(),
    conflictText: await conflict.textContent(),
    writeResult: await page.locator('#write-result').textContent(),
  });

  // 5. The operator keeps their edit: "Write mine again" queues it on the server's version.
  await goAhead();
  await conflict.getByRole('button', { name: 'Write mine again' }).click();
  await conflict.getByText('Written again').waitFor(WAIT);
  await page.locator('#write-result', { hasText: 'Saved shared in' }).waitFor(WAIT);
  await page.locator('#sync', { hasText: 'online · 0 pending' }).waitFor(WAIT);
  say('resolved', { pill: await pill(), rows: await rows(), writeResult: await page.locator('#write-result').textContent() });
  await goAhead();

  // 6. A second write not taken (a key the server refuses: too long); the conflict entry
  // is dismissed by its own button, the refusal stays (also after a reload: in IndexedDB).
  const entries = page.locator('#conflicts li');
  const entryKeys = () => entries.evaluateAll((lis) => lis.map((li) => li.dataset.key));
  await page.getByLabel('Key', { exact: true }).fill(LONG_KEY);
  await page.getByLabel('Value (JSON)').fill('{"text": "refused"}');
  await page.getByRole('button', { name: 'Put document' }).click();
  await page.locator(`#conflicts li[data-key="${LONG_KEY}"]`).waitFor(WAIT);
  const beforeDismiss = await entryKeys();
  await conflict.getByRole('button', { name: 'Dismiss' }).click();
  await conflict.waitFor({ state: 'detached', ...WAIT });
  const afterDismiss = await entryKeys();
  await page.reload();
  await page.locator('#connection', { hasText: 'Connected' }).waitFor(WAIT);
  await page.locator(`#conflicts li[data-key="${LONG_KEY}"]`).waitFor(WAIT);
  const keptAfterReload = await entryKeys();
  await page.getByRole('button', { name: 'Dismiss all' }).click();
  await page.locator('#not-taken').waitFor({ state: 'hidden', ...WAIT });
  say('done', { problems, beforeDismiss, afterDismiss, afterReload: keptAfterReload });
} catch (error) {
  // What the page showed: the pill, the connection, the write, the replica, the notices.
  const shown = await Promise.all(
    ['#sync', '#connection', '#write-result', '#replica', '#error', '#not-taken'].map((id) => page?.locator(id).textContent().catch(() => null)),
  ).catch(() => null);
  say('failed', { error: String(error), problems, shown });
  process.exitCode = 1;
} finally {
  stdin.close();
  await browser.close();
}
