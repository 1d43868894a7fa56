// The JS SDK against a real server (started by tests/test_sdk_js.py, which passes
// LEVELSTREAM_URL and LEVELSTREAM_TOKEN): generated REST calls with typed errors,
// keys and tokens, and the real-time client over WebSocket and SSE.
// Run: node --experimental-websocket --test test/sdk.test.mjs
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { EventSource } from 'eventsource';
import {
  admin,
  applyBatch,
  ConflictError,
  connect,
  createDocument,
  createKey,
  deleteDocument,
  explain,
  ForbiddenError,
  getChanges,
  getDocument,
  getKey,
  issueTicket,
  listCollections,
  listDocuments,
  listKeys,
  mintToken,
  NotFoundError,
  patchDocument,
  PreconditionFailedError,
  putDocument,
  query,
  queryPages,
  RealtimeClient,
  revokeKey,
  UnauthorizedError,
  ValidationFailedError,
} from '../dist/index.js';

const baseUrl = process.env.LEVELSTREAM_URL;
const token = process.env.LEVELSTREAM_TOKEN;
if (!baseUrl || !token) throw new Error('set LEVELSTREAM_URL and LEVELSTREAM_TOKEN');
const WAIT_MS = 20_000;

const api = connect({ baseUrl, token });
const coll = () => `js_${randomUUID().slice(0, 12)}`;

