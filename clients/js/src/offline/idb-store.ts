// The offline replica's store in a browser: IndexedDB through `idb` (hand-written). One
// database per server URL and principal, shared by every tab of the origin; each method
// is one IndexedDB transaction, so a fresh snapshot replaces a query's documents and seq
// atomically and a batch of changes lands with its seq.
import { openDB, type IDBPDatabase, type IDBPTransaction } from 'idb';
import type { Conflict, LocalStore, OutboxEntry, QueryRecord, StoredDoc } from './store.js';

/**
 * A query's documents live in BUCKETS records by a hash of the key: opening a view reads
 * a few dozen records instead of one per document (10,000 records cost ~150 ms to read in
 * Chromium; 64 buckets a fraction of that).
 */
const BUCKETS = 64;
interface BucketRow {
  q: string;
  b: number;
  docs: Record<string, StoredDoc>;
}

/**
 * A batch of changes is appended as one `log` record (its documents only), not written into
 * the buckets: rewriting the buckets a batch touches is rewriting all of them for a batch
 * over random keys (1,000 changes over 10,000 documents took ~200 ms; one log record a few).
 * Reads merge the log over the buckets, in seq order; the log is folded into the buckets
 * later (COMPACT_DELAY_MS after it passes LOG_DOCS documents or LOG_ROWS records).
 */
interface LogRow {
  q: string;
  seq: number;
  puts: StoredDoc[];
  removed: string[];
}
const LOG_DOCS = 4096;
const LOG_ROWS = 256;
const COMPACT_DELAY_MS = 1000;

function bucketOf(key: string): number {
  let hash = 2166136261; // FNV-1a
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 16777619);
  return (hash >>> 0) % BUCKETS;
}

type Tx = IDBPTransaction<unknown, string[], 'readwrite'>;

export class IdbStore implements LocalStore {
  /** Per query: the log's size as this tab last wrote or read it (rows, documents). */
  private logSize = new Map<string, { rows: number; docs: number }>();
  private compactTimers = new Map<string, ReturnType<typeof setTimeout>>();

  private constructor(private readonly db: IDBPDatabase) {}

  static async open(name: string): Promise<IdbStore> {
    const db = await openDB(name, 2, {
      upgrade(database, oldVersion) {
        if (oldVersion < 1) {
          database.createObjectStore('queries', { keyPath: 'id' });
          database.createObjectStore('docs', { keyPath: ['q', 'b'] });
          database.createObjectStore('outbox', { keyPath: 'id', autoIncrement: true });
          database.createObjectStore('conflicts', { keyPath: 'id', autoIncrement: true });
        }
        if (oldVersion < 2) database.createObjectStore('log', { keyPath: ['q', 'seq'] });
      },
    });
    return new IdbStore(db);
  }

  /** Every record of query `id`: [id] sorts before [id, 0] and [id, []] after every number. */
  private static range(id: string): IDBKeyRange {
    return IDBKeyRange.bound([id], [id, []]);
  }

  async readQuery(id: string): Promise<{ record: QueryRecord | null; docs: StoredDoc[] }> {
    const tx = this.db.transaction(['queries', 'docs', 'log'], 'readonly');
    const [record, rows, log] = await Promise.all([
      tx.objectStore('queries').get(id) as Promise<QueryRecord | undefined>,
      tx.objectStore('docs').getAll(IdbStore.range(id)) as Promise<BucketRow[]>,
      tx.objectStore('log').getAll(IdbStore.range(id)) as Promise<LogRow[]>,
    ]);
    this.logSize.set(id, { rows: log.length, docs: log.reduce((n, r) => n + r.puts.length + r.removed.length, 0) });
    if (log.length === 0) return { record: record ?? null, docs: rows.flatMap((row) => Object.values(row.docs)) };
    const docs = new Map<string, StoredDoc>();
    for (const row of rows) for (const doc of Object.values(row.docs)) docs.set(doc.key, doc);
    for (const entry of log) {
      for (const key of entry.removed) docs.delete(key);
      for (const doc of entry.puts) docs.set(doc.key, doc);
    }
    return { record: record ?? null, docs: [...docs.values()] };
  }

