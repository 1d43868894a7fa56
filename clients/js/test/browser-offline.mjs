// Offline-first in Debian's chromium (playwright-core), driven step by step by
// tests/test_sdk_browser_offline.py over stdin/stdout: two tabs of one origin open the notes
// page (test/browser/offline.html); the server goes away; both tabs write; the tab holding
// the connection reloads while offline; the server comes back (with changes made meanwhile,
// one conflicting); a write the server refuses, kept and announced to both tabs (onConflicts),
// then dismissed in the tab not holding the connection and announced in the other; then a burst of the server's changes (both tabs end with the same view,
// the one not holding the connection without re-reading its copy), and another tab's queries
// followed while it holds them (closed, crashed). Prints one JSON line per step; reads a line
// from stdin to go on.
// Usage: node test/browser-offline.mjs <page-url> <server-url> <token> <collection>
import { createInterface } from 'node:readline';
import { launchChromium } from './chromium.mjs';

const [pageUrl, baseUrl, token, collection] = process.argv.slice(2);
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const say = (step, data = {}) => console.log(JSON.stringify({ step, ...data }));
let tabsForReport = [];
const waitFor = async (page, fn, arg, timeout = 30_000) => {
  try {
    return await page.waitForFunction(fn, arg, { timeout, polling: 50 });
  } catch (error) {
    const states = await Promise.all(
      tabsForReport.map((t) => t.evaluate(() => [document.getElementById('status').textContent, window.app?.view()]).catch(String)),
    );
    throw new Error(`${error.message.split('\n')[0]} waiting for ${fn.toString().slice(0, 120)}; tabs: ${JSON.stringify(states)}`);
  }
};
const status = (page) => page.locator('#status').textContent();

