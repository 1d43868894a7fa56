// The offline replica's durable state (hand-written): the documents of each live query
// with the seq they reflect, the outbox of local writes, and the conflicts kept for the
// app. One interface, three stores: IndexedDB (browsers: ./idb-store.ts), a JSON file
// (Node) and memory. Every method is one atomic step: a fresh snapshot replaces a
// query's documents and seq together, a batch of changes lands with its seq.

/** A document as the server last showed it to this replica. */
export interface StoredDoc {
  key: string;
  value: unknown;
  rev: number;
}

/** A live query's state: what it asks and the last seq applied (null: needs a snapshot). */
export interface QueryRecord {
  id: string;
  collection: string;
  where: string | null;
  seq: number | null;
  epoch: string | null;
}

/**
 * The rev a queued op was based on: a number (`If-Match` / `if_rev`), `null` (the
 * document did not exist here: a put is a create, `If-None-Match: *`), or `'chain'`
 * (an earlier queued op on the same document: its rev once it is acknowledged).
 */
export type BaseRev = number | null | 'chain';

export interface QueuedOp {
  op: 'put' | 'patch' | 'delete';
  collection: string;
  key: string;
  /** put: the value; patch: a JSON Merge Patch (RFC 7396). */
  value?: unknown;
  base: BaseRev;
}

/** One queued write (one op, or a batch: all or nothing), sent once with its idempotency key. */
export interface OutboxEntry {
  id: number;
  idempotencyKey: string;
  ops: QueuedOp[];
  createdAt: number;
  /** The seq the server gave it (acknowledged); it leaves the outbox once every live query of its collections has applied that seq. */
  ackSeq: number | null;
}

/** A queued write the server did not take: a 412 resolved server-wins, or a refusal. */
export interface Conflict {
  /** Its id in the store (`db.dismissConflict` takes it). */
  id: number;
  /** What the app wanted. */
  intent: QueuedOp[];
  /** The server's document when the conflict was found (null: it does not exist or is hidden). */
  server: { key: string; value: unknown; rev: number } | null;
  /** `precondition_failed` (a conflict), or the code of a refusal (`forbidden`, ...). */
  code: string;
  detail: string;
  at: number;
}

export interface LocalStore {
  readQuery(id: string): Promise<{ record: QueryRecord | null; docs: StoredDoc[] }>;
  /** The query's record alone (its seq), without reading its documents. */
  readRecord(id: string): Promise<QueryRecord | null>;
  /** A fresh snapshot: the query's documents and record replaced together. */
  replaceQuery(record: QueryRecord, docs: StoredDoc[]): Promise<void>;
  /** Changes applied: puts and removals with the record's new seq, together. */
  applyChanges(record: QueryRecord, puts: StoredDoc[], removed: string[]): Promise<void>;
  readOutbox(): Promise<OutboxEntry[]>;
  /** Appends, all in one step; resolves to the entries' ids (increasing: the send order). */
  addOutbox(entries: Array<Omit<OutboxEntry, 'id'>>): Promise<number[]>;
  putOutbox(entry: OutboxEntry): Promise<void>;
  removeOutbox(id: number): Promise<void>;
  readConflicts(): Promise<Conflict[]>;
  /** Appends; resolves to its id. */
  addConflict(conflict: Omit<Conflict, 'id'>): Promise<number>;
  /** Removes one (an id it does not have: nothing). */
  removeConflict(id: number): Promise<void>;
  clearConflicts(): Promise<void>;
  close(): void;
}

interface Snapshot {
  queries: Record<string, { record: QueryRecord; docs: Record<string, StoredDoc> }>;
  outbox: OutboxEntry[];
  conflicts: Conflict[];
  nextId: number;
}

const clone = <T>(value: T): T => structuredClone(value);

/** Everything in memory (lost with the process): tests, short-lived tools. */
export class MemoryStore implements LocalStore {
  protected state: Snapshot = { queries: {}, outbox: [], conflicts: [], nextId: 1 };

  /** Where a subclass makes the state durable; memory keeps nothing. */
  protected async persist(): Promise<void> {}

