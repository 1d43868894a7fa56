// Levelstream console: browse a collection, watch its change stream, write documents,
// publish to a channel and see who is there, edit the rules, build indexes. Plain script on top of the JS SDK's
// browser bundle (global `Levelstream`, loaded just before this file).
//
// The token lives in sessionStorage only (this tab, until it closes): never in
// localStorage, a cookie or a URL. REST calls send it in a header, the WebSocket in
// its first frame. Everything shown is set with textContent, never as HTML.
(() => {
  'use strict';

  const LS = window.Levelstream;
  const TOKEN_KEY = 'levelstream.console.token';
  const FEED_LIMIT = 200;
  // The API is this page's origin: the page sits at <origin>/console.
  const baseUrl = location.origin;

  const $ = (id) => document.getElementById(id);

  const state = {
    api: null, // the REST client from Levelstream.connect()
    rt: null, // the RealtimeClient (one WebSocket)
    collection: null,
    sub: null, // the collection's Subscription
    snapshotEntry: null,
    cursors: [null], // the cursor of each page seen (page 1: none)
    page: 0,
    nextCursor: null,
    refreshTimer: null,
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

  /** The live connection's state (the SDK's onConnectionChange) and the writes in flight. */
  const sync = { live: false, pending: 0 };
  function renderSync() {
    const pill = $('sync');
    pill.textContent = `${sync.live ? 'online' : 'offline'} · ${sync.pending} pending`;
    pill.classList.toggle('ok', sync.live && sync.pending === 0);
  }
  async function tracked(write) {
    sync.pending += 1;
    renderSync();
    try {
      return await write();
    } finally {
      sync.pending -= 1;
      renderSync();
    }
  }

  function setConnection(text, ok) {
    const pill = $('connection');
    pill.textContent = text;
    pill.classList.toggle('ok', ok === true);
    pill.classList.toggle('bad', ok === false);
  }

  async function connectWith(token) {
    await disconnect();
    resetView();
    sessionStorage.setItem(TOKEN_KEY, token);
    state.api = LS.connect({ baseUrl, token: () => storedToken() ?? '' });
    state.rt = new LS.RealtimeClient({
      baseUrl,
      token,
      onConnectionChange: (live) => {
        sync.live = live;
        renderSync();
      },
    });
    setConnection('Connecting…');
    try {
      await loadCollections();
    } catch (error) {
      show('error', error);
      if (error instanceof LS.UnauthorizedError) {
        sessionStorage.removeItem(TOKEN_KEY);
        await disconnect();
        setConnection('Token refused', false);
      } else {
        setConnection('Connected, with an error', false);
        $('connected').disabled = false;
      }
      return;
    }
    show('error', null);
    setConnection('Connected', true);
    $('connected').disabled = false;
    void loadRules();
  }

  async function disconnect() {
    closeCollection();
    leaveChannel();
    const rt = state.rt;
    state.rt = null;
    state.api = null;
    $('connected').disabled = true;
    if (rt !== null) await rt.close().catch(() => undefined);
    sync.live = false;
    renderSync();
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
  }

  async function forgetToken() {
    sessionStorage.removeItem(TOKEN_KEY);
    $('token').value = '';
    await disconnect();
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
    state.snapshotEntry = null;
    clearTimeout(state.refreshTimer);
  }

  async function openCollection(name) {
    if (!name) return;
    closeCollection();
    state.collection = name;
    state.cursors = [null];
    state.page = 0;
    $('documents-of').textContent = `in ${name}`;
    $('write-to').textContent = `to ${name}`;
    $('indexes-of').textContent = `of ${name}`;
    $('changes').replaceChildren();
    show('error', null);
    subscribe(name);
    void loadIndexes();
    await loadPage();
  }

  async function loadPage() {
    const collection = state.collection;
    if (collection === null) return;
    const query = { limit: Number($('page-size').value) };
    const prefix = $('prefix').value;
    if (prefix !== '') query.prefix = prefix;
    const cursor = state.cursors[state.page];
    if (cursor !== null) query.cursor = cursor;
    let data;
    try {
      ({ data } = await LS.listDocuments({ client: state.api, path: { collection }, query }));
    } catch (error) {
      show('error', error);
      return;
    }
    if (collection !== state.collection) return;
    renderDocuments(data.items);
    state.nextCursor = data.next_cursor ?? null;
    const first = data.items[0]?.key;
    const last = data.items[data.items.length - 1]?.key;
    $('page-info').textContent =
      data.items.length === 0
        ? `Page ${state.page + 1}: no documents`
        : `Page ${state.page + 1}: ${data.items.length} documents, ${first} … ${last}`;
    $('first-page').disabled = state.page === 0;
    $('prev-page').disabled = state.page === 0;
    $('next-page').disabled = state.nextCursor === null;
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
        { data: { key: doc.key } },
        el('th', { attrs: { scope: 'row' } }, el('code', { text: doc.key })),
        el('td', { text: String(doc.rev) }),
        el('td', { text: timeOf(doc.updated_at), attrs: { title: doc.updated_at } }),
        el('td', { className: 'value' }, el('code', { text: shorten(valueText), attrs: { title: shorten(valueText, 2000) } })),
        el('td', {}, edit),
      );
    });
    $('documents').tBodies[0].replaceChildren(...rows);
  }

  /** A change arrived: reload the page shown (once, shortly) so the table follows. */
  function scheduleRefresh() {
    clearTimeout(state.refreshTimer);
    state.refreshTimer = setTimeout(() => void loadPage(), 200);
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
        scheduleRefresh();
      }
    } catch (error) {
      if (state.sub === mine) {
        status.textContent = 'The subscription ended';
        show('error', error);
      }
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
    } catch (error) {
      show('write-error', error);
      return;
    }
    try {
      const { data, response } = await tracked(() => LS.putDocument({ client: state.api, path, body }));
      const verb = response.status === 201 ? 'Created' : 'Replaced';
      $('write-result').textContent = `${verb} ${data.key} in ${data.collection}: rev ${data.rev}`;
      void loadCollections().catch(() => undefined);
    } catch (error) {
      show('write-error', error);
    }
  }

  async function deleteDocument() {
    $('write-result').textContent = '';
    show('write-error', null);
    try {
      const path = writeTarget();
      await tracked(() => LS.deleteDocument({ client: state.api, path }));
      $('write-result').textContent = `Deleted ${path.key} from ${path.collection}`;
      void loadCollections().catch(() => undefined);
    } catch (error) {
      show('write-error', error);
    }
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
    state.cursors = [null];
    state.page = 0;
    return loadPage();
  });
  onClick('first-page', () => {
    state.page = 0;
    return loadPage();
  });
  onClick('prev-page', () => {
    state.page = Math.max(0, state.page - 1);
    return loadPage();
  });
  onClick('next-page', () => {
    if (state.nextCursor === null) return undefined;
    state.cursors[state.page + 1] = state.nextCursor;
    state.page += 1;
    return loadPage();
  });
  onClick('clear-changes', () => {
    $('changes').replaceChildren();
    state.snapshotEntry = null;
  });
  onSubmit('write-form', putDocument);
  onClick('delete-document', deleteDocument);
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
