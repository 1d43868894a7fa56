// Offline-first Levelstream (hand-written): live queries replicated into a local store,
// a durable outbox of writes applied optimistically, conflicts by rev. See README.md.
//
//   const db = await openDb({ baseUrl, token, onConflict });
//   const notes = await db.collection('notes').where('doc.owner == "alice"').live();
//   notes.subscribe(() => render(notes.docs()));  // [{ key, value, rev, pending }]
//   await db.collection('notes').put('n1', { owner: 'alice', text: 'milk' });  // shows at once
//   db.onStatus((s) => show(s.state, s.pending));  // 'online' | 'offline' | 'syncing'
//   db.onConflicts((list) => renderNotTaken(list));  // here and in every other tab
//
// Guarantees, each kept in one place:
// - A live query's local copy is the server's view at `seq` (snapshot, then changes with
//   enter/leave, resumed from `seq` after any disconnect or reload); `history_compacted` or
//   a `reset` takes a fresh snapshot that replaces the copy in one store transaction.
// - A write goes to the outbox (durable) first, shows at once in every open view with
//   `pending: true`, and is sent in order, once, as a conditional write on the rev it was
//   based on, with an `Idempotency-Key` (a retry after a lost answer or a reload is
//   recognised by the server, never applied twice). It leaves the outbox when every live
//   query of its collections has applied its seq (a filtered query that hears nothing of
//   it is caught up through the change log).
// - A 412 goes to `onConflict` (retry on the server's rev, drop, or a merged value);
//   without a handler, or when it answers nothing, the server wins and the intent is kept
//   in `conflicts`. A refusal (403, 422, ...) is kept there too: never silently lost.
//   `onConflicts` listeners hear every change of that list, made in this tab or another.
// - The status says whether the server is reachable, with no live query open too: the
//   holder keeps its connection up while the Db is open (`RealtimeClient.connect`).
// - Tabs: one holds the connection (a Web Lock); the others read and queue through the
//   shared IndexedDB and hear of changes on a BroadcastChannel: the changed documents with
//   their seq (applied to the view as they are; the store is read again only after a gap),
//   or that the outbox changed (re-read; the views recompute only the documents whose queued
//   ops differ). The holder follows a query while this tab or another holds it: tabs renew a
//   lease on their queries (`leaseMs`), so a closed or crashed tab's queries are unsubscribed.
import { compileFilter, type Predicate } from '../cel.js';
import { resolveToken, type TokenSource } from '../connect.js';
import { errorFromProblem, HistoryCompactedError, LevelstreamError } from '../errors.js';
import { RealtimeClient, type RealtimeOptions } from '../realtime.js';
import { Subscription, type Change, jwtExpiryMs } from '../realtime-streams.js';
import { IdbStore } from './idb-store.js';
import {
  FileStore,
  MemoryStore,
  type Conflict,
  type LocalStore,
  type OutboxEntry,
  type QueryRecord,
  type QueuedOp,
  type StoredDoc,
} from './store.js';

export * from './store.js';
export { IdbStore } from './idb-store.js';

/** A document of a live query's local view (shared with the replica: read it, do not change it). */
export interface LocalDocument {
  key: string;
  value: unknown;
  /** The rev the server last showed (null: created locally, not yet acknowledged). */
  rev: number | null;
  /** A queued local write touches it: not yet acknowledged and seen back. */
  pending: boolean;
}

/**
 * A server document as a view holds it: one object, in `base` and (while no queued write
 * touches it) shown as it is, so opening a view copies no document.
 */
export interface ServerDocument extends LocalDocument {
  rev: number;
  pending: false;
}

const serverDocument = (doc: StoredDoc): ServerDocument => ({ key: doc.key, value: doc.value, rev: doc.rev, pending: false });

export type ConnectionState = 'online' | 'offline' | 'syncing';
export interface SyncStatus {
  state: ConnectionState;
  /** Queued writes not yet acknowledged and seen back. */
  pending: number;
  /** This tab holds the connection (the others go through the shared store). */
  leader: boolean;
}

/** What the conflict handler is given: the queued write and the server's document now. */
export interface ConflictContext {
  intent: QueuedOp[];
  /** The op the server refused (a batch names it). */
  op: QueuedOp;
  server: { key: string; value: unknown; rev: number } | null;
}
/**
 * `'retry'`: send the intent again, based on the server's current rev (local wins);
 * `'drop'`: forget it (server wins, not reported); `{ merged }`: put this value instead,
 * based on the server's rev; nothing: server wins and the intent goes to `conflicts`.
 */
export type ConflictResolution = 'retry' | 'drop' | { merged: unknown } | undefined | void;
export type ConflictHandler = (conflict: ConflictContext) => ConflictResolution | Promise<ConflictResolution>;

export interface OfflineOptions {
  baseUrl: string;
  token: TokenSource;
  /**
   * `indexeddb` (default where there is one), `memory` (default elsewhere), `{ file }`
   * (Node: a JSON file), or a `LocalStore` of your own.
   */
  storage?: 'indexeddb' | 'memory' | { file: string } | LocalStore;
  /** Names the store with the URL (default: the JWT's `sub`, else a hash of the token). */
  principal?: string;
  onConflict?: ConflictHandler;
  /** Share the store and one connection between tabs (default: true where Web Locks exist). */
  multiTab?: boolean;
  /** Passed to the RealtimeClient (e.g. `WebSocket`, `transport`). */
  realtime?: Partial<RealtimeOptions>;
  fetch?: typeof fetch;
  /** Delay before retrying sends after a network failure (ms, default 1000). */
  retryMs?: number;
  /**
   * How long the tab holding the connection keeps following this tab's queries without
   * hearing from it (ms, default 10000; renewed every third of it): the bound on how long
   * a crashed tab's queries stay subscribed.
   */
  leaseMs?: number;
}

/** A query by what it asks: a collection and a CEL filter (null: every document). */
export interface QuerySpec {
  collection: string;
  where: string | null;
}

/** What tabs tell each other on the BroadcastChannel (all but `want`/`bye` come from the holder). */
type Message =
  /** A batch of a query's changes, stored: (from, seq] as the documents it put and removed. */
  | { type: 'docs'; query: string; from: number | null; seq: number; puts: StoredDoc[]; removed: string[] }
  /** A query's copy was replaced (a fresh snapshot): read it again. */
  | { type: 'replaced'; query: string }
  | { type: 'outbox' }
  | { type: 'conflicts' }
  /** Whether the holder reaches the server (`online`) or not (`offline`). */
  | { type: 'status'; state: ConnectionState }
  /** A tab's lease on its queries, the whole list (renewed every leaseMs / 3). */
  | { type: 'want'; tab: string; queries: QuerySpec[]; leaseMs: number }
  /** A tab closed: its leases end now. */
  | { type: 'bye'; tab: string }
  | { type: 'leader' };

