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
  // hold: the number of replayed changes to hold back until all have arrived, then hand to
  // the SDK in one go (the apply alone, without the server's pace of replay); 0: as they come.
  const open = (wait, hold = 0) =>
    page.evaluate(
      async ({ baseUrl, token, collection, wait, hold }) => {
        // Timing of the replayed changes: a WebSocket that sees every frame before the SDK.
        const timing = { firstChange: null, lastChange: null, released: null, changes: 0 };
        class TimedWebSocket extends WebSocket {
          constructor(url) {
            super(url);
            const held = [];
            super.onmessage = (ev) => {
              if (typeof ev.data !== 'string' || !ev.data.includes('"type":"change"')) return this.sdk?.(ev);
              timing.changes += 1;
              timing.lastChange = performance.now();
              timing.firstChange ??= timing.lastChange;
              if (hold === 0) return this.sdk?.(ev);
              held.push(ev);
              if (held.length < hold) return;
              timing.released = performance.now();
              for (const one of held.splice(0)) this.sdk?.(one);
            };
          }
          set onmessage(handler) {
            this.sdk = handler;
          }
          get onmessage() {
            return this.sdk;
          }
        }
        const t0 = performance.now();
        const db = await Levelstream.openDb({ baseUrl, token, realtime: { WebSocket: TimedWebSocket } });
        const dbOpened = performance.now() - t0;
        const applyChanges = db.store.applyChanges.bind(db.store);
        const idb = { calls: 0, ms: 0, sizes: [] };
        db.store.applyChanges = async (record, puts, removed) => {
          const s0 = performance.now();
          await applyChanges(record, puts, removed);
          idb.calls += 1;
          idb.sizes.push(puts.length + removed.length);
          idb.ms += performance.now() - s0;
        };
        const live = await db.collection(collection).live();
        const opened = performance.now() - t0;
        const size = live.size;
        const seq0 = live.seq;
        let caughtUp = null;
        let doneAt = null;
        if (wait !== null) {
          await new Promise((resolve) => {
            const check = () => {
              if (live.seq !== null && live.seq >= wait) resolve((doneAt ??= performance.now()));
            };
            live.subscribe(check);
            check();
          });
          caughtUp = doneAt - t0 - opened;
        }
        const apply =
          wait === null || timing.firstChange === null
            ? null
            : {
                changes: timing.changes,
                // first replayed change received (held: all of them handed over) to the last shown
                ms: doneAt - (timing.released ?? timing.firstChange),
                arriving_ms: timing.lastChange - timing.firstChange,
                idb,
              };
        window.bench = { db, live };
        return { opened, dbOpened, size, seq0, caughtUp, apply, seq: live.seq };
      },
      { baseUrl, token, collection, wait, hold },
    );
  // First visit: the snapshot fills the replica.
  const head = Number((await lines.next()).value);
  result.first = await open(head);
  // Reload: the view opens from IndexedDB (no network needed for it).
  await page.reload();
  result.reload = await open(null);
  // The page closes; the server takes `missed` changes; the page comes back and resumes:
  // once with the changes as the server sends them, once with them held and handed over at once.
  for (const [name, hold] of [['resume', 0], ['resumeHeld', Number(missed)]]) {
    await page.goto('about:blank');
    console.log(JSON.stringify({ step: 'closed' }));
    const target = Number((await lines.next()).value);
    await page.goto(pageUrl);
    result[name] = await open(target, hold);
    result[name].rate = Number(missed) / (result[name].caughtUp / 1000);
    result[name].applyRate = result[name].apply.changes / (result[name].apply.ms / 1000);
  }
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