  async replaceQuery(record: QueryRecord, docs: StoredDoc[]): Promise<void> {
    const tx = this.db.transaction(['queries', 'docs', 'log'], 'readwrite');
    const store = tx.objectStore('docs');
    void store.delete(IdbStore.range(record.id));
    void tx.objectStore('log').delete(IdbStore.range(record.id));
    const rows: BucketRow[] = Array.from({ length: BUCKETS }, (_, b) => ({ q: record.id, b, docs: {} }));
    for (const doc of docs) rows[bucketOf(doc.key)]!.docs[doc.key] = doc;
    for (const row of rows) void store.put(row);
    void tx.objectStore('queries').put(record);
    await tx.done;
    this.logSize.set(record.id, { rows: 0, docs: 0 });
  }

  async applyChanges(record: QueryRecord, puts: StoredDoc[], removed: string[]): Promise<void> {
    const tx = this.db.transaction(['queries', 'log'], 'readwrite');
    const row: LogRow = { q: record.id, seq: record.seq as number, puts, removed };
    void tx.objectStore('log').put(row);
    void tx.objectStore('queries').put(record);
    await tx.done;
    const size = this.logSize.get(record.id) ?? { rows: 0, docs: 0 };
    size.rows += 1;
    size.docs += puts.length + removed.length;
    this.logSize.set(record.id, size);
    if ((size.rows >= LOG_ROWS || size.docs >= LOG_DOCS) && !this.compactTimers.has(record.id)) {
      this.compactTimers.set(
        record.id,
        // A failed fold (the database closing) leaves the log as it was: still read right.
        setTimeout(() => void this.compact(record.id).catch(() => undefined), COMPACT_DELAY_MS),
      );
    }
  }

  /** Fold query `id`'s log into its buckets (one transaction: readers see before or after). */
  async compact(id: string): Promise<void> {
    this.compactTimers.delete(id);
    const tx = this.db.transaction(['docs', 'log'], 'readwrite') as unknown as Tx;
    const log = (await tx.objectStore('log').getAll(IdbStore.range(id))) as LogRow[];
    const touched = new Map<number, Array<[string, StoredDoc | null]>>();
    for (const entry of log) {
      for (const key of entry.removed) IdbStore.touch(touched, key, null);
      for (const doc of entry.puts) IdbStore.touch(touched, doc.key, doc);
    }
    const docs = tx.objectStore('docs');
    await Promise.all(
      [...touched].map(async ([b, changes]) => {
        const row = ((await docs.get([id, b])) as BucketRow | undefined) ?? { q: id, b, docs: {} };
        for (const [key, doc] of changes) {
          if (doc === null) delete row.docs[key];
          else row.docs[key] = doc;
        }
        await docs.put(row);
      }),
    );
    const last = log[log.length - 1];
    if (last !== undefined) await tx.objectStore('log').delete(IDBKeyRange.bound([id], [id, last.seq]));
    await tx.done;
    this.logSize.set(id, { rows: 0, docs: 0 });
  }

  private static touch(touched: Map<number, Array<[string, StoredDoc | null]>>, key: string, doc: StoredDoc | null): void {
    const b = bucketOf(key);
    let list = touched.get(b);
    if (list === undefined) touched.set(b, (list = []));
    list.push([key, doc]);
  }

  async readOutbox(): Promise<OutboxEntry[]> {
    return (await this.db.getAll('outbox')) as OutboxEntry[];
  }

  async addOutbox(entry: Omit<OutboxEntry, 'id'>): Promise<number> {
    return Number(await this.db.add('outbox', entry));
  }

  async putOutbox(entry: OutboxEntry): Promise<void> {
    await this.db.put('outbox', entry);
  }

  async removeOutbox(id: number): Promise<void> {
    await this.db.delete('outbox', id);
  }

  async readConflicts(): Promise<Conflict[]> {
    return (await this.db.getAll('conflicts')) as Conflict[];
  }

  async addConflict(conflict: Conflict): Promise<void> {
    const { id: _id, ...row } = conflict;
    await this.db.add('conflicts', row);
  }

  async clearConflicts(): Promise<void> {
    await this.db.clear('conflicts');
  }

  close(): void {
    for (const timer of this.compactTimers.values()) clearTimeout(timer);
    this.compactTimers.clear();
    this.db.close();
  }
}
