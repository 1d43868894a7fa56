// The offline replica under Node against a real server (tests/test_sdk_js_offline.py passes
// LEVELSTREAM_URL and an admin LEVELSTREAM_TOKEN): a live query's local copy, optimistic
// writes flagged pending until every live query has applied their seq (a filtered query
// that hears nothing of one is caught up through the change log), conflicts to the handler or kept
// (server wins), refusals kept, and a file store that resumes from its seq after a restart.
// Run: node --experimental-websocket --test test/offline.test.mjs
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { EventSource } from 'eventsource';
import { connect, getChanges, getDocument, MemoryStore, openDb, putDocument } from '../dist/index.js';

const baseUrl = process.env.LEVELSTREAM_URL;
const token = process.env.LEVELSTREAM_TOKEN;
const api = connect({ baseUrl, token });
/**
 * A directory through which the runner stops and starts the server (tests/test_sdk_js_offline.py
 * runs the tests that need it with a server of their own): `<dir>/stop` asks, `<dir>/stop.done`
 * answers.
 */
const control = process.env.LEVELSTREAM_SERVER_CONTROL;
const needsControl = control === undefined ? 'needs LEVELSTREAM_SERVER_CONTROL (a server the runner can stop)' : false;

async function until(what, predicate, ms = 15_000) {
  const deadline = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * A network the test can cut: fetch fails, WebSockets close (and cannot open) and event
 * streams break while cut. The WebSockets alone can be restored first (`restoreSockets`);
 * `refused` counts the requests it failed.
 */
function network() {
  const sockets = new Set();
  const streams = new Set(); // the controllers of open event-stream bodies
  const net = { online: true, socketsOnline: true, refused: 0 };
  net.fetch = async (url, init) => {
    if (!net.online) {
      net.refused += 1;
      throw new TypeError('fetch failed');
    }
    const response = await fetch(url, init);
    if (!(response.headers.get('content-type') ?? '').startsWith('text/event-stream')) return response;
    // An event stream: passed through a body the cut can break, as a dropped connection would.
    let controller;
    const body = response.body.pipeThrough(new TransformStream({ start: (c) => void (controller = c) }));
    streams.add(controller);
    return new Response(body, { status: response.status, headers: response.headers });
  };
  net.WebSocket = class extends WebSocket {
    constructor(url) {
      if (!net.socketsOnline) throw new Error('offline');
      super(url);
      sockets.add(this);
    }
  };
  net.EventSource = class extends EventSource {
    constructor(url) {
      super(url, { fetch: net.fetch });
    }
  };
  net.cut = () => {
    net.online = false;
    net.socketsOnline = false;
    for (const socket of sockets) socket.close();
    sockets.clear();
    for (const stream of streams) stream.error(new TypeError('network cut'));
    streams.clear();
  };
  net.restoreSockets = () => (net.socketsOnline = true);
  net.restore = () => {
    net.online = true;
    net.socketsOnline = true;
  };
  net.options = { fetch: net.fetch, realtime: { WebSocket: net.WebSocket, transport: 'websocket' }, retryMs: 100 };
  return net;
}

/** Ask the runner to stop or start the server, and wait until it did. */
async function serverAction(action) {
  writeFileSync(join(control, action), '');
  await until(`the server to ${action}`, () => existsSync(join(control, `${action}.done`)), 60_000);
  rmSync(join(control, `${action}.done`));
}

const values = (live) => Object.fromEntries(live.docs().map((d) => [d.key, d.value]));

async function serverChanges(collection) {
  const { data } = await getChanges({ client: api, query: { collection, since: 0, limit: 1000 } });
  return data.changes;
}

test('a live query replicates, shows writes at once as pending, and clears them when they come back', async () => {
  const c = `off${randomUUID().slice(0, 8)}`;
  await putDocument({ client: api, path: { collection: c, key: 'a' }, body: { open: true, n: 1 } });
  await putDocument({ client: api, path: { collection: c, key: 'z' }, body: { open: false, n: 2 } });
  const db = await openDb({ baseUrl, token, storage: 'memory' });
  try {
    const live = await db.collection(c).where('doc.open').live();
    await until('the snapshot', () => live.seq !== null && live.size === 1);
    assert.deepEqual(values(live), { a: { open: true, n: 1 } });

    const write = db.collection(c).put('b', { open: true, n: 3 });
    assert.deepEqual(live.get('b'), { key: 'b', value: { open: true, n: 3 }, rev: null, pending: true }); // at once
    await write;
    await db.collection(c).patch('a', { n: 10 });
    assert.equal(live.get('a').pending, true);
    await db.collection(c).put('hidden', { open: false }); // does not match: not in the view
    assert.equal(live.get('hidden'), undefined);
    await until('the writes acknowledged and seen back', () => db.status.pending === 0);
    assert.deepEqual(values(live), { a: { open: true, n: 10 }, b: { open: true, n: 3 } });
    assert.ok(live.docs().every((d) => !d.pending && typeof d.rev === 'number'));
    assert.equal(db.status.state, 'online');
    // A server write arrives (enter), and one that stops matching leaves.
    await putDocument({ client: api, path: { collection: c, key: 'z' }, body: { open: true, n: 2 } });
    await putDocument({ client: api, path: { collection: c, key: 'a' }, body: { open: false } });
    await until('enter and leave', () => live.get('z') !== undefined && live.get('a') === undefined);
    const keys = (await serverChanges(c)).map((ch) => ch.key);
    assert.deepEqual(keys, ['a', 'z', 'b', 'a', 'hidden', 'z', 'a']); // each write once
  } finally {
    await db.close();
  }
});

test('writes of one turn are stored together before any is sent; a write the store refuses is not queued', async () => {
  const c = `save${randomUUID().slice(0, 8)}`;
  class Refusing extends MemoryStore {
    refuse = false;
    saves = [];
    async addOutbox(entries) {
      if (this.refuse) throw new Error('quota exceeded');
      this.saves.push(entries.map((e) => e.ops[0].key));
      return super.addOutbox(entries);
    }
  }
  const store = new Refusing();
  const db = await openDb({ baseUrl, token, storage: store });
  try {
    const live = await db.collection(c).live();
    await until('the snapshot', () => live.seq !== null);
    await Promise.all([db.collection(c).put('a', { n: 1 }), db.collection(c).put('b', { n: 2 })]);
    assert.deepEqual(store.saves, [['a', 'b']]); // one store transaction for both
    store.refuse = true;
    const refused = db.collection(c).put('lost', { n: 3 });
    assert.equal(live.get('lost').pending, true); // shown at once, as every write
    await assert.rejects(refused, /quota exceeded/);
    assert.equal(live.get('lost'), undefined); // never queued: gone from the view
    store.refuse = false;
    await db.collection(c).put('after', { n: 4 }); // the outbox goes on
    await until('the writes acknowledged and seen back', () => db.status.pending === 0);
    assert.deepEqual((await serverChanges(c)).map((ch) => ch.key), ['a', 'b', 'after']);
    assert.deepEqual(values(live), { a: { n: 1 }, b: { n: 2 }, after: { n: 4 } });
  } finally {
    await db.close();
  }
});

test('a write one of two filtered queries never hears of stops being pending, and that query is caught up', async () => {
  const c = `two${randomUUID().slice(0, 8)}`;
  const db = await openDb({ baseUrl, token, storage: 'memory' });
  try {
    const open = await db.collection(c).where('doc.open').live();
    const closed = await db.collection(c).where('!doc.open').live();
    await until('both snapshots', () => open.seq !== null && closed.seq !== null);
    await until('online', () => db.status.state === 'online');
    await db.collection(c).put('a', { open: true }); // only `open` hears of it
    await until('the write seen by every query', () => db.status.pending === 0);
    assert.equal(db.status.state, 'online');
    assert.deepEqual(open.get('a').value, { open: true });
    assert.equal(open.get('a').pending, false);
    assert.equal(closed.get('a'), undefined);
    assert.ok(closed.seq >= open.get('a').rev); // the query that heard nothing was caught up to it
    // And the other way round, with a patch that moves a document from one view to the other.
    await db.collection(c).patch('a', { open: false });
    await until('the move seen', () => db.status.pending === 0 && closed.get('a')?.pending === false);
    assert.equal(open.get('a'), undefined);
    assert.equal(db.status.state, 'online');
  } finally {
    await db.close();
  }
});

test('a batch write a filtered query does not hear stops being pending (its rev is not the batch seq)', async () => {
  const x = `revx${randomUUID().slice(0, 8)}`;
  const y = `revy${randomUUID().slice(0, 8)}`;
  const db = await openDb({ baseUrl, token, storage: 'memory' });
  try {
    const { data: page } = await getChanges({ client: api, query: { collection: x, since: 0, limit: 1 } });
    // The batch below puts x/a at head+1 and y/b at head+2 (the batch's seq): this query
    // wants x's documents from rev head+2 on, so it hears nothing of x/a.
    const late = await db.collection(x).where(`rev >= ${page.head_seq + 2}`).live();
    const all = await db.collection(y).live();
    await until('both snapshots', () => late.seq !== null && all.seq !== null);
    await db.batch([
      { op: 'put', collection: x, key: 'a', value: { n: 1 } },
      { op: 'put', collection: y, key: 'b', value: { n: 2 } },
    ]);
    await until('the batch seen', () => db.status.pending === 0 && all.get('b')?.pending === false);
    assert.equal(late.get('a'), undefined);
    assert.equal(db.status.state, 'online');
  } finally {
    await db.close();
  }
});

test('a conflict goes to the handler (merge), and without one the server wins and it is kept', async () => {
  const c = `conf${randomUUID().slice(0, 8)}`;
  await putDocument({ client: api, path: { collection: c, key: 'k' }, body: { text: 'base', tags: ['x'] } });
  const seen = [];
  const net = network();
  const db = await openDb({
    baseUrl,
    token,
    storage: 'memory',
    ...net.options,
    onConflict: ({ op, server }) => {
      seen.push({ intent: op.value, server: server.value });
      return { merged: { text: `${server.value.text} + ${op.value.text}`, tags: server.value.tags } };
    },
  });
  const plain = await openDb({ baseUrl, token, storage: 'memory', principal: 'another-replica', ...net.options });
  try {
    const live = await db.collection(c).live();
    const other = await plain.collection(c).live();
    await until('both snapshots', () => live.size === 1 && other.size === 1);
    // Offline, both edit the rev of 'base' while someone else writes on the server.
    net.cut();
    await until('offline', () => db.status.state === 'offline' && plain.status.state === 'offline');
    await putDocument({ client: api, path: { collection: c, key: 'k' }, body: { text: 'theirs', tags: ['y'] } });
    await db.collection(c).put('k', { text: 'mine', tags: ['x'] });
    await plain.collection(c).put('k', { text: 'lost?' });
    assert.deepEqual(other.get('k').value, { text: 'lost?' }); // optimistic
    net.restore();
    await until('both settled', () => db.status.pending === 0 && plain.status.pending === 0);
    assert.deepEqual(seen, [{ intent: { text: 'mine', tags: ['x'] }, server: { text: 'theirs', tags: ['y'] } }]);
    const { data } = await getDocument({ client: api, path: { collection: c, key: 'k' } });
    assert.deepEqual(data.value, { text: 'theirs + mine', tags: ['y'] });
    await until('the merge replicated', () => JSON.stringify(other.get('k')?.value) === JSON.stringify(data.value));
    assert.equal(plain.conflicts.length, 1); // server wins, the intent kept
    assert.equal(plain.conflicts[0].code, 'precondition_failed');
    assert.deepEqual(plain.conflicts[0].intent[0].value, { text: 'lost?' });
    assert.equal(db.conflicts.length, 0);
  } finally {
    await db.close();
    await plain.close();
  }
});

test('a file store resumes from its seq after a restart, with queued writes sent once', async () => {
  const c = `file${randomUUID().slice(0, 8)}`;
  const file = join(mkdtempSync(join(tmpdir(), 'ls-offline-')), 'replica.json');
  await putDocument({ client: api, path: { collection: c, key: 'a' }, body: { n: 1 } });
  let db = await openDb({ baseUrl, token, storage: { file } });
  let live = await db.collection(c).live();
  await until('the snapshot', () => live.size === 1);
  const seqBefore = live.seq;
  await db.close();
  // While the app is down: the server changes, and nothing is lost when it comes back.
  await putDocument({ client: api, path: { collection: c, key: 'b' }, body: { n: 2 } });
  // Offline: a fetch that cannot reach the server, and no WebSocket.
  const offline = async () => {
    throw new TypeError('fetch failed');
  };
  db = await openDb({ baseUrl, token, storage: { file }, fetch: offline, realtime: { WebSocket: class { constructor() { throw new Error('offline'); } } } });
  live = await db.collection(c).live();
  assert.equal(live.seq, seqBefore); // from the file, at once
  assert.deepEqual(values(live), { a: { n: 1 } });
  await db.collection(c).put('q', { queued: true });
  assert.equal(db.status.state, 'offline');
  assert.equal(db.status.pending, 1);
  await db.close();
  db = await openDb({ baseUrl, token, storage: { file } });
  live = await db.collection(c).live();
  assert.equal(live.get('q').pending, true); // survived the restart
  await until('resumed and sent', () => db.status.pending === 0 && live.size === 3);
  assert.deepEqual(values(live), { a: { n: 1 }, b: { n: 2 }, q: { queued: true } });
  await db.close();
  const puts = (await serverChanges(c)).filter((ch) => ch.key === 'q');
  assert.equal(puts.length, 1);
});

test('behind a proxy that refuses WebSockets the status follows the SSE fallback: online, offline while cut, online again', async () => {
  const c = `sse${randomUUID().slice(0, 8)}`;
  await putDocument({ client: api, path: { collection: c, key: 'a' }, body: { n: 1 } });
  const net = network();
  const refused = class {
    constructor() {
      throw new Error('WebSocket refused by the proxy');
    }
  };
  const db = await openDb({
    baseUrl,
    token,
    storage: 'memory',
    fetch: net.fetch,
    retryMs: 100,
    realtime: { WebSocket: refused, EventSource: net.EventSource, fetch: net.fetch, backoffMaxMs: 200 },
  });
  const states = [];
  db.onStatus((status) => states.push(status.state));
  try {
    const live = await db.collection(c).live();
    await until('the snapshot', () => live.size === 1);
    await until('online over SSE', () => db.status.state === 'online');
    assert.equal(db.rt.transport, 'sse'); // fell back: the WebSocket never opened
    net.cut();
    await until('offline', () => db.status.state === 'offline');
    await db.collection(c).put('b', { n: 2 });
    assert.deepEqual([db.status.state, db.status.pending], ['offline', 1]);
    net.restore();
    await until('sent and seen back', () => db.status.pending === 0 && live.get('b')?.pending === false);
    await until('online again', () => db.status.state === 'online');
    assert.equal(states.at(-1), 'online'); // and the listeners were told
    assert.deepEqual(values(live), { a: { n: 1 }, b: { n: 2 } });
  } finally {
    await db.close();
  }
});

test('a send that fails just after the WebSocket reconnected does not leave the status offline', async () => {
  const c = `flap${randomUUID().slice(0, 8)}`;
  const net = network();
  const db = await openDb({ baseUrl, token, storage: 'memory', ...net.options });
  try {
    const live = await db.collection(c).live();
    await until('online', () => live.seq !== null && db.status.state === 'online');
    net.cut();
    await until('offline', () => db.status.state === 'offline');
    await db.collection(c).put('a', { n: 1 });
    // The WebSocket comes back first; the writes' requests still fail for a while.
    net.restoreSockets();
    await until('reconnected', () => db.rt.isConnected);
    const refusedBefore = net.refused;
    await until('a send failed after the reconnect', () => net.refused > refusedBefore);
    assert.deepEqual([db.status.state, db.status.pending], ['offline', 1]); // backing off: not reaching the server
    net.restore();
    await until('sent and seen back', () => db.status.pending === 0 && live.get('a')?.pending === false);
    await until('online once a send went through', () => db.status.state === 'online', 5000);
  } finally {
    await db.close();
  }
});

test('one of the writes the server did not take is dismissed; the others stay, also after a restart', async () => {
  const c = `dis${randomUUID().slice(0, 8)}`;
  const file = join(mkdtempSync(join(tmpdir(), 'ls-conflicts-')), 'replica.json');
  let db = await openDb({ baseUrl, token, storage: { file } });
  try {
    const live = await db.collection(c).live();
    await until('the snapshot', () => live.seq !== null);
    // Patches of documents the server does not have: refused (404), each kept in conflicts.
    await db.collection(c).patch('gone-1', { n: 1 });
    await db.collection(c).patch('gone-2', { n: 2 });
    await db.collection(c).patch('gone-3', { n: 3 });
    await until('three not taken', () => db.conflicts.length === 3 && db.status.pending === 0);
    const keys = () => db.conflicts.map((conflict) => conflict.intent[0].key);
    assert.deepEqual(keys(), ['gone-1', 'gone-2', 'gone-3']);
    assert.equal(new Set(db.conflicts.map((conflict) => conflict.id)).size, 3);
    await db.dismissConflict(db.conflicts[1]);
    assert.deepEqual(keys(), ['gone-1', 'gone-3']);
    await db.dismissConflict(db.conflicts[0].id); // by id too
    assert.deepEqual(keys(), ['gone-3']);
    await db.close();
    db = await openDb({ baseUrl, token, storage: { file } });
    assert.deepEqual(keys(), ['gone-3']); // dismissed in the store, not only in memory
    // onConflicts: called now with the list, then at each change; the unsubscribe stops it.
    const heard = [];
    const off = db.onConflicts((list) => heard.push(list.map((conflict) => conflict.intent[0].key)));
    assert.deepEqual(heard, [['gone-3']]);
    await db.collection(c).patch('gone-4', { n: 4 }); // refused: a new one
    await until('the new one announced', () => heard.length === 2);
    assert.deepEqual(heard[1], ['gone-3', 'gone-4']);
    await db.dismissConflict(db.conflicts[0]);
    assert.deepEqual(heard[2], ['gone-4']);
    await db.clearConflicts();
    assert.deepEqual(heard, [['gone-3'], ['gone-3', 'gone-4'], ['gone-4'], []]);
    off();
    await db.collection(c).patch('gone-5', { n: 5 });
    await until('refused and kept', () => db.conflicts.length === 1 && db.status.pending === 0);
    assert.equal(heard.length, 4); // unsubscribed: not told
  } finally {
    await db.close();
  }
});

test('with no live query open the status says whether the server answers: online, offline while it is stopped, online again', { skip: needsControl }, async () => {
  const c = `noq${randomUUID().slice(0, 8)}`;
  const db = await openDb({ baseUrl, token, storage: 'memory', retryMs: 100 });
  try {
    await until('online without a query', () => db.status.state === 'online');
    await serverAction('stop');
    await until('offline while the server is stopped', () => db.status.state === 'offline');
    await db.collection(c).put('a', { n: 1 }); // queued: an app that only writes
    assert.deepEqual([db.status.state, db.status.pending], ['offline', 1]);
    await serverAction('start');
    await until('online again, the write sent', () => db.status.state === 'online' && db.status.pending === 0);
    const { data } = await getDocument({ client: api, path: { collection: c, key: 'a' } });
    assert.deepEqual(data.value, { n: 1 });
  } finally {
    await db.close();
  }
});

test('with no live query open on Server-Sent Events the status follows the server too (asked while no stream is open)', async () => {
  const net = network();
  const realtime = { EventSource: net.EventSource, transport: 'sse', backoffMaxMs: 200 };
  const db = await openDb({ baseUrl, token, storage: 'memory', ...net.options, realtime });
  try {
    await until('online without a query', () => db.status.state === 'online');
    net.cut();
    await until('offline while cut', () => db.status.state === 'offline');
    net.restore();
    await until('online again', () => db.status.state === 'online');
    // A query opened and closed again: its stream was the link meanwhile, then the checks resume.
    const live = await db.collection(`sse${randomUUID().slice(0, 8)}`).live();
    await until('the snapshot', () => live.seq !== null && db.status.state === 'online');
    live.close();
    net.cut();
    await until('offline while cut, the query closed', () => db.status.state === 'offline');
  } finally {
    await db.close();
  }
});
