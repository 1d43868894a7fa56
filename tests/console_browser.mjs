// Drives /console in Debian's chromium (never a downloaded browser) with playwright-core,
// for tests/test_console.py: clicks and types like a person, and talks to the test in
// JSON lines. It prints `{"step": ...}` when it reaches a point where the test acts on
// the server (a REST write, a second presence member), and waits for one line on stdin
// (the test's go-ahead, JSON) before it goes on.
//
// Usage: node tests/console_browser.mjs <server-url> <token> <collection> <channel> <screenshot>
// (env: CHROMIUM, JS_DIR = clients/js, whose node_modules has playwright-core)
import path from 'node:path';
import readline from 'node:readline';
import { pathToFileURL } from 'node:url';

const { launchChromium } = await import(pathToFileURL(path.join(process.env.JS_DIR, 'test/chromium.mjs')).href);

const [baseUrl, token, collection, channel, screenshot] = process.argv.slice(2);
const WAIT = { timeout: 15_000 };
const stdin = readline.createInterface({ input: process.stdin });
const lines = stdin[Symbol.asyncIterator]();

function say(step, fields = {}) {
  console.log(JSON.stringify({ step, ...fields }));
}

async function goAhead() {
  const { value, done } = await lines.next();
  if (done) throw new Error('the test closed stdin');
  return JSON.parse(value);
}