interface Feed {
  record: QueryRecord;
  sub: Subscription | null;
  closed: boolean;
}

/** The first wait for the subscriptions before asking the change log, doubled up to the last. */
const CATCH_UP_FIRST_MS = 100;
const CATCH_UP_MAX_MS = 2000;
/** The id of an outbox entry shown in the views but not stored yet (sorts after every stored one). */
const UNSAVED = Number.MAX_SAFE_INTEGER;

const docId = (collection: string, key: string): string => `${collection}\u0000${key}`;
const queryId = (collection: string, where: string | null): string => `${collection}\u0000${where ?? ''}`;
// A key may hold `/`: the path takes the rest of it, so only the segments are escaped.
const docPath = (collection: string, key: string): string =>
  `/v1/collections/${encodeURIComponent(collection)}/docs/${key.split('/').map(encodeURIComponent).join('/')}`;

/** RFC 7396: the merge of `patch` into `target`. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const base: Record<string, unknown> =
    target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...(target as object) } : {};
  for (const [name, value] of Object.entries(patch)) {
    if (value === null) delete base[name];
    else base[name] = mergePatch(base[name], value);
  }
  return base;
}

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

async function principalOf(token: string): Promise<string> {
  const part = token.split('.')[1];
  if (jwtExpiryMs(token) !== null && part !== undefined) {
    try {
      const payload = JSON.parse(atob(part.replace(/-/g, '+').replace(/_/g, '/'))) as { sub?: unknown };
      if (typeof payload.sub === 'string') return `sub:${payload.sub}`;
    } catch {
      // not a JWT after all
    }
  }
  return `token:${(await sha256Hex(token)).slice(0, 16)}`;
}

/** Open the offline database for this server and principal. */
export async function openDb(options: OfflineOptions): Promise<OfflineDb> {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const principal = options.principal ?? (await principalOf(await resolveToken(options.token)));
  const name = `levelstream:${baseUrl}:${principal}`;
  const storage = options.storage ?? (typeof indexedDB === 'undefined' ? 'memory' : 'indexeddb');
  let store: LocalStore;
  if (storage === 'indexeddb') store = await IdbStore.open(name);
  else if (storage === 'memory') store = new MemoryStore();
  else if ('file' in storage) store = await FileStore.open(storage.file);
  else store = storage;
  const db = new OfflineDb({ ...options, baseUrl }, store, name);
  await db.start();
  return db;
}

/** The writes of one collection, and its queries. */
export class CollectionRef {
  constructor(
    private readonly db: OfflineDb,
    readonly name: string,
  ) {}

  where(expression: string): QueryRef {
    return new QueryRef(this.db, this.name, expression);
  }

  /** Every document of the collection the caller may read, replicated. */
  live(): Promise<LiveQuery> {
    return new QueryRef(this.db, this.name, null).live();
  }

  put(key: string, value: unknown): Promise<void> {
    return this.db.write([{ op: 'put', collection: this.name, key, value }]);
  }

  patch(key: string, patch: unknown): Promise<void> {
    return this.db.write([{ op: 'patch', collection: this.name, key, value: patch }]);
  }

  delete(key: string): Promise<void> {
    return this.db.write([{ op: 'delete', collection: this.name, key }]);
  }
}

export class QueryRef {
  constructor(
    private readonly db: OfflineDb,
    readonly collection: string,
    readonly where: string | null,
  ) {}

  /** The replicated query: answers from the local store at once, kept current while open. */
  live(): Promise<LiveQuery> {
    return this.db.openQuery(this.collection, this.where);
  }
}

/** A live query's local view: the server's documents at `seq`, with local writes on top. */
export class LiveQuery {
  /** The seq of the server's state the view reflects (null: no snapshot yet). */
  seq: number | null = null;
  /** The server's documents (by key), as of `seq`. */
  base = new Map<string, ServerDocument>();
  /**
   * The documents queued writes make (null: they take it out of the view), over `base`: the
   * view is `base` with these on top, so it is never copied (opening one builds `base` alone).
   */
  private overlay = new Map<string, LocalDocument | null>();
  private listeners = new Set<(query: LiveQuery) => void>();
  readonly matches: Predicate | null;
  /** Why the replica stopped following the server (e.g. `ForbiddenError`), else null. */
  error: unknown = null;
  /** @internal Being read from the store: changes heard meanwhile wait here. */
  inbox: Array<Extract<Message, { type: 'docs' }>> | null = null;
  /** @internal Reads of the store, one after another, and how many are queued. */
  loading: Promise<void> = Promise.resolve();
  loads = 0;

  constructor(
    private readonly db: OfflineDb,
    readonly id: string,
    readonly collection: string,
    readonly where: string | null,
  ) {
    this.matches = where === null ? null : compileFilter(where);
  }

