// Levelstream console: browse a collection, watch its change stream, write documents,
// publish to a channel and see who is there, edit the rules, build indexes. Plain script on top of the JS SDK's
// browser bundle (global `Levelstream`, loaded just before this file).
//
// Documents go through the SDK's offline-first client (`Levelstream.openDb`): the open
// collection is a live query replicated into IndexedDB (shown offline too), writes are
// queued in its durable outbox, shown at once as pending and sent in order when the
// server answers (a reload loses none), and a write the server did not take (a conflict
// by rev, or a refusal) is listed for the operator. The status pill is the client's
// observable status: online, offline or syncing, and the count of pending writes.
//
// The token lives in sessionStorage only (this tab, until it closes): never in
// localStorage, a cookie or a URL. REST calls send it in a header, the WebSocket in
// its first frame. Everything shown is set with textContent, never as HTML.
(() => {
  'use strict';

  const LS = window.Levelstream;
  const TOKEN_KEY = 'levelstream.console.token';
  const COLLECTION_KEY = 'levelstream.console.collection'; // reopened after a reload
  const FEED_LIMIT = 200;
  // The API is this page's origin: the page sits at <origin>/console.
  const baseUrl = location.origin;

  const $ = (id) => document.getElementById(id);

  const state = {
    api: null, // the REST client from Levelstream.connect()
    rt: null, // the RealtimeClient (one WebSocket)
    db: null, // the offline-first client (Levelstream.openDb): replicas, outbox, status
    statusOff: null, // unsubscribes from its status
    conflictsOff: null, // unsubscribes from its conflicts (db.onConflicts)
    collection: null,
    view: null, // the open collection's LiveQuery (its local copy, writes on top)
    viewOff: null,
    sub: null, // the collection's Subscription (the change feed)
    feedWaiting: false, // the change feed could not start offline: started again when online
    snapshotEntry: null,
    page: 0,
    offline: false, // the server did not answer when connecting: asked again when online
    lastWrite: null, // { collection, key, op, at }: the form's last write, followed until taken
    rewritten: new Set(), // conflicts the operator wrote again (by conflictId)
    conflictsShown: '',
    channel: null,
    channelSub: null,
    members: new Map(), // client_id -> display name
    membersAsked: 0,
    indexTimer: null, // polls the open collection's indexes while one builds
  };
  const RULE_ENTRIES = ['read', 'create', 'update', 'delete'];
  const INDEX_POLL_MS = 500;

  // --- small helpers -------------------------------------------------------------------

  function el(tag, options = {}, ...children) {
    const node = document.createElement(tag);
    if (options.className) node.className = options.className;
    if (options.text !== undefined) node.textContent = options.text;
    for (const [name, value] of Object.entries(options.data ?? {})) node.dataset[name] = value;
    for (const [name, value] of Object.entries(options.attrs ?? {})) node.setAttribute(name, value);
    node.append(...children);
    return node;
  }

  function json(value, space) {
    try {
      return JSON.stringify(value, null, space);
    } catch {
      return String(value);
    }
  }

  function shorten(text, max = 160) {
    return text.length > max ? `${text.slice(0, max - 1)}…` : text;
  }

  /** An error as text: a problem document (RFC 9457) in full, or the message. */
  function describe(error) {
    if (error instanceof LS.LevelstreamError) {
      const head = `${error.status ?? ''} ${error.code}: ${error.problem.title ?? error.detail}`.trim();
      const body = Object.keys(error.problem).length > 0 ? json(error.problem, 2) : error.detail;
      return `${head}\n${body}`;
    }
    return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  }

  function show(target, error) {
    const box = $(target);
    if (error === null) {
      box.hidden = true;
      box.textContent = '';
      return;
    }
    box.textContent = describe(error);
    box.hidden = false;
  }

  function pushEntry(list, entry) {
    list.prepend(entry);
    while (list.children.length > FEED_LIMIT) list.lastElementChild.remove();
  }

  function timeOf(iso) {
    const date = new Date(iso);
    return Number.isNaN(date.getTime()) ? '' : date.toLocaleTimeString();
  }

  // --- token and connection ------------------------------------------------------------

  function storedToken() {
    return sessionStorage.getItem(TOKEN_KEY);
  }

  const NO_STATUS = { state: 'offline', pending: 0, leader: false };
  let shownStatus = NO_STATUS;

  /** The pill: the offline-first client's status (db.onStatus), as it changes. */
  function renderPill(status) {
    const pill = $('sync');
    pill.textContent = `${status.state} · ${status.pending} pending`;
    pill.classList.toggle('ok', status.state === 'online' && status.pending === 0);
    pill.classList.toggle('bad', status.state === 'offline' && status.pending > 0);
  }

  function onStatus(status) {
    const before = shownStatus;
    shownStatus = status;
    renderPill(status);
    renderWriteResult();
    if (status.state === 'offline') return;
    if (state.offline) void reconnected();
    if (state.feedWaiting && state.collection !== null) {
      state.feedWaiting = false;
      void subscribe(state.collection);
    }
    // Every queued write taken: the collections' counts changed.
    if (before.pending > 0 && status.pending === 0) void loadCollections().catch(() => undefined);
  }

  function setConnection(text, ok) {
    const pill = $('connection');
    pill.textContent = text;
    pill.classList.toggle('ok', ok === true);
    pill.classList.toggle('bad', ok === false);
  }

  function notice(text) {
    $('error').textContent = text;
    $('error').hidden = false;
  }

  const OFFLINE_NOTICE =
    'The server does not answer. The open collection shows its local copy, and writes are ' +
    'queued in this browser (pending) until the server is back: nothing is lost on a reload.';

  /** The offline-first client for this server and token (IndexedDB; memory where there is none). */
  async function openOfflineDb(token) {
    const options = {
      baseUrl,
      token: () => storedToken() ?? token,
      // Server wins: the refused intent is kept in db.conflicts, which the page lists
      // (renderConflicts) with what to do. Deciding for the operator here would overwrite
      // someone's edit, or drop the operator's, without either of them seeing it.
      onConflict: () => undefined,
    };
    try {
      return await LS.openDb(options);
    } catch {
      return LS.openDb({ ...options, storage: 'memory' }); // e.g. storage blocked: not durable, but works
    }
  }

  async function connectWith(token) {
    await disconnect();
    resetView();
    sessionStorage.setItem(TOKEN_KEY, token);
    const api = LS.connect({ baseUrl, token: () => storedToken() ?? '' });
    state.api = api;
    state.rt = new LS.RealtimeClient({ baseUrl, token });
    setConnection('Connecting…');
    let failed = null;
    try {
      await loadCollections();
    } catch (error) {
      if (error instanceof LS.UnauthorizedError) {
        show('error', error);
        sessionStorage.removeItem(TOKEN_KEY);
        await disconnect();
        setConnection('Token refused', false);
        return;
      }
      failed = error;
    }
    let db;
    try {
      db = await openOfflineDb(token);
    } catch (error) {
      show('error', error);
      return;
    }
    if (state.api !== api) {
      void db.close(); // another connect or a disconnect came meanwhile
      return;
    }
    state.db = db;
    state.statusOff = db.onStatus(onStatus);
    state.conflictsOff = db.onConflicts(onConflicts);
    $('connected').disabled = false;
    if (failed === null) {
      show('error', null);
      setConnection('Connected', true);
      void loadRules();
    } else if (failed instanceof LS.LevelstreamError) {
      show('error', failed);
      setConnection('Connected, with an error', false);
    } else {
      // No answer at all (the network, or the server is down): work from the local copy.
      state.offline = true;
      notice(OFFLINE_NOTICE);
      setConnection('Offline: local copy', false);
    }
    const remembered = sessionStorage.getItem(COLLECTION_KEY);
    if (remembered !== null && remembered !== '') void openCollection(remembered);
  }

  /** The server answers again after an offline start: list, say so, load what needs it. */
  async function reconnected() {
    state.offline = false;
    try {
      await loadCollections();
    } catch (error) {
      show('error', error);
      return;
    }
    show('error', null);
    setConnection('Connected', true);
    void loadRules();
  }

  async function disconnect() {
    closeCollection();
    leaveChannel();
    const { rt, db } = state;
    state.rt = null;
    state.api = null;
    state.db = null;
    state.offline = false;
    state.lastWrite = null;
    state.rewritten.clear();
    state.statusOff?.();
    state.statusOff = null;
    state.conflictsOff?.();
    state.conflictsOff = null;
    $('connected').disabled = true;
    if (rt !== null) await rt.close().catch(() => undefined);
    if (db !== null) await db.close().catch(() => undefined);
    shownStatus = NO_STATUS;
    renderPill(NO_STATUS);
    return db;
  }

  /** Nothing from an earlier connection stays on screen. */
  function resetView() {
    state.collection = null;
    $('documents-of').textContent = '';
    $('write-to').textContent = '';
    $('indexes-of').textContent = '';
    $('rules-version').textContent = '';
    $('page-info').textContent = 'Open a collection';
    $('stream-status').textContent = 'Not subscribed';
    $('collection').replaceChildren(el('option', { text: '(connect to list them)', attrs: { value: '' } }));
    for (const id of ['changes', 'messages', 'members']) $(id).replaceChildren();
    for (const id of ['documents', 'rules', 'indexes']) $(id).tBodies[0].replaceChildren();
    for (const id of ['first-page', 'prev-page', 'next-page']) $(id).disabled = true;
    for (const id of ['write-result', 'publish-result', 'rule-result', 'index-result']) $(id).textContent = '';
    for (const id of ['error', 'write-error', 'channel-error', 'rule-error', 'index-error']) show(id, null);
    $('write-result').classList.remove('bad');
    $('conflicts').replaceChildren();
    $('not-taken').hidden = true;
    state.conflictsShown = '';
  }

  async function forgetToken() {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(COLLECTION_KEY);
    $('token').value = '';
    const pending = shownStatus.pending;
    const db = await disconnect();
    // The local copy goes with the token, unless it still holds writes to send (they
    // are sent when this token connects again).
    if (db !== null && pending === 0 && typeof indexedDB !== 'undefined') indexedDB.deleteDatabase(db.name);
    resetView();
    setConnection('Not connected');
  }

  // --- collections and documents -------------------------------------------------------

  async function loadCollections() {
    const { data } = await LS.listCollections({ client: state.api });
    const select = $('collection');
    const current = state.collection ?? select.value;
    const options = data.items.map((item) =>
      el('option', { text: `${item.name} (${item.count})`, attrs: { value: item.name } }),
    );
    if (options.length === 0) {
      options.push(el('option', { text: '(no collections yet: open one by name)', attrs: { value: '' } }));
    }
    select.replaceChildren(...options);
    if (data.items.some((item) => item.name === current)) select.value = current;
  }

  function closeCollection() {
    clearTimeout(state.indexTimer);
    state.indexTimer = null;
    if (state.sub !== null) state.sub.close();
    state.sub = null;
    state.feedWaiting = false;
    state.snapshotEntry = null;
    state.viewOff?.();
    state.viewOff = null;
    state.view?.close();
    state.view = null;
  }

  async function openCollection(name) {
    if (!name) return;
    closeCollection();
    state.collection = name;
    sessionStorage.setItem(COLLECTION_KEY, name);
    state.page = 0;
    $('documents-of').textContent = `in ${name}`;
    $('write-to').textContent = `to ${name}`;
    $('indexes-of').textContent = `of ${name}`;
    $('changes').replaceChildren();
    $('documents').tBodies[0].replaceChildren();
    if (!state.offline) show('error', null);
    void subscribe(name);
    void loadIndexes();
    await openView(name);
  }

  /** The collection's live query: read from the local store at once, then kept current. */
  async function openView(collection) {
    const db = state.db;
    if (db === null) return;
    $('page-info').textContent = 'Reading the local copy…';
    let view;
    try {
      view = await db.collection(collection).live();
    } catch (error) {
      show('error', error);
      return;
    }
    if (state.collection !== collection || state.db !== db) {
      if (state.collection !== collection) view.close(); // (the same one reopened keeps it)
      return;
    }
    state.viewOff?.();
    state.view = view;
    state.viewOff = view.subscribe(() => {
      renderPage();
      renderWriteResult();
    });
    renderPage();
  }

  /** The page shown, from the local view: key order, optionally by prefix. */
  function renderPage() {
    const view = state.view;
    if (view === null) return;
    const prefix = $('prefix').value;
    const size = Number($('page-size').value);
    const docs = view.docs().filter((doc) => doc.key.startsWith(prefix));
    const pages = Math.max(1, Math.ceil(docs.length / size));
    state.page = Math.min(state.page, pages - 1);
    const items = docs.slice(state.page * size, (state.page + 1) * size);
    renderDocuments(items);
    const first = items[0]?.key;
    const last = items[items.length - 1]?.key;
    $('page-info').textContent =
      items.length === 0
        ? `Page ${state.page + 1}: no documents`
        : `Page ${state.page + 1}: ${items.length} documents, ${first} … ${last}`;
    $('first-page').disabled = state.page === 0;
    $('prev-page').disabled = state.page === 0;
    $('next-page').disabled = state.page >= pages - 1;
    const pending = docs.filter((doc) => doc.pending).length;
    $('replica').textContent =
      view.seq === null
        ? 'No local copy yet: it is fetched when the server answers.'
        : `Local copy as of seq ${view.seq}: ${docs.length} document${docs.length === 1 ? '' : 's'}` +
          (pending > 0 ? `, ${pending} with writes pending` : '');
    if (view.error !== null) show('error', view.error);
  }

  function renderDocuments(items) {
    const rows = items.map((doc) => {
      const valueText = json(doc.value);
      const edit = el('button', {
        text: 'Edit',
        attrs: { type: 'button', 'aria-label': `Edit ${doc.key}` },
      });
      edit.addEventListener('click', () => {
        $('write-key').value = doc.key;
        $('write-value').value = json(doc.value, 2);
        $('write-key').focus();
      });
      return el(
        'tr',
        { className: doc.pending ? 'pending' : '', data: { key: doc.key, pending: String(doc.pending) } },
        el('th', { attrs: { scope: 'row' } }, el('code', { text: doc.key })),
        el('td', { text: doc.rev === null ? '–' : String(doc.rev), attrs: doc.rev === null ? { title: 'new: not yet on the server' } : {} }),
        el('td', { className: 'state', text: doc.pending ? 'pending' : 'saved' }),
        el('td', { className: 'value' }, el('code', { text: shorten(valueText), attrs: { title: shorten(valueText, 2000) } })),
        el('td', {}, edit),
      );
    });
    $('documents').tBodies[0].replaceChildren(...rows);
  }

  async function subscribe(collection) {
    const rt = state.rt;
    // Held from the start, so that switching away while subscribing closes this one.
    const mine = { sub: null, close() { this.sub?.close(); } };
    state.sub = mine;
    const status = $('stream-status');
    status.textContent = `Subscribing to ${collection}…`;
    let snapshot = 0;
    try {
      const sub = await rt.subscribe({ collection, snapshot: true });
      mine.sub = sub;
      if (state.sub !== mine) return sub.close();
      status.textContent = `Live via ${rt.transport}`;
      for await (const change of sub) {
        if (state.sub !== mine) break;
        if (change.snapshot) {
          snapshot += 1;
          showSnapshot(snapshot, change.seq);
          continue;
        }
        pushEntry($('changes'), changeEntry(change));
        status.textContent = `Live via ${rt.transport}, at seq ${change.seq}`;
      }
    } catch (error) {
      if (state.sub !== mine) return;
      if (error instanceof LS.ConnectionLostError && shownStatus.state === 'offline') {
        status.textContent = 'Waiting for the server…'; // subscribed again when it answers
        state.feedWaiting = true;
        return;
      }
      status.textContent = 'The subscription ended';
      show('error', error);
    }
  }

  function showSnapshot(count, seq) {
    const text = `snapshot: ${count} document${count === 1 ? '' : 's'} as of seq ${seq}`;
    if (state.snapshotEntry === null) {
      state.snapshotEntry = el('li', { className: 'snapshot', text });
      pushEntry($('changes'), state.snapshotEntry);
    } else {
      state.snapshotEntry.textContent = text;
    }
  }

  function changeEntry(change) {
    const details = change.op === 'delete' ? (change.reason ? `(${change.reason})` : '') : shorten(json(change.value));
    return el(
      'li',
      { data: { key: change.key, seq: String(change.seq), op: change.op } },
      el('span', { className: 'seq', text: `#${change.seq}` }),
      ' ',
      el('span', { className: `op op-${change.op}`, text: change.op }),
      ' ',
      el('code', { className: 'key', text: change.key }),
      ' ',
      el('code', { className: 'value', text: details }),
      ' ',
      el('time', { className: 'muted', text: timeOf(change.ts), attrs: { datetime: change.ts } }),
    );
  }

  // --- writing -------------------------------------------------------------------------

  function writeTarget() {
    if (state.collection === null) throw new Error('Open a collection first.');
    const key = $('write-key').value;
    if (key === '') throw new Error('Give a key.');
    return { collection: state.collection, key };
  }

  /** Queue a write in the offline-first client: shown at once (pending), sent when the server answers. */
  async function queueWrite(path, op, value) {
    const db = state.db;
    if (db === null) throw new Error('Connect first.');
    const at = Date.now();
    const ref = db.collection(path.collection);
    if (op === 'put') await ref.put(path.key, value);
    else if (op === 'patch') await ref.patch(path.key, value);
    else await ref.delete(path.key);
    state.lastWrite = { ...path, op, at };
    renderWriteResult();
  }

  async function putDocument() {
    $('write-result').textContent = '';
    show('write-error', null);
    let path;
    let body;
    try {
      path = writeTarget();
      try {
        body = JSON.parse($('write-value').value);
      } catch (error) {
        throw new SyntaxError(`The value is not valid JSON: ${error.message}`);
      }
      await queueWrite(path, 'put', body);
    } catch (error) {
      show('write-error', error);
    }
  }

  async function deleteDocument() {
    $('write-result').textContent = '';
    show('write-error', null);
    try {
      await queueWrite(writeTarget(), 'delete');
    } catch (error) {
      show('write-error', error);
    }
  }

  /** Follow the form's last write: queued (pending), taken by the server, or not taken. */
  function renderWriteResult() {
    const write = state.lastWrite;
    const db = state.db;
    if (write === null || db === null) return;
    const result = $('write-result');
    const { collection, key, op } = write;
    const target = `${key} ${op === 'delete' ? 'from' : 'in'} ${collection}`;
    const notTaken = db.conflicts.find(
      (c) => c.at >= write.at && c.intent.some((o) => o.collection === collection && o.key === key),
    );
    result.classList.toggle('bad', notTaken !== undefined);
    if (notTaken !== undefined) {
      result.textContent = `Not taken by the server: the ${op} of ${target}`;
      const box = $('write-error');
      box.textContent = `${notTaken.code}: ${notTaken.detail}\n${whatToDo(notTaken)}`;
      box.hidden = false;
      return;
    }
    const doc = state.view !== null && state.view.collection === collection ? state.view.get(key) : undefined;
    const taken = op === 'delete' || doc === undefined ? shownStatus.pending === 0 : !doc.pending;
    if (!taken) {
      result.textContent = `Queued: the ${op} of ${target}, pending until the server takes it`;
    } else if (op === 'delete') {
      result.textContent = `Deleted ${target}`;
    } else {
      result.textContent = `Saved ${target}${doc === undefined ? '' : `: rev ${doc.rev}`}`;
    }
  }

  // --- writes the server did not take --------------------------------------------------

  const conflictId = (c) => `${c.id ?? ''}:${c.at}:${c.intent.map((o) => `${o.collection}/${o.key}`).join(',')}`;
  const isConflict = (c) => c.code === 'precondition_failed';

  /** The op the server refused: the one on the document it answered about, else the first. */
  function refusedOp(c) {
    return c.intent.find((o) => c.server !== null && o.key === c.server.key) ?? c.intent[0];
  }

  function baseText(base) {
    if (typeof base === 'number') return `rev ${base}`;
    return base === null ? 'no copy (new here)' : 'an earlier queued write';
  }

  function whatToDo(c) {
    return isConflict(c)
      ? 'To keep yours, press "Write mine again" (it replaces the server\'s version); to keep theirs, dismiss it.'
      : 'Nothing changed on the server: fix it ("Edit in the form") and write it again, or dismiss it.';
  }

  function conflictHead(c) {
    const op = refusedOp(c);
    const target = `${op.collection}/${op.key}`;
    if (!isConflict(c)) return `Refused: your ${op.op} of ${target} (${c.code}: ${c.detail})`;
    const now = c.server === null ? 'it is deleted there now' : `it is at rev ${c.server.rev} there now`;
    return `Conflict on ${target}: your ${op.op} was based on ${baseText(op.base)}, but the server's copy changed (${now}). The server's version was kept.`;
  }

  /** db.onConflicts: the list changed, here or in another tab (a new one, a dismissal). */
  function onConflicts() {
    renderConflicts();
    renderWriteResult();
  }

  /** db.conflicts (kept in IndexedDB, shared by tabs), newest first; redrawn when they change. */
  function renderConflicts(force = false) {
    const db = state.db;
    const list = db === null ? [] : db.conflicts;
    const shown = `${list.map(conflictId).join('|')}#${[...state.rewritten].join('|')}`;
    if (!force && shown === state.conflictsShown) return;
    state.conflictsShown = shown;
    $('not-taken').hidden = list.length === 0;
    $('conflicts').replaceChildren(...[...list].reverse().map(conflictItem));
  }

  function conflictItem(c) {
    const op = refusedOp(c);
    const item = el(
      'li',
      { data: { key: op.key, collection: op.collection, code: c.code } },
      el('p', {}, el('strong', { className: 'head', text: conflictHead(c) })),
      el('p', {}, 'Yours: ', el('code', { text: op.op === 'delete' ? '(delete)' : shorten(json(op.value), 500) })),
    );
    if (isConflict(c)) {
      item.append(el('p', {}, 'Theirs: ', el('code', { text: c.server === null ? '(deleted)' : shorten(json(c.server.value), 500) })));
    }
    item.append(el('p', { className: 'hint', text: whatToDo(c) }));
    const actions = el('div', { className: 'row' });
    if (isConflict(c) && state.rewritten.has(conflictId(c))) {
      actions.append(el('span', { className: 'muted', text: 'Written again: queued on the server\'s version.' }));
    } else if (isConflict(c)) {
      const again = el('button', { text: 'Write mine again', attrs: { type: 'button', 'aria-label': `Write mine again: ${op.collection}/${op.key}` } });
      again.addEventListener('click', () => void writeAgain(c, op));
      actions.append(again);
    }
    if (op.op !== 'delete') {
      const edit = el('button', { text: 'Edit in the form', attrs: { type: 'button', 'aria-label': `Edit mine in the form: ${op.collection}/${op.key}` } });
      edit.addEventListener('click', () => {
        if (state.collection !== op.collection) void openCollection(op.collection);
        $('write-key').value = op.key;
        $('write-value').value = json(op.value, 2);
        $('write-key').focus();
      });
      actions.append(edit);
    }
    const dismiss = el('button', { text: 'Dismiss', attrs: { type: 'button', 'aria-label': `Dismiss: ${op.collection}/${op.key}` } });
    dismiss.addEventListener('click', () => void dismissConflict(c));
    actions.append(dismiss);
    item.append(actions);
    return item;
  }

  /**
   * Queue the operator's intent again. It is based on the rev the open collection's copy
   * shows (the server's version by now), so it is the collection that must be open.
   */
  async function writeAgain(c, op) {
    show('write-error', null);
    try {
      if (state.collection !== op.collection || state.view === null) await openCollection(op.collection);
      await queueWrite({ collection: op.collection, key: op.key }, op.op, op.value);
    } catch (error) {
      show('write-error', error);
      return;
    }
    state.rewritten.add(conflictId(c));
    renderConflicts(true);
  }

  /**
   * This entry alone leaves the list (and the store: every tab, and after a reload); the
   * list is redrawn by db.onConflicts, here as in the other tabs.
   */
  async function dismissConflict(c) {
    const db = state.db;
    if (db === null) return;
    state.rewritten.delete(conflictId(c));
    await db.dismissConflict(c);
  }

  async function dismissConflicts() {
    const db = state.db;
    if (db === null) return;
    state.rewritten.clear();
    await db.clearConflicts();
    show('write-error', null);
  }

  // --- channel and presence ------------------------------------------------------------

  function memberName(stateValue, clientId) {
    const name = stateValue !== null && typeof stateValue === 'object' ? stateValue.name : undefined;
    return typeof name === 'string' && name !== '' ? name : clientId;
  }

  async function joinChannel(channel, name) {
    leaveChannel();
    show('channel-error', null);
    const rt = state.rt;
    const mine = { sub: null, close() { this.sub?.close(); } };
    state.channel = channel;
    state.channelSub = mine;
    $('messages').replaceChildren();
    let sub;
    try {
      sub = await rt.channel(channel);
      mine.sub = sub;
      if (state.channelSub !== mine) return sub.close();
      await rt.join(channel, { name });
    } catch (error) {
      show('channel-error', error);
      leaveChannel();
      return;
    }
    $('channel-status').textContent = `In ${channel} as ${name}`;
    $('leave-channel').disabled = false;
    $('publish').disabled = false;
    await refreshMembers();
    void followChannel(mine, sub);
  }

  async function followChannel(mine, sub) {
    try {
      for await (const event of sub) {
        if (state.channelSub !== mine) break;
        if (event.type === 'presence') {
          const who = memberName(event.state, event.client_id);
          const verb = event.action === 'join' ? 'joined' : 'left';
          pushEntry($('messages'), el('li', { className: 'presence', data: { action: event.action }, text: `${who} ${verb}` }));
          void refreshMembers();
        } else {
          const who = event.from === null ? 'someone' : (state.members.get(event.from) ?? event.from);
          pushEntry(
            $('messages'),
            el('li', { className: 'message' }, el('strong', { text: `${who}: ` }), el('code', { text: shorten(json(event.data), 500) })),
          );
        }
      }
    } catch (error) {
      if (state.channelSub === mine) show('channel-error', error);
    }
  }

  /** Who is in the channel now, from the server (asked again on every presence event). */
  async function refreshMembers() {
    const rt = state.rt;
    const channel = state.channel;
    if (rt === null || channel === null) return;
    const asked = ++state.membersAsked;
    let items;
    try {
      items = await rt.presence(channel);
    } catch (error) {
      show('channel-error', error);
      return;
    }
    if (asked !== state.membersAsked || channel !== state.channel) return; // a newer answer is coming
    state.members = new Map(items.map((m) => [m.client_id, memberName(m.state, m.client_id)]));
    const rows = items.map((m) => {
      const you = m.client_id === rt.clientId;
      const item = el('li', { data: { clientId: m.client_id } }, el('span', { text: memberName(m.state, m.client_id) }));
      if (you) item.append(' ', el('span', { className: 'muted', text: '(you)' }));
      item.append(' ', el('time', { className: 'muted', text: `since ${timeOf(m.joined_at)}`, attrs: { datetime: m.joined_at } }));
      return item;
    });
    $('members').replaceChildren(...rows);
  }

  function leaveChannel() {
    const { rt, channel, channelSub } = state;
    state.channel = null;
    state.channelSub = null;
    state.members = new Map();
    $('leave-channel').disabled = true;
    $('publish').disabled = true;
    $('members').replaceChildren();
    $('channel-status').textContent = 'Not in a channel';
    if (channelSub !== null) channelSub.close();
    // Not awaited: over a dead connection it would wait; the server drops members of closed sockets.
    if (rt !== null && channel !== null) void rt.leave(channel).catch(() => undefined);
  }

  async function publish() {
    const rt = state.rt;
    const channel = state.channel;
    if (rt === null || channel === null) return;
    show('channel-error', null);
    const text = $('message').value;
    let data;
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
    try {
      const delivered = await rt.publish(channel, data);
      $('publish-result').textContent = `Delivered to ${delivered} subscriber${delivered === 1 ? '' : 's'}`;
    } catch (error) {
      show('channel-error', error);
    }
  }

  // --- rules ---------------------------------------------------------------------------

  async function loadRules() {
    if (state.api === null) return;
    let listed;
    try {
      listed = await LS.admin.listRules(state.api);
    } catch (error) {
      show('rule-error', error);
      return;
    }
    $('rules-version').textContent = `version ${listed.version}`;
    const rows = listed.items.map((rule) => {
      const entries = RULE_ENTRIES.filter((entry) => typeof rule[entry] === 'string');
      const text = entries.map((entry) => `${entry}: ${rule[entry]}`);
      const edit = el('button', { text: 'Edit', attrs: { type: 'button', 'aria-label': `Edit the rule of ${rule.glob}` } });
      edit.addEventListener('click', () => editRule(rule));
      return el(
        'tr',
        { data: { glob: rule.glob } },
        el('th', { attrs: { scope: 'row' } }, el('code', { text: rule.glob })),
        el('td', {}, ...text.map((line) => el('code', { className: 'entry', text: line }))),
        el('td', {}, edit),
      );
    });
    $('rules').tBodies[0].replaceChildren(...rows);
  }

  function editRule(rule) {
    $('rule-glob').value = rule.glob;
    for (const entry of RULE_ENTRIES) $(`rule-${entry}`).value = rule[entry] ?? '';
    $('rule-glob').focus();
  }

  /** A refused rule: the problem document, and the caret put where the server points. */
  function showRuleProblem(error) {
    show('rule-error', error);
    const problem = error instanceof LS.LevelstreamError ? error.problem : {};
    if (!RULE_ENTRIES.includes(problem.entry) || typeof problem.offset !== 'number') return;
    const box = $('rule-error');
    box.textContent = `${problem.entry}, line ${problem.line}, column ${problem.column}\n${box.textContent}`;
    const field = $(`rule-${problem.entry}`);
    field.focus();
    field.setSelectionRange(problem.offset, Math.min(problem.offset + 1, field.value.length));
  }

  async function saveRule() {
    $('rule-result').textContent = '';
    show('rule-error', null);
    const glob = $('rule-glob').value.trim();
    const spec = {};
    for (const entry of RULE_ENTRIES) {
      const text = $(`rule-${entry}`).value;
      if (text.trim() !== '') spec[entry] = text;
    }
    try {
      const saved = await LS.admin.putRule(state.api, glob, spec);
      $('rule-result').textContent = `Saved the rule of ${saved.glob}: version ${saved.version}`;
    } catch (error) {
      showRuleProblem(error);
      return;
    }
    await loadRules();
  }

  async function deleteRule() {
    $('rule-result').textContent = '';
    show('rule-error', null);
    const glob = $('rule-glob').value.trim();
    try {
      const deleted = await LS.admin.deleteRule(state.api, glob);
      $('rule-result').textContent = `Deleted the rule of ${deleted.glob}: version ${deleted.version}`;
    } catch (error) {
      show('rule-error', error);
      return;
    }
    await loadRules();
  }

  // --- indexes -------------------------------------------------------------------------

  async function loadIndexes() {
    clearTimeout(state.indexTimer);
    state.indexTimer = null;
    const collection = state.collection;
    if (state.api === null || collection === null) return;
    let items;
    try {
      items = await LS.admin.listIndexes(state.api, collection);
    } catch (error) {
      if (collection === state.collection) show('index-error', error);
      return;
    }
    if (collection !== state.collection) return;
    renderIndexes(collection, items);
    // While one builds, ask again shortly: its progress is only known by asking.
    if (items.some((index) => index.state !== 'ready')) {
      state.indexTimer = setTimeout(() => void loadIndexes(), INDEX_POLL_MS);
    }
  }

  function renderIndexes(collection, items) {
    const rows = items.map((index) => {
      const bar = el('progress', {
        attrs: { max: String(Math.max(index.total, 1)), value: String(index.state === 'ready' ? Math.max(index.total, 1) : index.done), 'aria-label': `Build of ${index.name}` },
      });
      const drop = el('button', { text: 'Drop', attrs: { type: 'button', 'aria-label': `Drop ${index.name}` } });
      drop.addEventListener('click', () => void dropIndex(collection, index.name));
      return el(
        'tr',
        { data: { name: index.name, state: index.state } },
        el('th', { attrs: { scope: 'row' } }, el('code', { text: index.name })),
        el('td', {}, el('code', { text: index.fields.join(', ') })),
        el('td', { className: `state state-${index.state}`, text: index.state }),
        el('td', {}, bar, ' ', el('span', { className: 'muted', text: `${index.done} / ${index.total}` })),
        el('td', {}, drop),
      );
    });
    $('indexes').tBodies[0].replaceChildren(...rows);
  }

  async function createIndex() {
    $('index-result').textContent = '';
    show('index-error', null);
    const collection = state.collection;
    if (collection === null) {
      show('index-error', new Error('Open a collection first.'));
      return;
    }
    const name = $('index-name').value.trim();
    const fields = $('index-fields').value.split(',').map((f) => f.trim()).filter((f) => f !== '');
    try {
      const index = await LS.admin.createIndex(state.api, collection, name, fields);
      $('index-result').textContent = `Index ${index.name} on ${collection}: ${index.state}`;
    } catch (error) {
      show('index-error', error);
      return;
    }
    await loadIndexes();
  }

  async function dropIndex(collection, name) {
    $('index-result').textContent = '';
    show('index-error', null);
    try {
      await LS.admin.deleteIndex(state.api, collection, name);
      $('index-result').textContent = `Dropped ${name} of ${collection}`;
    } catch (error) {
      show('index-error', error);
      return;
    }
    await loadIndexes();
  }

  // --- wiring --------------------------------------------------------------------------

  function onSubmit(id, handler) {
    $(id).addEventListener('submit', (event) => {
      event.preventDefault(); // nothing is ever submitted (and CSP form-action 'none' agrees)
      void handler();
    });
  }

  function onClick(id, handler) {
    $(id).addEventListener('click', () => void handler());
  }

  onSubmit('token-form', async () => {
    const input = $('token');
    const token = input.value.trim();
    input.value = ''; // not left in the page
    if (token !== '') await connectWith(token);
  });
  onClick('forget-token', forgetToken);
  onSubmit('collection-form', () => openCollection($('collection').value));
  onClick('refresh-collections', () => loadCollections().catch((error) => show('error', error)));
  onSubmit('collection-name-form', () => openCollection($('collection-name').value.trim()));
  onSubmit('range-form', () => {
    state.page = 0;
    renderPage();
  });
  onClick('first-page', () => {
    state.page = 0;
    renderPage();
  });
  onClick('prev-page', () => {
    state.page = Math.max(0, state.page - 1);
    renderPage();
  });
  onClick('next-page', () => {
    state.page += 1; // renderPage keeps it on the last page
    renderPage();
  });
  onClick('clear-changes', () => {
    $('changes').replaceChildren();
    state.snapshotEntry = null;
  });
  onSubmit('write-form', putDocument);
  onClick('delete-document', deleteDocument);
  onClick('dismiss-conflicts', dismissConflicts);
  onSubmit('channel-form', () => joinChannel($('channel').value.trim(), $('member-name').value.trim()));
  onClick('leave-channel', leaveChannel);
  onSubmit('publish-form', publish);
  onClick('refresh-rules', loadRules);
  onSubmit('rule-form', saveRule);
  onClick('delete-rule', deleteRule);
  onSubmit('index-form', createIndex);

  // A token from earlier in this tab's session: connect again.
  const saved = storedToken();
  if (saved !== null && saved !== '') void connectWith(saved);
})();