const browser = await launchChromium();
const problems = []; // console errors (CSP violations among them) and page errors
try {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1100 } });
  const page = await context.newPage();
  page.on('console', (message) => {
    const text = message.text();
    if (/status of (401|422)/.test(text)) return; // the wrong token and the refused write, on purpose
    if (message.type() === 'error' || /Content Security Policy/i.test(text)) {
      problems.push(`console ${message.type()}: ${text}`);
    }
  });
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
  const requested = [];
  page.on('request', (request) => requested.push(request.url()));

  // 1. Open the page, paste the token, connect.
  const response = await page.goto(`${baseUrl}/console`);
  if (response.status() !== 200) throw new Error(`/console answered ${response.status()}`);
  // A wrong token first: refused, with the problem shown, and not kept.
  await page.getByLabel('API key or JWT').fill('lsk_not_a_real_token');
  await page.getByRole('button', { name: 'Connect' }).click();
  await page.locator('#connection', { hasText: 'Token refused' }).waitFor(WAIT);
  const refused = await page.locator('#error').textContent();
  const keptAfterRefusal = await page.evaluate(() => sessionStorage.length);
  await page.getByLabel('API key or JWT').fill(token);
  await page.getByRole('button', { name: 'Connect' }).click();
  await page.locator('#connection', { hasText: 'Connected' }).waitFor(WAIT);
  const storage = await page.evaluate(() => ({
    session: sessionStorage.getItem('levelstream.console.token'),
    localCount: localStorage.length,
    url: location.href,
    field: document.getElementById('token').value,
  }));

  // 2. Pick the collection, see its documents and the stream go live.
  const select = page.getByLabel('Collections');
  await page.locator(`#collection option[value="${collection}"]`).waitFor({ state: 'attached', ...WAIT });
  await select.selectOption(collection);
  await page.getByRole('button', { name: 'Open', exact: true }).click();
  await page.locator('#stream-status', { hasText: 'Live via websocket' }).waitFor(WAIT);
  await page.locator('#sync', { hasText: 'online · 0 pending' }).waitFor(WAIT); // the offline-first client's status: nothing queued
  await page.locator('#changes li.snapshot').waitFor(WAIT);
  await page.locator('#documents tbody tr').first().waitFor(WAIT);
  const keys = await page.locator('#documents tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.key));
  const snapshotText = await page.locator('#changes li.snapshot').textContent();
  // Paging: a page of 10, then the next page.
  await page.getByLabel('Page size').selectOption('10');
  await page.getByRole('button', { name: 'Apply' }).click();
  await page.locator('#page-info', { hasText: 'Page 1: 10 documents' }).waitFor(WAIT);
  await page.getByRole('button', { name: 'Next' }).click();
  await page.locator('#page-info', { hasText: 'Page 2:' }).waitFor(WAIT);
  const page2 = await page.locator('#documents tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.key));
  await page.getByRole('button', { name: 'First' }).click();
  await page.locator('#page-info', { hasText: 'Page 1:' }).waitFor(WAIT);
  say('subscribed', { storage, keys, page2, snapshot: snapshotText, refused, keptAfterRefusal });

  // 3. The test writes through REST: the change arrives live, and the table follows.
  const { key: restKey } = await goAhead();
  const restEntry = page.locator(`#changes li[data-key="${restKey}"]`);
  await restEntry.waitFor(WAIT);
  await page.locator(`#documents tbody tr[data-key="${restKey}"]`).waitFor(WAIT);
  say('live', { shown: await restEntry.textContent() });

  // 4. Write a document with the form; then a value the server refuses (problem+json).
  await page.getByLabel('Key', { exact: true }).fill('from-form');
  await page.getByLabel('Value (JSON)').fill('{"title": "typed in the console", "n": 7}');
  await page.getByRole('button', { name: 'Put document' }).click();
  await page.locator('#write-result', { hasText: 'Saved from-form' }).waitFor(WAIT); // queued, sent, seen back
  const formEntry = page.locator('#changes li[data-key="from-form"]');
  await formEntry.waitFor(WAIT);
  await page.locator('#documents tbody tr[data-key="from-form"][data-pending="false"]').waitFor(WAIT);
  const written = await page.locator('#write-result').textContent();
  await page.getByLabel('Value (JSON)').fill('{not json');
  await page.getByRole('button', { name: 'Put document' }).click();
  await page.locator('#write-error', { hasText: 'not valid JSON' }).waitFor(WAIT);
  await page.getByLabel('Value (JSON)').fill('null');
  await page.getByRole('button', { name: 'Put document' }).click();
  await page.locator('#write-error', { hasText: 'validation_failed' }).waitFor(WAIT);
  const problem = await page.locator('#write-error').textContent();
  const refusal = await page.locator('#conflicts li[data-key="from-form"]').textContent();
  await page.getByRole('button', { name: 'Dismiss all' }).click();
  await page.locator('#not-taken').waitFor({ state: 'hidden', ...WAIT });
  say('written', { written, shown: await formEntry.textContent(), problem, refusal });
  await goAhead();

  // 4b. The rules editor: a bad rule shows the problem and its position; a good one is listed.
  await page.getByLabel('Glob').fill('notes');
  await page.getByLabel('read', { exact: true }).fill('doc.public ||');
  await page.getByLabel('create', { exact: true }).fill('new.owner == auth.sub');
  await page.getByRole('button', { name: 'Save rule' }).click();
  await page.locator('#rule-error', { hasText: 'validation_failed' }).waitFor(WAIT);
  const ruleProblem = await page.locator('#rule-error').textContent();
  const caret = await page.evaluate(() => ({
    field: document.activeElement.id,
    at: document.activeElement.selectionStart,
  }));
  const listedBefore = await page.locator('#rules tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.glob));
  await page.getByLabel('read', { exact: true }).fill('doc.public || doc.owner == auth.sub');
  await page.getByRole('button', { name: 'Save rule' }).click();
  await page.locator('#rule-result', { hasText: 'Saved the rule of notes' }).waitFor(WAIT);
  const ruleRow = page.locator('#rules tbody tr[data-glob="notes"]');
  await ruleRow.waitFor(WAIT);
  const ruleErrorHidden = await page.locator('#rule-error').isHidden();

  // 4c. An index on the open collection: created, shown building or ready, then ready.
  await page.getByLabel('Index name').fill('by_n');
  await page.getByLabel('Fields (comma-separated)').fill('n');
  await page.getByRole('button', { name: 'Create index' }).click();
  await page.locator('#index-result', { hasText: 'Index by_n' }).waitFor(WAIT);
  const indexRow = page.locator('#indexes tbody tr[data-name="by_n"][data-state="ready"]');
  await indexRow.waitFor(WAIT);
  say('admin', {
    ruleProblem,
    caret,
    listedBefore,
    rule: await ruleRow.textContent(),
    ruleErrorHidden,
    index: await indexRow.textContent(),
    progress: await indexRow.locator('progress').evaluate((bar) => [bar.value, bar.max]),
  });

  // 5. Join a channel with a name; the test's member joins, and is listed live.
  await page.getByLabel('Channel', { exact: true }).fill(channel);
  await page.getByLabel('Your name').fill('Ada');
  await page.getByRole('button', { name: 'Join' }).click();
  await page.locator('#members li', { hasText: 'Ada' }).waitFor(WAIT);
  const ownId = await page.locator('#members li', { hasText: '(you)' }).getAttribute('data-client-id');
  say('joined', { client_id: ownId });
  await goAhead();
  await page.locator('#members li', { hasText: 'py-bot' }).waitFor(WAIT);

  // 6. Publish; the page sees its own message, the test's member gets it.
  await page.getByLabel('Message (JSON; anything else is sent as a string)').fill('{"hello": "from the console"}');
  await page.getByRole('button', { name: 'Publish' }).click();
  await page.locator('#publish-result', { hasText: 'Delivered to' }).waitFor(WAIT);
  await page.locator('#messages li.message', { hasText: 'from the console' }).waitFor(WAIT);
  const members = await page.locator('#members li').allTextContents();
  say('published', { members, delivered: await page.locator('#publish-result').textContent() });

  // 7. The test's member leaves: gone from the list, live.
  await goAhead();
  await page.locator('#messages li.presence', { hasText: 'py-bot left' }).waitFor(WAIT);
  await page.locator('#members li', { hasText: 'py-bot' }).waitFor({ state: 'detached', ...WAIT });
  await page.screenshot({ path: screenshot, fullPage: true });
  const feed = await page.locator('#messages li').allTextContents();

  // 8. A reload keeps the session's token (and only there); "Forget token" drops it.
  await page.reload();
  await page.locator('#connection', { hasText: 'Connected' }).waitFor(WAIT);
  await page.locator('#documents tbody tr[data-key="from-form"]').waitFor(WAIT); // the open collection, reopened
  await page.getByRole('button', { name: 'Forget token' }).click();
  await page.locator('#connection', { hasText: 'Not connected' }).waitFor(WAIT);
  // The local copy goes with the token (nothing was left to send).
  await page.waitForFunction(async () => (await indexedDB.databases()).length === 0, null, WAIT);
  const forgotten = await page.evaluate(async () => ({
    session: sessionStorage.length,
    local: localStorage.length,
    databases: (await indexedDB.databases()).length,
  }));
  const tokenInUrl = requested.filter((url) => url.includes(token));
  say('done', { feed, forgotten, tokenInUrl, problems });
} catch (error) {
  say('failed', { error: String(error), problems });
  process.exitCode = 1;
} finally {
  stdin.close();
  await browser.close();
}