const browser = await launchChromium();
const logs = [];
try {
  const context = await browser.newContext();
  const url = `${pageUrl}#${new URLSearchParams({ base: baseUrl, token, collection, lease: '1500' })}`;
  const open = async () => {
    const page = await context.newPage();
    page.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
    await page.goto(url);
    await page.evaluate(() => window.opened);
    return page;
  };
  const tabA = await open();
  const tabB = await open();
  const tabs = [tabA, tabB];
  tabsForReport = tabs;
  for (const tab of tabs) {
    await waitFor(tab, () => window.app.notes.get('seed') !== undefined && document.getElementById('status').textContent === 'online 0');
  }
  const leaders = async () => Promise.all(tabs.map((t) => t.evaluate(() => window.app.db.status.leader)));
  say('online', { leaders: await leaders(), views: await Promise.all(tabs.map((t) => t.evaluate(() => window.app.view()))) });

  await lines.next(); // the server is down
  for (const tab of tabs) await waitFor(tab, () => document.getElementById('status').textContent.startsWith('offline'));
  await tabA.evaluate(() => window.app.put('a1', { text: 'from tab A' }));
  await tabB.evaluate(() => window.app.put('b1', { text: 'from tab B' }));
  await tabA.evaluate(() => window.app.put('a2', { text: 'second from A' }));
  await tabB.evaluate(() => window.app.patch('shared', { text: 'edited offline in B' })); // will conflict
  await tabA.evaluate(() => window.app.put('seed', { text: 'seed', archived: true })); // leaves the view
  // Every tab shows every queued write (the shared store), before and after tab A reloads.
  const expectKeys = ['a1', 'a2', 'b1', 'shared'];
  const shown = (keys) => keys.every((k) => window.app.notes.get(k)?.pending === true) && window.app.notes.get('seed') === undefined;
  for (const tab of tabs) await waitFor(tab, shown, expectKeys);
  await tabA.reload();
  await tabA.evaluate(() => window.opened);
  await waitFor(tabA, shown, expectKeys);
  say('queued', {
    leaders: await leaders(),
    statuses: await Promise.all(tabs.map(status)),
    views: await Promise.all(tabs.map((t) => t.evaluate(() => window.app.view()))),
  });

  await lines.next(); // the server is back, with changes made meanwhile
  for (const tab of tabs) {
    await waitFor(tab, () => document.getElementById('status').textContent === 'online 0' && window.app.notes.get('meanwhile') !== undefined);
  }
  for (const tab of tabs) await tab.evaluate(() => (window.storeReads = 0));
  say('synced', {
    leaders: await leaders(),
    conflictsSeen: (await Promise.all(tabs.map((t) => t.evaluate(() => window.conflictsSeen)))).flat(),
    conflictsKept: (await Promise.all(tabs.map((t) => t.evaluate(() => window.app.db.conflicts)))).flat(),
    views: await Promise.all(tabs.map((t) => t.evaluate(() => window.app.view()))),
  });
  // Writes the server did not take, announced in every tab (db.onConflicts): one kept (a
  // patch of a document the server does not have: refused), then dismissed in the tab that
  // does not hold the connection; the holder hears it.
  {
    for (const tab of tabs) {
      await tab.evaluate(() => {
        window.conflictsHeard = [];
        window.app.db.onConflicts((list) => window.conflictsHeard.push(list.map((c) => `${c.code}:${c.intent[0].key}`)));
      });
    }
    const flags = await leaders();
    const [holder, other] = [tabs[flags.indexOf(true)], tabs[flags.indexOf(false)]];
    const heard = (n) => window.conflictsHeard.length === n;
    await other.evaluate(() => window.app.patch('nowhere', { text: 'no such note' }));
    for (const tab of tabs) await waitFor(tab, heard, 2);
    await other.evaluate(() => window.app.db.dismissConflict(window.app.db.conflicts[0]));
    for (const tab of tabs) await waitFor(tab, heard, 3);
    say('conflicts', {
      holder: await holder.evaluate(() => window.conflictsHeard),
      other: await other.evaluate(() => window.conflictsHeard),
      kept: await holder.evaluate(() => window.app.db.conflicts),
    });
  }

  // A burst of the server's changes: the tab not holding the connection applies what the
  // holder broadcasts (no read of the whole copy) and ends up with the holder's view.
  const target = Number((await lines.next()).value);
  const flags = await leaders();
  const holder = tabs[flags.indexOf(true)];
  const other = tabs[flags.indexOf(false)];
  for (const tab of tabs) await waitFor(tab, (seq) => window.app.notes.seq >= seq, target);
  const view = (tab) => tab.evaluate(() => window.app.view());
  const burst = { holder: await view(holder), other: await view(other), otherReads: await other.evaluate(() => window.storeReads) };
  // The same copy read back from the store: changes still in the log, then folded into its view record.
  const reread = async () => {
    await other.reload();
    await other.evaluate(() => window.opened);
    await waitFor(other, (seq) => window.app.notes.seq >= seq, target);
    return view(other);
  };
  burst.reloaded = await reread();
  await holder.evaluate(() => window.app.db.store.compact(window.app.notes.id));
  burst.compacted = await reread();
  say('burst', burst);

  // The holder follows another tab's query while that tab holds it: until it closes it, or
  // until its lease runs out when it crashes.
  const following = (where, yes) => waitFor(holder, ([w, y]) => window.app.following().includes(w) === y, [where, yes]);
  const leases = {};
  await other.evaluate(() => window.app.open('doc.extra == true').then(() => true));
  await following('doc.extra == true', true);
  leases.opened = await holder.evaluate(() => window.app.following());
  await other.evaluate(() => window.app.close('doc.extra == true'));
  await following('doc.extra == true', false);
  leases.closed = await holder.evaluate(() => window.app.following());
  await other.evaluate(() => window.app.open('doc.extra == false').then(() => true));
  await following('doc.extra == false', true);
  const cdp = await context.newCDPSession(other);
  void cdp.send('Page.crash').catch(() => undefined); // no answer: the page is gone, no 'bye' said
  await following('doc.extra == false', false);
  leases.crashed = await holder.evaluate(() => window.app.following());
  say('leases', leases);

  // A replica written by the SDK before the database's version 3 (a query's documents in
  // 64 bucket records plus object log records) opens as it was, offline, with its outbox.
  const legacy = await holder.evaluate(async (collection) => {
    const name = `levelstream:http://127.0.0.1:9:legacy`; // a port nothing listens on: offline
    const q = `${collection}\u0000`;
    await new Promise((resolve, reject) => {
      const request = indexedDB.open(name, 2);
      request.onupgradeneeded = () => {
        const db = request.result;
        db.createObjectStore('queries', { keyPath: 'id' }).put({ id: q, collection, where: null, seq: 41, epoch: 'e1' });
        const docs = db.createObjectStore('docs', { keyPath: ['q', 'b'] });
        docs.put({ q, b: 3, docs: { old1: { key: 'old1', value: { text: 'one' }, rev: 1 }, old2: { key: 'old2', value: { text: 'two' }, rev: 2 } } });
        docs.put({ q, b: 9, docs: { old3: { key: 'old3', value: { text: 'three' }, rev: 3 } } });
        db.createObjectStore('outbox', { keyPath: 'id', autoIncrement: true }).put({
          idempotencyKey: 'k1', ops: [{ op: 'put', collection, key: 'queued', value: { text: 'queued' }, base: null }], createdAt: 1, ackSeq: null,
        });
        db.createObjectStore('conflicts', { keyPath: 'id', autoIncrement: true });
        const log = db.createObjectStore('log', { keyPath: ['q', 'seq'] });
        log.put({ q, seq: 40, puts: [{ key: 'old2', value: { text: 'two, edited' }, rev: 5 }], removed: ['old3'] });
        log.put({ q, seq: 41, puts: [{ key: 'old4', value: { text: 'four' }, rev: 6 }], removed: [] });
      };
      request.onsuccess = () => resolve(request.result.close());
      request.onerror = () => reject(request.error);
    });
    const db = await Levelstream.openDb({ baseUrl: 'http://127.0.0.1:9', token: 'any', principal: 'legacy', retryMs: 60_000 });
    const live = await db.collection(collection).live();
    const result = {
      seq: live.seq,
      view: Object.fromEntries(live.docs().map((d) => [d.key, { value: d.value, pending: d.pending }])),
      pending: db.status.pending,
    };
    await db.close();
    return result;
  }, collection);
  say('legacy', legacy);
} catch (error) {
  say('error', { error: String(error), logs: logs.slice(-30) });
  process.exitCode = 1;
} finally {
  await browser.close();
}