  async readQuery(id: string): Promise<{ record: QueryRecord | null; docs: StoredDoc[] }> {
    const query = this.state.queries[id];
    if (query === undefined) return { record: null, docs: [] };
    return clone({ record: query.record, docs: Object.values(query.docs) });
  }

  async readRecord(id: string): Promise<QueryRecord | null> {
    const query = this.state.queries[id];
    return query === undefined ? null : clone(query.record);
  }

  async replaceQuery(record: QueryRecord, docs: StoredDoc[]): Promise<void> {
    this.state.queries[record.id] = clone({ record, docs: Object.fromEntries(docs.map((d) => [d.key, d])) });
    await this.persist();
  }

  async applyChanges(record: QueryRecord, puts: StoredDoc[], removed: string[]): Promise<void> {
    const query = (this.state.queries[record.id] ??= { record, docs: {} });
    query.record = clone(record);
    for (const key of removed) delete query.docs[key];
    for (const doc of puts) query.docs[doc.key] = clone(doc);
    await this.persist();
  }

  async readOutbox(): Promise<OutboxEntry[]> {
    return clone(this.state.outbox);
  }

  async addOutbox(entries: Array<Omit<OutboxEntry, 'id'>>): Promise<number[]> {
    const ids = entries.map((entry) => {
      const id = this.state.nextId++;
      this.state.outbox.push(clone({ ...entry, id }));
      return id;
    });
    await this.persist();
    return ids;
  }

  async putOutbox(entry: OutboxEntry): Promise<void> {
    const index = this.state.outbox.findIndex((e) => e.id === entry.id);
    if (index >= 0) this.state.outbox[index] = clone(entry);
    await this.persist();
  }

  async removeOutbox(id: number): Promise<void> {
    this.state.outbox = this.state.outbox.filter((e) => e.id !== id);
    await this.persist();
  }

  async readConflicts(): Promise<Conflict[]> {
    return clone(this.state.conflicts);
  }

  async addConflict(conflict: Omit<Conflict, 'id'>): Promise<number> {
    const id = this.state.nextId++;
    this.state.conflicts.push(clone({ ...conflict, id }));
    await this.persist();
    return id;
  }

  async removeConflict(id: number): Promise<void> {
    this.state.conflicts = this.state.conflicts.filter((c) => c.id !== id);
    await this.persist();
  }

  async clearConflicts(): Promise<void> {
    this.state.conflicts = [];
    await this.persist();
  }

  close(): void {}
}

// Node's fs, loaded only when a file store is asked for (the browser bundle never is).
type FsPromises = {
  readFile(path: string, encoding: 'utf8'): Promise<string>;
  writeFile(path: string, data: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  open(path: string, flags: string): Promise<{ sync(): Promise<void>; close(): Promise<void> }>;
};

/**
 * A JSON file (Node): the whole state rewritten to `path.tmp`, synced and renamed over
 * `path` on every change, so a crash leaves the old state or the new one. For a
 * replica of modest size (it rewrites everything); one process per file.
 */
export class FileStore extends MemoryStore {
  private writing: Promise<void> = Promise.resolve();

  private constructor(
    private readonly path: string,
    private readonly fs: FsPromises,
  ) {
    super();
  }

  static async open(path: string): Promise<FileStore> {
    const moduleName = 'node:fs/promises'; // a variable: bundlers leave it alone
    const fs = (await import(moduleName)) as FsPromises;
    const store = new FileStore(path, fs);
    try {
      store.state = JSON.parse(await fs.readFile(path, 'utf8')) as Snapshot;
    } catch (error) {
      if ((error as { code?: string }).code !== 'ENOENT') throw error;
    }
    return store;
  }

  protected override persist(): Promise<void> {
    const text = JSON.stringify(this.state);
    const write = async (): Promise<void> => {
      const tmp = `${this.path}.tmp`;
      await this.fs.writeFile(tmp, text);
      const handle = await this.fs.open(tmp, 'r+');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      await this.fs.rename(tmp, this.path);
    };
    this.writing = this.writing.then(write, write);
    return this.writing;
  }
}