  /** The documents, ordered by key. */
  docs(): LocalDocument[] {
    const docs: LocalDocument[] = [];
    for (const doc of this.base.values()) if (!this.overlay.has(doc.key)) docs.push(doc);
    for (const doc of this.overlay.values()) if (doc !== null) docs.push(doc);
    return docs.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  get(key: string): LocalDocument | undefined {
    const local = this.overlay.get(key);
    return local === undefined ? this.base.get(key) : (local ?? undefined);
  }

  get size(): number {
    let size = this.base.size;
    for (const [key, doc] of this.overlay) {
      if (doc === null && this.base.has(key)) size -= 1;
      else if (doc !== null && !this.base.has(key)) size += 1;
    }
    return size;
  }

  /** Called after every change of the view (local write, server change, snapshot). */
  subscribe(listener: (query: LiveQuery) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.db.closeQuery(this);
  }

  /** @internal */
  notify(): void {
    for (const listener of this.listeners) listener(this);
  }

  /** @internal The server's documents at `seq` (a read of the store, a fresh snapshot). */
  setBase(seq: number | null, docs: StoredDoc[]): void {
    this.seq = seq;
    this.base = new Map();
    for (const doc of docs) this.base.set(doc.key, serverDocument(doc));
  }

  /** @internal The server's document `doc` as of a batch of changes (null: removed). */
  setServer(key: string, doc: StoredDoc | null): void {
    if (doc === null) this.base.delete(key);
    else this.base.set(key, serverDocument(doc));
  }

  /** @internal Recompute `keys` (all: null) from the server's copy and the outbox. */
  recompute(keys: Iterable<string> | null, outbox: Map<string, QueuedOp[]>): void {
    if (keys === null) {
      this.overlay.clear();
      for (const id of outbox.keys()) {
        const [collection, key] = id.split('\u0000') as [string, string];
        if (collection === this.collection) this.recomputeKey(key, outbox);
      }
      return;
    }
    for (const key of keys) this.recomputeKey(key, outbox);
  }

  private recomputeKey(key: string, outbox: Map<string, QueuedOp[]>): void {
    const ops = outbox.get(docId(this.collection, key)) ?? [];
    if (ops.length === 0) {
      this.overlay.delete(key); // the server's document (or none) shows
      return;
    }
    let doc: LocalDocument | undefined = this.base.get(key);
    for (const op of ops) doc = this.applyOp(doc, op); // a new object: the server's stays as it is
    this.overlay.set(key, doc ?? null);
  }

  /** @internal One queued op on the view's document: optimistic, filtered like the server. */
  applyOp(doc: LocalDocument | undefined, op: QueuedOp): LocalDocument | undefined {
    let value: unknown;
    if (op.op === 'delete') return undefined;
    if (op.op === 'put') value = op.value;
    else if (doc === undefined) return undefined; // a patch of a document this view lacks
    else value = mergePatch(doc.value, op.value);
    const rev = doc?.rev ?? null;
    if (this.matches !== null && !this.matches({ doc: value, key: op.key, rev })) return undefined;
    return { key: op.key, value, rev, pending: true };
  }

  /** @internal A local write, shown at once. */
  applyLocal(op: QueuedOp): void {
    this.overlay.set(op.key, this.applyOp(this.get(op.key), op) ?? null);
  }
}

export class OfflineDb {
  /** Writes the server did not take (server-wins conflicts, refusals), oldest first. */
  conflicts: Conflict[] = [];
  private outbox: OutboxEntry[] = [];
  private outboxByDoc = new Map<string, QueuedOp[]>();
  private queries = new Map<string, LiveQuery>();
  private feeds = new Map<string, Feed>();
  private statusListeners = new Set<(status: SyncStatus) => void>();
  private conflictListeners = new Set<(conflicts: Conflict[]) => void>();
  private rt: RealtimeClient | null = null;
  private leader = false;
  /** The holder: its realtime connection is up (whichever transport: WebSocket or SSE). */
  private connected = false;
  /** The holder: the last send failed on the network (retried after `retryMs`). */
  private sendFailing = false;
  /** Not the holder: whether the holder said it reaches the server. */
  private holderReaches = false;
  /** The holder: what it last told the other tabs (null: nothing yet). */
  private toldReaches: boolean | null = null;
  private flushing: Promise<void> | null = null;
  private flushAgain = false;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private catchUpTimer: ReturnType<typeof setTimeout> | null = null;
  private catchUpMs = CATCH_UP_FIRST_MS;
  private channel: BroadcastChannel | null = null;
  private releaseLock: (() => void) | null = null;
  private closed = false;
  private reloading: Promise<void> | null = null;
  private outboxSync: Promise<void> | null = null;
  private outboxAgain = false;
  /** Written and shown, not yet in the store (their id is UNSAVED). */
  private unsaved = new Set<OutboxEntry>();
  /** Of those, the ones waiting for the next store transaction. */
  private toSave: OutboxEntry[] = [];
  private saving: Promise<void> = Promise.resolve();
  /** This instance's name in leases. */
  private readonly tab = crypto.randomUUID();
  /** Queries the app opened here (the others are followed for other tabs). */
  private own = new Set<string>();
  /** The holder: per query, the tabs holding a lease on it and until when. */
  private leases = new Map<string, Map<string, number>>();
  private leaseTimer: ReturnType<typeof setInterval> | null = null;
  private onPageHide: (() => void) | null = null;

  constructor(
    private readonly options: OfflineOptions,
    readonly store: LocalStore,
    readonly name: string,
  ) {}

  /** @internal */
  async start(): Promise<void> {
    await this.reloadOutbox();
    this.conflicts = await this.store.readConflicts();
    const locks = (globalThis as { navigator?: { locks?: LockManager } }).navigator?.locks;
    const multiTab = (this.options.multiTab ?? true) && locks !== undefined && typeof BroadcastChannel !== 'undefined';
    if (!multiTab) {
      this.becomeLeader();
      return;
    }
    this.channel = new BroadcastChannel(this.name);
    this.channel.onmessage = (ev: MessageEvent<Message>) => this.onMessage(ev.data);
    this.renewLease(); // a holder answers with whether it reaches the server
    // Renew this tab's lease; as the holder, drop the leases of tabs gone silent.
    this.leaseTimer = setInterval(() => (this.leader ? this.expireLeases() : this.renewLease()), this.leaseMs / 3);
    const target = globalThis as { addEventListener?: (type: string, listener: () => void) => void };
    if (typeof target.addEventListener === 'function') {
      this.onPageHide = () => this.post({ type: 'bye', tab: this.tab });
      target.addEventListener('pagehide', this.onPageHide);
    }
    // The lock is held while this tab lives: when it closes or reloads, another takes over.
    void locks!.request(this.name, () => {
      if (this.closed) return undefined;
      this.becomeLeader();
      return new Promise<void>((resolve) => (this.releaseLock = resolve));
    });
  }

  collection(name: string): CollectionRef {
    return new CollectionRef(this, name);
  }

  /** Queue several writes as one batch: sent together, all or nothing. */
  batch(ops: Array<Omit<QueuedOp, 'base'>>): Promise<void> {
    return this.write(ops);
  }

  /**
   * Derived here alone, from the state itself: `offline` while the server cannot be reached
   * (the holder's connection is down, or its sends fail on the network and back off),
   * else `syncing` while writes are pending, else `online`.
   */
  get status(): SyncStatus {
    const pending = this.outbox.length;
    const reaches = this.leader ? this.reachesServer() : this.holderReaches;
    const state: ConnectionState = !reaches ? 'offline' : pending > 0 ? 'syncing' : 'online';
    return { state, pending, leader: this.leader };
  }

  /** The holder: connected, and no unsent write is waiting out a network failure. */
  private reachesServer(): boolean {
    const backingOff = this.sendFailing && this.outbox.some((entry) => entry.ackSeq === null);
    return this.connected && !backingOff;
  }

  /** Called now and at every change of the status; returns the unsubscribe. */
  onStatus(listener: (status: SyncStatus) => void): () => void {
    this.statusListeners.add(listener);
    listener(this.status);
    return () => this.statusListeners.delete(listener);
  }

  /**
   * Called now with `conflicts` and whenever that list changes: a new conflict or refusal,
   * `dismissConflict`, `clearConflicts`, here or in another tab. Returns the unsubscribe.
   */
  onConflicts(listener: (conflicts: Conflict[]) => void): () => void {
    this.conflictListeners.add(listener);
    listener(this.conflicts);
    return () => this.conflictListeners.delete(listener);
  }

