// Issue 16's numbers for the JS SDK, in Debian's chromium (playwright-core): a live query
// over N documents opening from the IndexedDB replica after a reload, resuming after M
// missed changes, and an optimistic write showing in the local view. Started by
// bench/sdk/offline_browser.py (server, page server, seeding); prints one JSON line.
// Usage: node offline_browser.mjs <page-url> <server-url> <token> <collection> <missed>
import { createInterface } from 'node:readline';
import { createRequire } from 'node:module';

const require = createRequire(new URL('../../clients/js/package.json', import.meta.url));
const { chromium } = require('playwright-core');
const [pageUrl, baseUrl, token, collection, missed] = process.argv.slice(2);
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
});
const result = {};
try {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${pageUrl}`);
  const open = (wait) =>
    page.evaluate(
      async ({ baseUrl, token, collection, wait }) => {
        const t0 = performance.now();
        const db = await Levelstream.openDb({ baseUrl, token });
        const dbOpened = performance.now() - t0;
        const live = await db.collection(collection).live();
        const opened = performance.now() - t0;
        const size = live.size;
        const seq0 = live.seq;
        let caughtUp = null;
        if (wait !== null) {
          await new Promise((resolve) => {
            const check = () => {
              if (live.seq !== null && live.seq >= wait) resolve();
            };
            live.subscribe(check);
            check();
          });
          caughtUp = performance.now() - t0 - opened;
        }
        window.bench = { db, live };
        return { opened, dbOpened, size, seq0, caughtUp, seq: live.seq };
      },
      { baseUrl, token, collection, wait },
    );
  // First visit: the snapshot fills the replica.
  const head = Number((await lines.next()).value);
  result.first = await open(head);
  // Reload: the view opens from IndexedDB (no network needed for it).
  await page.reload();
  result.reload = await open(null);
  // The page closes; the server takes `missed` changes; the page comes back and resumes.
  await page.goto('about:blank');
  console.log(JSON.stringify({ step: 'closed' }));
  const target = Number((await lines.next()).value);
  await page.goto(pageUrl);
  result.resume = await open(target);
  result.resume.rate = Number(missed) / (result.resume.caughtUp / 1000);
  // Optimistic writes: from put() to the local view holding the value (median of 200).
  result.optimistic = await page.evaluate(async (collection) => {
    const { db, live } = window.bench;
    const times = [];
    for (let i = 0; i < 200; i++) {
      const t0 = performance.now();
      void db.collection(collection).put(`opt-${i}`, { i });
      if (live.get(`opt-${i}`) === undefined) throw new Error('not shown');
      times.push(performance.now() - t0);
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    times.sort((a, b) => a - b);
    return { median_ms: times[100], p99_ms: times[198] };
  }, collection);
  console.log(JSON.stringify({ step: 'done', ...result }));
} finally {
  await browser.close();
}
