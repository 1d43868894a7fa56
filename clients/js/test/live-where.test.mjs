// Filtered live queries through the JS SDK against a real server (tests/test_sdk_js_where.py
// passes LEVELSTREAM_URL and an admin LEVELSTREAM_TOKEN): `where` on WebSocket and
// EventSource subscriptions and on change polling, the typed enter/update/leave events, the
// notes app of docs/rules.md with two users' JWTs, and a rule change ending a
// subscription with `RulesChangedError` (reason rules_changed), distinct from history_compacted.
// Run: node --experimental-websocket --test test/live-where.test.mjs
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { EventSource } from 'eventsource';
import {
  admin,
  connect,
  createKey,
  HistoryCompactedError,
  pollChanges,
  putDocument,
  patchDocument,
  RealtimeClient,
  RulesChangedError,
} from '../dist/index.js';

const baseUrl = process.env.LEVELSTREAM_URL;
const api = connect({ baseUrl, token: process.env.LEVELSTREAM_TOKEN });
const NOTES_RULE = {
  read: 'doc.public || doc.owner == auth.sub',
  create: 'new.owner == auth.sub',
  update: 'doc.owner == auth.sub && new.owner == doc.owner',
  delete: 'doc.owner == auth.sub',
};

/** The next change of `sub`, or fail after `ms`. */
async function next(sub, ms = 10_000) {
  let timer;
  const timeout = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('no change in time')), ms)));
  try {
    const { value, done } = await Promise.race([sub.next(), timeout]);
    assert.equal(done, false);
    return value;
  } finally {
    clearTimeout(timer);
  }
}

const brief = (c) => ({ op: c.op, key: c.key, match: c.match, value: c.value, snapshot: c.snapshot });

async function notesApp() {
  const c = `notes${randomUUID().slice(0, 8)}`;
  await admin.putRule(api, c, NOTES_RULE);
  const { data: appKey } = await createKey({
    client: api,
    body: { name: 'notes-app', permissions: ['read', 'write', 'delete'], collections: [c] },
  });
  const app = connect({ baseUrl, token: appKey.token });
  const tokens = {};
  for (const user of ['alice', 'bob']) {
    tokens[user] = (await admin.mintToken(app, user, { ttl_s: 600 })).token;
  }
  return { c, tokens, alice: connect({ baseUrl, token: tokens.alice }), bob: connect({ baseUrl, token: tokens.bob }) };
}

for (const transport of ['websocket', 'sse']) {
  test(`notes: Bob sees Alice's note enter and leave as it becomes public and private (${transport})`, async () => {
    const { c, tokens, alice } = await notesApp();
    await putDocument({ client: alice, path: { collection: c, key: 'hidden' }, body: { owner: 'alice', public: false, t: 0 } });
    await putDocument({ client: api, path: { collection: c, key: 'welcome' }, body: { owner: 'admin', public: true } });
    const rt = new RealtimeClient({ baseUrl, token: tokens.bob, transport, EventSource });
    try {
      // Bob's own `where` on top of the read rule: only notes with a title.
      const sub = await rt.subscribe({ collection: c, where: 'has(doc.title)', snapshot: true });
      const put = (value) => putDocument({ client: alice, path: { collection: c, key: 'n1' }, body: value });
      await put({ owner: 'alice', public: false, title: 'draft' }); // hidden from Bob: nothing
      await put({ owner: 'alice', public: true, title: 'shared' }); // enter
      await put({ owner: 'alice', public: true, title: 'shared, edited' }); // update
      await put({ owner: 'alice', public: true }); // no title: leaves Bob's where
      await put({ owner: 'alice', public: true, title: 'back' }); // enter again
      await patchDocument({ client: alice, path: { collection: c, key: 'n1' }, body: { public: false } }); // leave
      const seen = [];
      for (let i = 0; i < 5; i++) seen.push(brief(await next(sub)));
      assert.deepEqual(seen, [
        { op: 'put', key: 'n1', match: 'enter', value: { owner: 'alice', public: true, title: 'shared' }, snapshot: undefined },
        { op: 'put', key: 'n1', match: 'update', value: { owner: 'alice', public: true, title: 'shared, edited' }, snapshot: undefined },
        { op: 'leave', key: 'n1', match: undefined, value: null, snapshot: undefined },
        { op: 'put', key: 'n1', match: 'enter', value: { owner: 'alice', public: true, title: 'back' }, snapshot: undefined },
        { op: 'leave', key: 'n1', match: undefined, value: null, snapshot: undefined },
      ]);
      sub.close();
    } finally {
      await rt.close();
    }
  });

  test(`a rule change ends a filtered subscription with RulesChangedError (${transport})`, async () => {
    const { c, tokens, alice } = await notesApp();
    await putDocument({ client: alice, path: { collection: c, key: 'a1' }, body: { owner: 'alice', public: true } });
    const rt = new RealtimeClient({ baseUrl, token: tokens.bob, transport, EventSource });
    try {
      const sub = await rt.subscribe({ collection: c, snapshot: true });
      assert.equal((await next(sub)).key, 'a1');
      await admin.putRule(api, c, { ...NOTES_RULE, read: 'doc.owner == auth.sub' });
      await assert.rejects(next(sub), (error) => {
        assert.ok(error instanceof RulesChangedError, String(error));
        assert.ok(error instanceof HistoryCompactedError); // old code re-snapshots as before
        assert.equal(error.reason, 'rules_changed');
        return true;
      });
    } finally {
      await rt.close();
    }
  });
}

test('an unfiltered resume point that is gone is HistoryCompactedError, not RulesChangedError', async () => {
  const rt = new RealtimeClient({ baseUrl, token: process.env.LEVELSTREAM_TOKEN });
  try {
    const c = `gone${randomUUID().slice(0, 8)}`;
    await assert.rejects(
      (async () => next(await rt.subscribe({ collection: c, since: 1, epoch: 'another-database' })))(),
      (error) => error instanceof HistoryCompactedError && !(error instanceof RulesChangedError),
    );
  } finally {
    await rt.close();
  }
});

test('pollChanges with where: the same enter/update/leave events for Bob, resumable', async () => {
  const { c, bob, alice } = await notesApp();
  const start = (await (await fetch(`${baseUrl}/v1/changes?collection=${c}&limit=1`, {
    headers: { Authorization: `Bearer ${process.env.LEVELSTREAM_TOKEN}` },
  })).json()).head_seq;
  const put = (value) => putDocument({ client: alice, path: { collection: c, key: 'p1' }, body: value });
  await put({ owner: 'alice', public: true, n: 1 });
  await put({ owner: 'alice', public: true, n: 2 });
  await put({ owner: 'alice', public: false, n: 3 });
  await put({ owner: 'alice', public: true, n: 4 });
  const events = [];
  for await (const change of pollChanges(bob, { collection: c, where: 'doc.n >= 2', since: start, wait: 1 })) {
    events.push([change.op, change.match ?? null, change.value?.n ?? null]);
    if (events.length === 3) break;
  }
  assert.deepEqual(events, [
    ['put', 'enter', 2],
    ['leave', null, null],
    ['put', 'enter', 4],
  ]);
});