  /**
   * The one place `conflicts` changes: set it, tell the other tabs (if `post`) and, when it
   * is another list (by ids: a read of the store that finds the same is not a change), the
   * listeners.
   */
  private setConflicts(conflicts: Conflict[], post: boolean): void {
    const ids = (list: Conflict[]): string => list.map((c) => c.id).join(',');
    const changed = ids(conflicts) !== ids(this.conflicts);
    this.conflicts = conflicts;
    if (post) this.post({ type: 'conflicts' });
    if (changed) for (const listener of this.conflictListeners) listener(conflicts);
  }

  async clearConflicts(): Promise<void> {
    await this.store.clearConflicts();
    this.setConflicts([], true);
  }

  /**
   * Forget one of `conflicts` (the app dealt with it: wrote it again, or let the server's
   * version stand), here and in every tab; the others stay.
   */
  async dismissConflict(conflict: Conflict | number): Promise<void> {
    const id = typeof conflict === 'number' ? conflict : conflict.id;
    await this.store.removeConflict(id);
    this.setConflicts(
      this.conflicts.filter((c) => c.id !== id),
      true,
    );
  }

  /** The queries this instance's connection follows (its own and other tabs'); none unless it holds it. */
  following(): QuerySpec[] {
    return [...this.feeds.values()].map((feed) => ({ collection: feed.record.collection, where: feed.record.where }));
  }

  async close(): Promise<void> {
    this.closed = true;
    this.post({ type: 'bye', tab: this.tab });
    if (this.leaseTimer !== null) clearInterval(this.leaseTimer);
    if (this.onPageHide !== null) {
      (globalThis as unknown as { removeEventListener(type: string, listener: () => void): void }).removeEventListener(
        'pagehide',
        this.onPageHide,
      );
    }
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    if (this.catchUpTimer !== null) clearTimeout(this.catchUpTimer);
    for (const feed of this.feeds.values()) {
      feed.closed = true;
      feed.sub?.close();
    }
    await this.rt?.close();
    await this.flushing;
    this.channel?.close();
    this.releaseLock?.();
    this.store.close();
  }

  // --- queries --------------------------------------------------------------------------

  /** @internal The app opens a query here. */
  async openQuery(collection: string, where: string | null): Promise<LiveQuery> {
    this.own.add(queryId(collection, where));
    const query = await this.replicate(collection, where);
    if (!this.leader) this.renewLease();
    return query;
  }

  /** The query's local copy, loaded and (when this tab holds the connection) followed. */
  private async replicate(collection: string, where: string | null): Promise<LiveQuery> {
    const id = queryId(collection, where);
    const open = this.queries.get(id);
    if (open !== undefined) return open;
    const query = new LiveQuery(this, id, collection, where);
    this.queries.set(id, query);
    await this.loadQuery(query);
    if (this.leader) this.startFeed(collection, where);
    return query;
  }

  /** @internal The app closes a query: it stays followed while another tab holds it. */
  closeQuery(query: LiveQuery): void {
    this.own.delete(query.id);
    if (this.leader) this.release(query.id);
    else {
      this.queries.delete(query.id);
      this.renewLease();
    }
  }

  /** The holder stops following a query nobody holds (the app here, or a tab's lease). */
  private release(id: string): void {
    if (this.own.has(id) || (this.leases.get(id)?.size ?? 0) > 0) return;
    this.leases.delete(id);
    this.queries.delete(id);
    const feed = this.feeds.get(id);
    if (feed !== undefined) {
      feed.closed = true;
      feed.sub?.close();
      this.feeds.delete(id);
    }
  }

  /** Read the query's copy from the store (queued after any read under way). */
  private loadQuery(query: LiveQuery): Promise<void> {
    query.inbox ??= [];
    query.loads += 1;
    const read = async (): Promise<void> => {
      const { record, docs } = await this.store.readQuery(query.id);
      query.setBase(record?.seq ?? null, docs);
      query.recompute(null, this.outboxByDoc);
    };
    query.loading = query.loading.then(read, read).finally(() => {
      if (--query.loads > 0) return;
      // Changes heard while reading: those the store did not have yet apply on top.
      const heard = query.inbox ?? [];
      query.inbox = null;
      for (const message of heard) this.applyHeard(query, message);
    });
    return query.loading;
  }

  /** Read a query again for the app (a gap, a fresh snapshot): a failure is the query's error. */
  private reloadQuery(query: LiveQuery): void {
    this.loadQuery(query).then(
      () => query.notify(),
      (error: unknown) => {
        query.error = error;
        query.notify();
      },
    );
  }

  /** A batch the holder stored: apply it as it is, or read the query again after a gap. */
  private applyHeard(query: LiveQuery, message: Extract<Message, { type: 'docs' }>): void {
    if (query.inbox !== null) {
      query.inbox.push(message);
      return;
    }
    if (query.seq !== null && message.seq <= query.seq) return; // already in what was read
    if (query.seq === null || message.from === null || message.from > query.seq) {
      this.reloadQuery(query); // missed one: the store has it
      return;
    }
    // (from, seq] on a copy at query.seq >= from: the documents it touched are as of seq.
    for (const key of message.removed) query.setServer(key, null);
    for (const doc of message.puts) query.setServer(doc.key, doc);
    query.seq = message.seq;
    query.recompute([...message.removed, ...message.puts.map((d) => d.key)], this.outboxByDoc);
    query.notify();
  }

  // --- writes ---------------------------------------------------------------------------

  /**
   * @internal Queue `ops` (one entry) and show them at once (synchronously: the views and
   * their listeners before this returns); resolves once the entry is stored. Storing waits
   * for the end of the current turn, so the writes of one turn share one store transaction;
   * nothing is sent before it is stored (`flush` stops at an unsaved entry).
   */
  async write(ops: Array<Omit<QueuedOp, 'base'>>): Promise<void> {
    const queued: QueuedOp[] = ops.map((op) => ({ ...op, base: this.baseOf(op.collection, op.key) }));
    const entry: OutboxEntry = {
      id: UNSAVED, // until the store numbers it
      idempotencyKey: crypto.randomUUID(),
      ops: queued,
      createdAt: Date.now(),
      ackSeq: null,
    };
    this.addToOutbox(entry);
    for (const op of queued) {
      for (const query of this.queries.values()) if (query.collection === op.collection) query.applyLocal(op);
    }
    this.notifyQueries(queued.map((op) => op.collection));
    this.emitStatus();
    this.unsaved.add(entry);
    this.toSave.push(entry);
    // The first of a turn's writes starts the save (after the one under way); the others join it.
    if (this.toSave.length === 1) this.saving = this.saving.then(this.saveQueued, this.saveQueued);
    await this.saving;
    this.post({ type: 'outbox' });
    if (this.leader) void this.flush();
  }