/** The next `count` items of an async iterator, or a failure after WAIT_MS. */
async function take(iterator, count) {
  const out = [];
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out with ${out.length}/${count}`)), WAIT_MS);
  });
  const run = (async () => {
    while (out.length < count) {
      const { value, done } = await iterator.next();
      if (done) throw new Error('the stream ended');
      out.push(value);
    }
  })();
  try {
    await Promise.race([run, timeout]);
  } finally {
    clearTimeout(timer);
  }
  return out;
}

async function readOnlyKey(collections) {
  const { data } = await createKey({ client: api, body: { name: 'reader', permissions: ['read'], collections } });
  return data.token;
}

/** Every item of an async iterator (bounded by the server's cursors). */
async function all(iterator) {
  const out = [];
  for await (const item of iterator) out.push(item);
  return out;
}

describe('queries, indexes and rules', () => {
  const NOTES_RULE = {
    read: 'doc.public || doc.owner == auth.sub',
    create: 'new.owner == auth.sub',
    update: 'doc.owner == auth.sub && new.owner == doc.owner',
    delete: 'doc.owner == auth.sub || auth.claims.role == "moderator"',
  };

  test('the notes app of docs/rules.md with two users', async () => {
    const c = coll();
    await assert.rejects(
      admin.putRule(api, c, { read: 'doc.public ||', create: 'new.owner == auth.sub' }),
      (err) => err instanceof ValidationFailedError && err.problem.entry === 'read' && err.problem.offset === 13 && err.problem.line === 1,
    );
    await assert.rejects(admin.getRule(api, c), NotFoundError); // nothing was saved
    const saved = await admin.putRule(api, c, NOTES_RULE);
    try {
      assert.equal(saved.glob, c);
      const listed = await admin.listRules(api);
      assert.ok(listed.version >= saved.version);
      assert.deepEqual(listed.items.filter((r) => r.glob === c).map((r) => r.read), [NOTES_RULE.read]);
      assert.equal((await admin.getRule(api, c)).delete, NOTES_RULE.delete);

      const { data: appKey } = await createKey({
        client: api,
        body: { name: 'notes-app', permissions: ['read', 'write', 'delete'], collections: [c] },
      });
      const app = connect({ baseUrl, token: appKey.token });
      const alice = connect({ baseUrl, token: (await admin.mintToken(app, 'alice', { ttl_s: 600 })).token });
      const bob = connect({ baseUrl, token: (await admin.mintToken(app, 'bob', { ttl_s: 600, claims: { team: 'blue' } })).token });
      const mo = connect({ baseUrl, token: (await admin.mintToken(app, 'mo', { ttl_s: 600, claims: { role: 'moderator' } })).token });
      await putDocument({ client: api, path: { collection: c, key: 'welcome' }, body: { public: true, owner: 'admin' } });
      await putDocument({ client: alice, path: { collection: c, key: 'alice-todo' }, body: { owner: 'alice', t: 1 } });
      await putDocument({ client: bob, path: { collection: c, key: 'bob-todo' }, body: { owner: 'bob', t: 2 } });

      assert.deepEqual((await all(query(alice, c))).map((d) => d.key), ['alice-todo', 'welcome']);
      assert.deepEqual((await all(query(bob, c, { limit: 1 }))).map((d) => d.key), ['bob-todo', 'welcome']);
      const mine = await all(query(bob, c, { where: 'doc.owner == "bob"' }));
      assert.deepEqual(mine.map((d) => d.value), [{ owner: 'bob', t: 2 }]);
      await assert.rejects(getDocument({ client: bob, path: { collection: c, key: 'alice-todo' } }), NotFoundError);
      await assert.rejects(
        putDocument({ client: bob, path: { collection: c, key: 'bob-fake' }, body: { owner: 'alice' } }),
        (err) => err instanceof ForbiddenError && err.problem.entry === 'create',
      );
      await assert.rejects(putDocument({ client: bob, path: { collection: c, key: 'bob-todo' }, body: { owner: 'alice' } }), ForbiddenError);
      await assert.rejects(deleteDocument({ client: bob, path: { collection: c, key: 'alice-todo' } }), ForbiddenError);
      const removed = await deleteDocument({ client: mo, path: { collection: c, key: 'alice-todo' } });
      assert.equal(removed.response.status, 204);
      assert.deepEqual((await all(query(api, c))).map((d) => d.key), ['bob-todo', 'welcome']);
    } finally {
      const deleted = await admin.deleteRule(api, c);
      assert.ok(deleted.version > saved.version);
    }
    assert.ok(!(await admin.listRules(api)).items.some((r) => r.glob === c));
  });

  test('where through an index, with build progress and explain', async () => {
    const c = coll();
    const owners = ['u1', 'u2', 'u3'];
    const ops = Array.from({ length: 40 }, (_, i) => ({
      op: 'put',
      collection: c,
      key: `t${String(i).padStart(3, '0')}`,
      value: { owner: owners[i % 3], status: i % 2 ? 'open' : 'done', n: 40 - i },
    }));
    await applyBatch({ client: api, body: { ops } });
    const where = 'doc.owner == "u2" && doc.status == "open"';
    const expected = ops.filter((_, i) => i % 3 === 1 && i % 2 === 1).map((op) => op.key);

    const before = await explain(api, c, { where });
    assert.deepEqual(before, { index: null, scanned: 40, returned: expected.length });
    await assert.rejects(all(query(api, c, { order_by: 'n' })), (err) =>
      err instanceof ValidationFailedError && JSON.stringify(err.problem.needs_index) === '["n"]');
    await assert.rejects(explain(api, c, { where: 'doc.owner ==' }), (err) =>
      err instanceof ValidationFailedError && err.problem.column === 13);

    const seen = [];
    const ready = await admin.ensureIndex(api, c, 'by_owner_status', ['owner', 'status'], { onProgress: (ix) => seen.push(ix) });
    assert.equal(ready.state, 'ready');
    assert.equal(ready.done, 40);
    assert.equal(ready.total, 40);
    assert.equal(seen.at(-1).state, 'ready');
    assert.ok(seen.every((ix) => ix.done >= 0 && ix.done <= ix.total));
    assert.equal((await admin.createIndex(api, c, 'by_owner_status', ['owner', 'status'])).state, 'ready');
    await assert.rejects(admin.createIndex(api, c, 'by_owner_status', ['owner']), ConflictError);
    await admin.ensureIndex(api, c, 'by_n', ['n']);
    assert.deepEqual((await admin.listIndexes(api, c)).map((ix) => ix.name).sort(), ['by_n', 'by_owner_status']);

    const plan = await explain(api, c, { where });
    assert.deepEqual(plan, { index: 'by_owner_status', scanned: expected.length, returned: expected.length });
    assert.deepEqual((await all(query(api, c, { where, limit: 2 }))).map((d) => d.key), expected);
    const pages = await all(queryPages(api, c, { where, limit: 2 }));
    assert.ok(pages.length >= 3);
    assert.equal(pages.at(-1).next_cursor, null);
    const byN = (await all(query(api, c, { order_by: 'n', reverse: true, limit: 7 }))).map((d) => d.value.n);
    assert.deepEqual(byN, Array.from({ length: 40 }, (_, i) => 40 - i));

    await admin.deleteIndex(api, c, 'by_owner_status');
    await assert.rejects(admin.getIndex(api, c, 'by_owner_status'), NotFoundError);
    assert.equal((await explain(api, c, { where })).index, null);
  });
});

describe('REST', () => {
  test('CRUD round trip', async () => {
    const c = coll();
    const created = await putDocument({ client: api, path: { collection: c, key: 'users/42' }, body: { name: 'Ann' } });
    assert.equal(created.response.status, 201);
    assert.equal(created.response.headers.get('etag'), `"${created.data.rev}"`);
    const replaced = await putDocument({ client: api, path: { collection: c, key: 'users/42' }, body: { name: 'Ann', age: 3 } });
    assert.equal(replaced.response.status, 200);
    const { data: got } = await getDocument({ client: api, path: { collection: c, key: 'users/42' } });
    assert.deepEqual(got.value, { name: 'Ann', age: 3 });
    const { data: patched } = await patchDocument({
      client: api,
      path: { collection: c, key: 'users/42' },
      body: { age: null, x: 1 },
    });
    assert.deepEqual(patched.value, { name: 'Ann', x: 1 });
    const posted = await createDocument({ client: api, path: { collection: c }, body: ['any', 'json'] });
    assert.equal(posted.response.status, 201);
    const removed = await deleteDocument({ client: api, path: { collection: c, key: 'users/42' } });
    assert.equal(removed.response.status, 204);
    await assert.rejects(getDocument({ client: api, path: { collection: c, key: 'users/42' } }), NotFoundError);
    const { data: names } = await listCollections({ client: api });
    assert.equal(names.items.find((n) => n.name === c).count, 1);
  });

  test('range reads follow next_cursor', async () => {
    const c = coll();
    const keys = Array.from({ length: 25 }, (_, i) => `k${String(i).padStart(3, '0')}`);
    await applyBatch({
      client: api,
      body: { ops: [...keys, 'other'].map((key) => ({ op: 'put', collection: c, key, value: key })) },
    });
    const seen = [];
    let cursor;
    for (let page = 0; page < 10; page++) {
      const { data } = await listDocuments({ client: api, path: { collection: c }, query: { prefix: 'k', limit: 10, cursor } });
      seen.push(...data.items.map((item) => item.key));
      cursor = data.next_cursor ?? undefined;
      if (cursor === undefined) break;
    }
    assert.deepEqual(seen, keys);
    const { data: back } = await listDocuments({
      client: api,
      path: { collection: c },
      query: { gte: 'k010', lt: 'k013', reverse: true },
    });
    assert.deepEqual(back.items.map((item) => item.key), ['k012', 'k011', 'k010']);
  });

  test('batch is all or nothing', async () => {
    const c = coll();
    const { data: first } = await putDocument({ client: api, path: { collection: c, key: 'a' }, body: { n: 1 } });
    const { data: ok } = await applyBatch({
      client: api,
      body: {
        ops: [
          { op: 'put', collection: c, key: 'b', value: { n: 2 } },
          { op: 'delete', collection: c, key: 'b' },
        ],
      },
    });
    assert.equal(ok.results.length, 2);
    assert.equal(ok.seq, first.rev + 2);
    const refused = await applyBatch({
      client: api,
      body: {
        ops: [
          { op: 'put', collection: c, key: 'c', value: 1 },
          { op: 'put', collection: c, key: 'a', value: 2, if_rev: first.rev - 1 },
        ],
      },
    }).catch((error) => error);
    assert.ok(refused instanceof PreconditionFailedError);
    assert.equal(refused.problem.op_index, 1);
    await assert.rejects(getDocument({ client: api, path: { collection: c, key: 'c' } }), NotFoundError);
  });

  test('conditional writes give 412 instead of overwriting', async () => {
    const c = coll();
    const { data: doc } = await putDocument({ client: api, path: { collection: c, key: 't-1' }, body: { s: 'open' } });
    const etag = `"${doc.rev}"`;
    const { data: mine } = await putDocument({
      client: api,
      path: { collection: c, key: 't-1' },
      body: { s: 'mine' },
      headers: { 'if-match': etag },
    });
    const late = await patchDocument({
      client: api,
      path: { collection: c, key: 't-1' },
      body: { s: 'theirs' },
      headers: { 'if-match': etag },
    }).catch((error) => error);
    assert.ok(late instanceof PreconditionFailedError, String(late));
    assert.equal(late.currentRev, mine.rev);
    assert.equal(late.status, 412);
    await assert.rejects(
      putDocument({ client: api, path: { collection: c, key: 't-1' }, body: {}, headers: { 'if-none-match': '*' } }),
      PreconditionFailedError,
    );
  });

  test('errors are typed', async () => {
    const c = coll();
    await assert.rejects(
      putDocument({ client: api, path: { collection: 'no spaces', key: 'k' }, body: 1 }),
      ValidationFailedError,
    );
    const stranger = connect({ baseUrl, token: 'lsk_0000000000000000_wrong' });
    await assert.rejects(getDocument({ client: stranger, path: { collection: c, key: 'k' } }), UnauthorizedError);
    const reader = connect({ baseUrl, token: await readOnlyKey([c]) });
    await assert.rejects(putDocument({ client: reader, path: { collection: c, key: 'k' }, body: 1 }), ForbiddenError);
    const plain = connect({ baseUrl, token, throwOnError: false });
    const { error, response } = await getDocument({ client: plain, path: { collection: c, key: 'missing' } });
    assert.equal(response.status, 404);
    assert.ok(error instanceof NotFoundError);
  });

  test('keys, tokens and tickets', async () => {
    const c = coll();
    await putDocument({ client: api, path: { collection: c, key: 'doc' }, body: { v: 1 } });
    const { data: key } = await createKey({
      client: api,
      body: { name: 'desk', permissions: ['read', 'write'], collections: [c] },
    });
    const { data: listed } = await listKeys({ client: api });
    assert.ok(listed.items.some((k) => k.id === key.id));
    assert.equal((await getKey({ client: api, path: { key_id: key.id } })).data.name, 'desk');
    const desk = connect({ baseUrl, token: key.token });
    const { data: jwt } = await mintToken({ client: desk, body: { sub: 'agent-ann', ttl_s: 60 } });
    const { data: ticket } = await issueTicket({ client: desk });
    assert.ok(ticket.ticket.length > 10);
    await assert.rejects(mintToken({ client: desk, body: { sub: 'x', permissions: ['admin'] } }), ForbiddenError);
    const agent = connect({ baseUrl, token: () => jwt.token });
    assert.deepEqual((await getDocument({ client: agent, path: { collection: c, key: 'doc' } })).data.value, { v: 1 });
    assert.equal((await revokeKey({ client: api, path: { key_id: key.id } })).response.status, 204);
    await assert.rejects(getDocument({ client: desk, path: { collection: c, key: 'doc' } }), UnauthorizedError);
  });

  test('long-poll changes', async () => {
    const c = coll();
    const { data: first } = await putDocument({ client: api, path: { collection: c, key: 'x' }, body: 1 });
    const { data: page } = await getChanges({ client: api, query: { collection: c, since: first.rev - 1 } });
    assert.deepEqual(page.changes.map((change) => change.key), ['x']);
    assert.equal(page.last_seq, first.rev);
  });
});

describe('real time', () => {
  let rt;
  before(() => {
    rt = new RealtimeClient({ baseUrl, token });
  });
  after(async () => {
    await rt.close();
  });

  test('snapshot, then live changes, over WebSocket', async () => {
    const c = coll();
    await putDocument({ client: api, path: { collection: c, key: 't-1' }, body: { title: 'Printer' } });
    await putDocument({ client: api, path: { collection: c, key: 'x-1' }, body: 0 });
    const sub = await rt.subscribe({ collection: c, prefix: 't-', snapshot: true });
    const snapshot = await take(sub, 1);
    assert.deepEqual(snapshot.map((ch) => [ch.key, ch.snapshot]), [['t-1', true]]);
    await deleteDocument({ client: api, path: { collection: c, key: 't-1' } });
    await putDocument({ client: api, path: { collection: c, key: 'x-2' }, body: 0 });
    await putDocument({ client: api, path: { collection: c, key: 't-2' }, body: { title: 'Fax' } });
    const live = await take(sub, 2);
    assert.deepEqual(live.map((ch) => [ch.op, ch.key]), [['delete', 't-1'], ['put', 't-2']]);
    assert.equal(sub.lastSeq, live[1].seq);
    sub.close();
  });

  for (const transport of ['websocket', 'sse']) {
    test(`subscribe, then write, then iterate gets the write (${transport})`, async () => {
      // subscribe() resolves once the server has the subscription: the natural order works.
      const c = coll();
      const channel = `ch-${c}`;
      const client = new RealtimeClient({ baseUrl, token, transport, EventSource });
      try {
        const sub = await client.subscribe({ collection: c });
        const inbox = await client.channel(channel);
        await putDocument({ client: api, path: { collection: c, key: 'after-subscribe' }, body: 1 });
        assert.equal(await client.publish(channel, { after: 'channel()' }), 1);
        const [change] = await take(sub, 1);
        assert.deepEqual([change.op, change.key, change.value], ['put', 'after-subscribe', 1]);
        const [message] = await take(inbox, 1);
        assert.deepEqual([message.type, message.data], ['message', { after: 'channel()' }]);
      } finally {
        await client.close();
      }
    });
  }

  test('ops, channels and presence', async () => {
    const c = coll();
    const channel = `ch-${c}`;
    const bob = new RealtimeClient({ baseUrl, token });
    try {
      const written = (await rt.request('put', { collection: c, key: 'k', value: { v: 1 } })).result;
      assert.equal((await bob.request('get', { collection: c, key: 'k' })).result.rev, written.rev);
      await assert.rejects(
        bob.request('put', { collection: c, key: 'k', value: 2, if_rev: written.rev - 1 }),
        PreconditionFailedError,
      );
      const inbox = await bob.channel(channel);
      const clientId = await rt.join(channel, { name: 'Ann' });
      assert.equal(await rt.publish(channel, { typing: true }), 1);
      const [joined, message] = await take(inbox, 2);
      assert.deepEqual([joined.type, joined.action, joined.client_id], ['presence', 'join', clientId]);
      assert.deepEqual([message.type, message.data], ['message', { typing: true }]);
      assert.deepEqual((await bob.presence(channel)).map((m) => [m.client_id, m.state]), [[clientId, { name: 'Ann' }]]);
      await rt.leave(channel);
      const [left] = await take(inbox, 1);
      assert.equal(left.action, 'leave');
    } finally {
      await bob.close();
    }
  });

  test('token refresh keeps one socket across expiring JWTs', async () => {
    const c = coll();
    let minted = 0;
    const tokenProvider = async () => {
      minted += 1;
      return (await mintToken({ client: api, body: { sub: 'agent-js', ttl_s: 3 } })).data.token;
    };
    const short = new RealtimeClient({ baseUrl, tokenProvider });
    try {
      const sub = await short.subscribe({ collection: c });
      await new Promise((resolve) => setTimeout(resolve, 4500)); // past the first token's expiry
      await putDocument({ client: api, path: { collection: c, key: 'after-expiry' }, body: 1 });
      const [change] = await take(sub, 1);
      assert.equal(change.key, 'after-expiry');
      assert.equal(short.connections, 1);
      assert.ok(minted >= 3, `minted ${minted}`);
    } finally {
      await short.close();
    }
  });

  test('SSE transport (EventSource) with a snapshot and channel messages', async () => {
    const c = coll();
    const channel = `ch-${c}`;
    const sse = new RealtimeClient({ baseUrl, token, transport: 'sse', EventSource });
    try {
      await putDocument({ client: api, path: { collection: c, key: 'a' }, body: 1 });
      const sub = await sse.subscribe({ collection: c, snapshot: true });
      const [first] = await take(sub, 1);
      assert.deepEqual([first.key, first.snapshot], ['a', true]);
      await putDocument({ client: api, path: { collection: c, key: 'b' }, body: 2 });
      const [second] = await take(sub, 1);
      assert.deepEqual([second.key, second.op, second.value], ['b', 'put', 2]);
      const inbox = await sse.channel(channel); // resolves once the EventSource is open
      assert.equal(await sse.publish(channel, { hello: 0 }), 1);
      const [message] = await take(inbox, 1);
      assert.equal(message.type, 'message');
      assert.equal(sse.connections, 0);
    } finally {
      await sse.close();
    }
  });

  test('a refused subscription rejects with the typed error', async () => {
    const reader = new RealtimeClient({ baseUrl, token: await readOnlyKey(['other-*']) });
    try {
      await assert.rejects(reader.subscribe({ collection: coll() }), ForbiddenError);
    } finally {
      await reader.close();
    }
    const stranger = new RealtimeClient({ baseUrl, token: 'lsk_0000000000000000_wrong', reconnect: false });
    try {
      await assert.rejects(stranger.subscribe({ collection: coll() }), (err) => {
        assert.ok(err instanceof UnauthorizedError);
        // It says what was wrong, not "unauthorized: unauthorized".
        assert.match(err.message, /^unauthorized: the credential is not valid \(WebSocket close 4001\)/);
        return true;
      });
    } finally {
      await stranger.close();
    }
  });
});