  /**
   * Store the entries written since the last save, in one transaction, and number them. If
   * the store refuses, they were never queued: they leave the views, and their writes reject.
   */
  private saveQueued = async (): Promise<void> => {
    const batch = this.toSave.splice(0);
    let ids: number[];
    try {
      ids = await this.store.addOutbox(batch.map(({ id: _unnumbered, ...row }) => row));
    } catch (error) {
      for (const entry of batch) this.unsaved.delete(entry);
      this.indexOutbox(this.outbox.filter((entry) => !batch.includes(entry)));
      for (const query of this.queries.values()) {
        query.recompute(batch.flatMap((entry) => entry.ops.map((op) => op.key)), this.outboxByDoc);
        query.notify();
      }
      this.emitStatus();
      throw error;
    }
    batch.forEach((entry, index) => {
      entry.id = ids[index]!;
      this.unsaved.delete(entry);
    });
  };

  /** The stored outbox and, after it, what is shown but not stored yet (once: by idempotency key). */
  private withUnsaved(stored: OutboxEntry[]): OutboxEntry[] {
    if (this.unsaved.size === 0) return stored;
    const keys = new Set(stored.map((entry) => entry.idempotencyKey));
    return [...stored, ...[...this.unsaved].filter((entry) => !keys.has(entry.idempotencyKey))];
  }

  /** The rev a new write is based on: the previous queued op's, or the server's copy's. */
  private baseOf(collection: string, key: string): QueuedOp['base'] {
    if ((this.outboxByDoc.get(docId(collection, key)) ?? []).length > 0) return 'chain';
    for (const query of this.queries.values()) {
      const doc = query.collection === collection ? query.base.get(key) : undefined;
      if (doc !== undefined) return doc.rev;
    }
    return null;
  }

  private addToOutbox(entry: OutboxEntry): void {
    this.outbox.push(entry);
    for (const op of entry.ops) {
      const id = docId(op.collection, op.key);
      const list = this.outboxByDoc.get(id) ?? [];
      list.push(op);
      this.outboxByDoc.set(id, list);
    }
  }

  private indexOutbox(entries: OutboxEntry[]): void {
    this.outbox = [];
    this.outboxByDoc = new Map();
    for (const entry of entries.sort((a, b) => a.id - b.id)) this.addToOutbox(entry);
  }

  private async reloadOutbox(): Promise<void> {
    this.indexOutbox(this.withUnsaved(await this.store.readOutbox()));
  }

  /**
   * Another tab changed the outbox: read it again (it is small: queued writes), and
   * recompute only the documents whose queued ops differ. Coalesced.
   */
  private syncOutbox(): Promise<void> {
    if (this.outboxSync !== null) {
      this.outboxAgain = true;
      return this.outboxSync;
    }
    this.outboxSync = (async () => {
      try {
        do {
          this.outboxAgain = false;
          const before = this.outboxByDoc;
          this.outboxByDoc = new Map();
          this.indexOutbox(this.withUnsaved(await this.store.readOutbox()));
          const differs = new Set<string>();
          for (const id of new Set([...before.keys(), ...this.outboxByDoc.keys()])) {
            const was = JSON.stringify((before.get(id) ?? []).map((op) => [op.op, op.value]));
            const now = JSON.stringify((this.outboxByDoc.get(id) ?? []).map((op) => [op.op, op.value]));
            if (was !== now) differs.add(id);
          }
          for (const query of this.queries.values()) {
            const keys: string[] = [];
            for (const id of differs) {
              const [collection, key] = id.split('\u0000') as [string, string];
              if (collection === query.collection) keys.push(key);
            }
            if (keys.length === 0) continue;
            query.recompute(keys, this.outboxByDoc);
            query.notify();
          }
          this.emitStatus();
        } while (this.outboxAgain && !this.closed);
      } finally {
        this.outboxSync = null;
      }
    })();
    return this.outboxSync;
  }

  /** Read everything again (coalesced): when this tab takes the connection over. */
  private reloadAll(): Promise<void> {
    this.reloading ??= (async () => {
      try {
        await this.reloadOutbox();
        this.setConflicts(await this.store.readConflicts(), false);
        for (const query of this.queries.values()) await this.loadQuery(query);
        this.notifyQueries(null);
        this.emitStatus();
      } finally {
        this.reloading = null;
      }
    })();
    return this.reloading;
  }

  private notifyQueries(collections: string[] | null): void {
    for (const query of this.queries.values()) {
      if (collections === null || collections.includes(query.collection)) query.notify();
    }
  }

  // --- the leader: connection, feeds, sending ----------------------------------------------

  private becomeLeader(): void {
    if (this.closed) return;
    this.leader = true;
    const rt = new RealtimeClient({
      baseUrl: this.options.baseUrl,
      tokenProvider: () => resolveToken(this.options.token),
      backoffMaxMs: 2000,
      requestTimeoutMs: 2_000_000_000, // a replica waits for the network as long as it takes
      fetch: this.options.fetch,
      ...this.options.realtime,
      onConnectionChange: (connected) => {
        this.connected = connected;
        this.emitStatus();
        if (connected) void this.flush();
      },
    });
    this.rt = rt;
    // Up while the Db is open, wanted or not by a query: the status is whether the server
    // is reachable now, also for an app that only writes (docs/decisions.md).
    rt.connect();
    // The other tabs answer 'leader' with their leases.
    for (const query of this.queries.values()) this.startFeed(query.collection, query.where);
    this.post({ type: 'leader' });
    void this.reloadAll().then(() => this.flush());
  }

  /** Tell the listeners the status (and, as the holder, the other tabs whether it reaches the server). */
  private emitStatus(): void {
    if (this.leader && this.reachesServer() !== this.toldReaches) this.tellReach();
    const status = this.status;
    for (const listener of this.statusListeners) listener(status);
  }

  private tellReach(): void {
    this.toldReaches = this.reachesServer();
    this.post({ type: 'status', state: this.toldReaches ? 'online' : 'offline' });
  }

  private onMessage(message: Message): void {
    switch (message.type) {
      case 'docs': {
        const query = this.queries.get(message.query);
        if (query !== undefined && !this.leader) this.applyHeard(query, message);
        break;
      }
      case 'replaced': {
        const query = this.queries.get(message.query);
        if (query !== undefined && !this.leader) this.reloadQuery(query);
        break;
      }
      case 'outbox':
        void this.syncOutbox().then(() => this.flush());
        break;
      case 'conflicts':
        void this.store.readConflicts().then((conflicts) => this.setConflicts(conflicts, false));
        break;
      case 'status':
        if (!this.leader) {
          this.holderReaches = message.state !== 'offline';
          this.emitStatus();
        }
        break;
      case 'want':
        if (this.leader) this.takeLease(message);
        break;
      case 'bye':
        if (this.leader) this.dropLeases(message.tab);
        break;
      case 'leader':
        if (!this.leader) this.renewLease();
        break;
    }
  }

  /** Not the holder: tell it which queries this tab holds, for another leaseMs. */
  private renewLease(): void {
    if (this.leader || this.closed) return;
    const queries = [...this.queries.values()].map((q) => ({ collection: q.collection, where: q.where }));
    this.post({ type: 'want', tab: this.tab, queries, leaseMs: this.leaseMs });
  }

  private get leaseMs(): number {
    return this.options.leaseMs ?? 10_000;
  }

  /** The holder: a tab's whole list of queries, held until now + its leaseMs. */
  private takeLease(message: Extract<Message, { type: 'want' }>): void {
    const until = Date.now() + message.leaseMs;
    const wanted = new Set(message.queries.map((q) => queryId(q.collection, q.where)));
    for (const spec of message.queries) {
      const id = queryId(spec.collection, spec.where);
      let holders = this.leases.get(id);
      if (holders === undefined) this.leases.set(id, (holders = new Map()));
      holders.set(message.tab, until);
      void this.replicate(spec.collection, spec.where);
    }
    for (const [id, holders] of [...this.leases]) {
      if (!wanted.has(id) && holders.delete(message.tab)) this.release(id);
    }
    this.tellReach();
  }

  private dropLeases(tab: string): void {
    for (const [id, holders] of [...this.leases]) if (holders.delete(tab)) this.release(id);
  }

  private expireLeases(): void {
    const now = Date.now();
    for (const [id, holders] of [...this.leases]) {
      for (const [tab, until] of [...holders]) if (until < now) holders.delete(tab);
      this.release(id);
    }
  }

  private post(message: Message): void {
    this.channel?.postMessage(message);
  }

  private startFeed(collection: string, where: string | null): void {
    const id = queryId(collection, where);
    if (this.feeds.has(id) || this.rt === null) return;
    const feed: Feed = { record: { id, collection, where, seq: null, epoch: null }, sub: null, closed: false };
    this.feeds.set(id, feed);
    void this.runFeed(feed);
  }

  /** Follow one query: snapshot (when there is no seq) or resume, apply, repeat on a reset. */
  private async runFeed(feed: Feed): Promise<void> {
    const stored = await this.store.readRecord(feed.record.id);
    if (stored !== null) feed.record = stored;
    const rt = this.rt as RealtimeClient;
    while (!feed.closed && !this.closed) {
      const { collection, where, seq, epoch } = feed.record;
      const options = {
        collection,
        ...(where === null ? {} : { where }),
        ...(seq === null ? { snapshot: true } : { since: seq, ...(epoch === null ? {} : { epoch }) }),
      };
      let sub: Subscription;
      try {
        sub = await rt.subscribeWith((subId) => {
          const made = new Subscription(rt, subId, options);
          // An empty snapshot yields nothing: record it here (a full one is drained below).
          made.onSnapshotDone = (snapSeq, count) => {
            if (count === 0) void this.replaceSnapshot(feed, made, [], snapSeq);
          };
          return made;
        });
      } catch (error) {
        if (error instanceof HistoryCompactedError) {
          feed.record = { ...feed.record, seq: null, epoch: null };
          continue;
        }
        this.feedFailed(feed, error);
        return;
      }
      feed.sub = sub;
      try {
        await this.drain(feed, sub);
        return; // closed
      } catch (error) {
        if (!(error instanceof HistoryCompactedError)) {
          this.feedFailed(feed, error);
          return;
        }
        // history_compacted or rules_changed: a fresh snapshot replaces the copy (the
        // old one stays readable until then).
        feed.record = { ...feed.record, seq: null, epoch: null };
      }
    }
  }

  private feedFailed(feed: Feed, error: unknown): void {
    const query = this.queries.get(feed.record.id);
    if (query !== undefined) {
      query.error = error;
      query.notify();
    }
    this.feeds.delete(feed.record.id);
  }

  /** Apply the subscription's changes in batches (one store transaction each). */
  private async drain(feed: Feed, sub: Subscription): Promise<void> {
    // Snapshot documents come all at once (`snapshot: true`) after the snapshot is complete.
    let snapshot: StoredDoc[] | null = feed.record.seq === null ? [] : null;
    for (;;) {
      const first = await sub.next();
      if (first.done === true) return;
      const batch: Change[] = [first.value];
      // A snapshot is taken whole (its documents are all queued by now): one replacement.
      while (sub.pending > 0 && (snapshot !== null || batch.length < 5000)) {
        const more = await sub.next();
        if (more.done === true) break;
        batch.push(more.value);
      }
      if (snapshot !== null) {
        // The snapshot's documents come in one go (`snapshot: true`), then live changes.
        const rest: Change[] = [];
        for (const change of batch) {
          if (change.snapshot === true) snapshot.push({ key: change.key, value: change.value, rev: change.rev });
          else rest.push(change);
        }
        if (sub.snapshotPending) continue;
        const snapSeq = batch.find((c) => c.snapshot === true)?.seq;
        if (snapSeq !== undefined) await this.replaceSnapshot(feed, sub, snapshot, snapSeq);
        snapshot = null;
        if (rest.length > 0) await this.applyBatch(feed, sub, rest);
        continue;
      }
      await this.applyBatch(feed, sub, batch);
    }
  }

  private async replaceSnapshot(feed: Feed, sub: Subscription, docs: StoredDoc[], seq: number): Promise<void> {
    feed.record = { ...feed.record, seq, epoch: sub.epoch };
    await this.store.replaceQuery(feed.record, docs);
    this.post({ type: 'replaced', query: feed.record.id });
    const query = this.queries.get(feed.record.id);
    if (query !== undefined) query.setBase(seq, docs);
    await this.settleAcks(null);
  }

  private async applyBatch(feed: Feed, sub: Subscription, changes: Change[]): Promise<void> {
    const puts = new Map<string, StoredDoc>();
    const removed = new Set<string>();
    for (const change of changes) {
      if (change.op === 'put') {
        puts.set(change.key, { key: change.key, value: change.value, rev: change.rev });
        removed.delete(change.key);
      } else {
        puts.delete(change.key);
        removed.add(change.key);
      }
    }
    const seq = changes[changes.length - 1]!.seq;
    const from = feed.record.seq;
    feed.record = { ...feed.record, seq, epoch: sub.epoch ?? feed.record.epoch };
    await this.store.applyChanges(feed.record, [...puts.values()], [...removed]);
    this.post({ type: 'docs', query: feed.record.id, from, seq, puts: [...puts.values()], removed: [...removed] });
    const query = this.queries.get(feed.record.id);
    if (query !== undefined) {
      query.seq = seq;
      for (const key of removed) query.setServer(key, null);
      for (const doc of puts.values()) query.setServer(doc.key, doc);
    }
    await this.settleAcks([...puts.keys(), ...removed]);
  }

  /**
   * Acknowledged entries leave the outbox once every live query of their collections has
   * applied their seq (not "once their change arrives": a write that leaves or never enters
   * a filtered view has no change to wait for; `catchUp` moves such a query's seq). A query
   * that stopped following the server (its `error`) is not waited for.
   */
  private async settleAcks(keys: string[] | null): Promise<void> {
    const settled = (entry: OutboxEntry): boolean =>
      entry.ackSeq !== null &&
      entry.ops.every((op) =>
        [...this.queries.values()].every(
          (query) =>
            query.collection !== op.collection ||
            query.error !== null ||
            (query.seq !== null && query.seq >= (entry.ackSeq as number)),
        ),
      );
    const done = this.outbox.filter(settled);
    for (const entry of done) await this.store.removeOutbox(entry.id);
    if (done.length > 0) this.indexOutbox(this.outbox.filter((e) => !done.includes(e)));
    const touched = new Set(keys ?? []);
    for (const entry of done) for (const op of entry.ops) touched.add(op.key);
    for (const query of this.queries.values()) {
      query.recompute(keys === null ? null : touched, this.outboxByDoc);
      query.notify();
    }
    if (done.length > 0) this.post({ type: 'outbox' });
    this.emitStatus();
    this.scheduleCatchUp();
  }

  /**
   * Everything is sent but acknowledged writes wait: give the subscriptions a moment, then
   * ask the change log whether a lagging query has anything left to hear (backing off
   * while writes keep waiting).
   */
  private scheduleCatchUp(): void {
    if (!this.leader || this.closed || this.catchUpTimer !== null) return;
    if (this.outbox.length === 0) {
      this.catchUpMs = CATCH_UP_FIRST_MS;
      return;
    }
    if (this.outbox.some((entry) => entry.ackSeq === null)) return; // the sender comes back here
    this.catchUpTimer = setTimeout(() => {
      this.catchUpTimer = null;
      void this.catchUp();
    }, this.catchUpMs);
    this.catchUpMs = Math.min(this.catchUpMs * 2, CATCH_UP_MAX_MS);
  }

  /** Catch up every query that has not applied the seq of a write to its collection. */
  private async catchUp(): Promise<void> {
    const waiting = new Map<string, number>();
    for (const entry of this.outbox) {
      if (entry.ackSeq === null) continue;
      for (const op of entry.ops) waiting.set(op.collection, Math.max(waiting.get(op.collection) ?? 0, entry.ackSeq));
    }
    for (const feed of [...this.feeds.values()]) {
      const needed = waiting.get(feed.record.collection);
      if (needed !== undefined && feed.record.seq !== null && feed.record.seq < needed) await this.catchUpFeed(feed);
    }
    if (!this.closed) await this.settleAcks([]);
  }

  /**
   * Move a query's seq to the server's head when its subscription has nothing to deliver
   * up to it. A filtered subscription hears only of changes to its view, so after a write
   * that does not touch the view its seq would never reach the write's; the change log with
   * the same filter from the same seq yields exactly the events the subscription would
   * (docs/queries.md), so none there means the copy is exact as of the head.
   */
  private async catchUpFeed(feed: Feed): Promise<void> {
    const { collection, where, seq: since, epoch: recorded } = feed.record;
    // An empty snapshot may be recorded before the subscribe reply named the epoch (its
    // frames can come first): the subscription knows it by now.
    const epoch = recorded ?? feed.sub?.epoch ?? null;
    if (since === null || epoch === null) return;
    const params = new URLSearchParams({ collection, since: String(since), limit: '1' });
    if (where !== null) params.set('where', where);
    let page: { changes?: unknown[]; head_seq?: unknown; epoch?: unknown };
    try {
      const response = await (this.options.fetch ?? fetch)(`${this.options.baseUrl}/v1/changes?${params}`, {
        headers: { Authorization: `Bearer ${await resolveToken(this.options.token)}` },
      });
      if (response.status !== 200) return; // compacted, refused, busy: the subscription has its own answer
      page = (await response.json()) as typeof page;
    } catch {
      return; // offline: tried again later
    }
    const head = page.head_seq;
    if ((page.changes?.length ?? 0) > 0 || typeof head !== 'number' || page.epoch !== epoch) return; // to deliver first
    if (feed.closed || this.closed || feed.record.seq !== since || feed.record.epoch !== recorded || head <= since) {
      return; // the subscription moved meanwhile (applied, or a fresh snapshot)
    }
    // Set before the store call (as applyBatch does): a batch applied meanwhile is after head.
    feed.record = { ...feed.record, seq: head, epoch };
    await this.store.applyChanges(feed.record, [], []);
    this.post({ type: 'docs', query: feed.record.id, from: since, seq: head, puts: [], removed: [] });
    const query = this.queries.get(feed.record.id);
    if (query !== undefined && query.seq !== null && query.seq < head) query.seq = head;
  }

  /** Send queued entries in order, one at a time, until the outbox is sent or the network fails. */
  private flush(): Promise<void> {
    if (!this.leader || this.closed) return Promise.resolve();
    if (this.flushing !== null) {
      this.flushAgain = true;
      return this.flushing;
    }
    this.flushing = (async () => {
      try {
        do {
          this.flushAgain = false;
          await this.syncOutbox(); // other tabs' entries too
          for (const entry of [...this.outbox]) {
            if (entry.id === UNSAVED) break; // not stored yet: sent after its save (which flushes)
            if (entry.ackSeq !== null) continue;
            const outcome = await this.sendEntry(entry);
            if (outcome === 'offline') return;
          }
        } while (this.flushAgain && !this.closed);
        await this.settleAcks([]);
      } finally {
        this.flushing = null;
      }
    })();
    return this.flushing;
  }

  private scheduleRetry(): void {
    if (this.retryTimer !== null || this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.flush();
    }, this.options.retryMs ?? 1000);
  }

  /** One entry: acknowledged, resolved as a conflict or refusal, or 'offline' (retry later). */
  private async sendEntry(entry: OutboxEntry): Promise<'done' | 'offline'> {
    for (;;) {
      let answer: { status: number; body: unknown };
      try {
        answer = await this.request(entry);
      } catch {
        this.sendFailing = true;
        this.emitStatus();
        this.scheduleRetry();
        return 'offline';
      }
      if (this.sendFailing) {
        this.sendFailing = false; // the server answered: the network is back
        this.emitStatus();
      }
      const { status, body } = answer;
      if (status < 300) {
        await this.acknowledge(entry, body);
        return 'done';
      }
      if (status === 409 || status === 429 || status >= 500) {
        this.scheduleRetry(); // in flight elsewhere, or the server is busy: later, same key
        return 'offline';
      }
      const error = errorFromProblem(body, status);
      if (status === 412) {
        if (await this.resolveConflict(entry, error)) continue; // resend, new base
        return 'done';
      }
      await this.reject(entry, error, null);
      return 'done';
    }
  }

  private async request(entry: OutboxEntry): Promise<{ status: number; body: unknown }> {
    const token = await resolveToken(this.options.token);
    const headers: Record<string, string> = {
      Authorization: `Bearer ${token}`,
      'Content-Type': 'application/json',
      'Idempotency-Key': entry.idempotencyKey,
    };
    const only = entry.ops.length === 1 ? entry.ops[0]! : null;
    let url: string;
    let method: string;
    let body: unknown;
    if (only !== null && only.op === 'put' && only.base === null) {
      // A create: the batch cannot say "must not exist", a PUT can.
      headers['If-None-Match'] = '*';
      url = `${this.options.baseUrl}${docPath(only.collection, only.key)}`;
      method = 'PUT';
      body = only.value;
    } else {
      url = `${this.options.baseUrl}/v1/batch`;
      method = 'POST';
      body = {
        ops: entry.ops.map((op) => ({
          op: op.op,
          collection: op.collection,
          key: op.key,
          ...(op.op === 'delete' ? {} : { value: op.value }),
          ...(typeof op.base === 'number' ? { if_rev: op.base } : {}),
        })),
      };
    }
    const response = await (this.options.fetch ?? fetch)(url, { method, headers, body: JSON.stringify(body) });
    const text = await response.text();
    let parsed: unknown = null;
    try {
      parsed = text === '' ? null : JSON.parse(text);
    } catch {
      parsed = { detail: text };
    }
    return { status: response.status, body: parsed };
  }

  /** Acknowledged: remember its seq, and base the next queued ops of its documents on it. */
  private async acknowledge(entry: OutboxEntry, body: unknown): Promise<void> {
    type Result = { rev?: number; deleted?: boolean; value?: unknown };
    const answer = body as Result & { seq?: number; results?: Result[] };
    entry.ackSeq = Number(answer.seq ?? answer.rev);
    this.catchUpMs = CATCH_UP_FIRST_MS; // a new write: ask soon again
    const results = answer.results ?? [answer];
    const revs = results.map((r) => (r.deleted === true ? null : Number(r.rev)));
    await this.store.putOutbox(entry);
    await this.rebaseSuccessors(entry, revs);
  }

  /** The ops queued after `entry` on its documents were 'chain': now they have a base. */
  private async rebaseSuccessors(entry: OutboxEntry, revs: Array<number | null>): Promise<void> {
    const later = this.outbox.filter((e) => e.id > entry.id);
    for (const [index, op] of entry.ops.entries()) {
      const next = later.find((e) => e.ops.some((o) => o.collection === op.collection && o.key === op.key));
      if (next === undefined) continue;
      for (const o of next.ops) {
        if (o.collection === op.collection && o.key === op.key && o.base === 'chain') o.base = revs[index] ?? null;
      }
      if (next.id === UNSAVED) await this.saving; // stored with the new base, or numbered for the update
      await this.store.putOutbox(next);
    }
  }

  /** A 412: ask the app. True: send the entry again (its base updated). */
  private async resolveConflict(entry: OutboxEntry, error: LevelstreamError): Promise<boolean> {
    const index = typeof error.problem.op_index === 'number' ? error.problem.op_index : 0;
    const op = entry.ops[index] ?? entry.ops[0]!;
    const server = await this.fetchDoc(op.collection, op.key);
    const handler = this.options.onConflict;
    const resolution = handler === undefined ? undefined : await handler({ intent: entry.ops, op, server });
    const currentRev = server?.rev ?? null;
    if (resolution === 'retry') {
      op.base = currentRev;
    } else if (resolution !== undefined && resolution !== 'drop' && typeof resolution === 'object') {
      op.op = 'put';
      op.value = resolution.merged;
      op.base = currentRev;
    } else {
      await this.reject(entry, error, resolution === 'drop' ? undefined : server);
      return false;
    }
    // A new idempotency key: this is another request than the one the server refused.
    entry.idempotencyKey = crypto.randomUUID();
    await this.store.putOutbox(entry);
    for (const query of this.queries.values()) {
      query.recompute([op.key], this.outboxByDoc); // a merged value shows now
      query.notify();
    }
    this.post({ type: 'outbox' });
    return true;
  }

  /** The entry is not taken: drop it (server wins), keeping it in `conflicts` unless dropped on purpose. */
  private async reject(entry: OutboxEntry, error: LevelstreamError, server: ConflictContext['server'] | undefined): Promise<void> {
    if (server !== undefined) {
      const conflict: Omit<Conflict, 'id'> = { intent: entry.ops, server, code: error.code, detail: error.detail, at: Date.now() };
      const id = await this.store.addConflict(conflict);
      this.setConflicts([...this.conflicts, { ...conflict, id }], false); // posted below, after the outbox
    }
    // Later ops on these documents were based on this one: base them where it was.
    await this.rebaseSuccessors(entry, entry.ops.map((op) => (typeof op.base === 'number' ? op.base : null)));
    await this.store.removeOutbox(entry.id);
    this.indexOutbox(this.outbox.filter((e) => e.id !== entry.id));
    for (const query of this.queries.values()) {
      query.recompute(entry.ops.map((op) => op.key), this.outboxByDoc);
      query.notify();
    }
    this.post({ type: 'outbox' });
    if (server !== undefined) this.post({ type: 'conflicts' });
    this.emitStatus();
  }

  private async fetchDoc(collection: string, key: string): Promise<ConflictContext['server']> {
    const response = await (this.options.fetch ?? fetch)(
      `${this.options.baseUrl}${docPath(collection, key)}`,
      { headers: { Authorization: `Bearer ${await resolveToken(this.options.token)}` } },
    );
    if (!response.ok) return null;
    const envelope = (await response.json()) as { key: string; value: unknown; rev: number };
    return { key: envelope.key, value: envelope.value, rev: envelope.rev };
  }
}
