// The offline replica's store in a browser: IndexedDB through `idb` (hand-written). One
// database per server URL and principal, shared by every tab of the origin; each method
// is one IndexedDB transaction, so a fresh snapshot replaces a query's documents and seq
// atomically and a batch of changes lands with its seq.
import { openDB, type IDBPDatabase, type IDBPTransaction } from 'idb';
import type { Conflict, LocalStore, OutboxEntry, QueryRecord, StoredDoc } from './store.js';

/**
 * A query's documents are one `views` record holding them as one JSON string: opening a
 * view is one read and one `JSON.parse`. Chromium's structured clone is the cost of
 * reading documents as objects (10,000 in one record per document took ~150 ms, in 64
 * bucket records ~30-60 ms); a string comes back as it is and V8 parses it several times
 * faster than the clone rebuilds the same objects (~6 ms for 10,000).
 */
interface ViewRow {
  q: string;
  docs: string; // JSON: StoredDoc[]
}

/**
 * A batch of changes is appended as one `log` record (its documents only, JSON too), not
 * written into the view: rewriting the view per batch would rewrite every document for each.
 * Reads merge the log over the view, in seq order; the log is folded into the view later
 * (COMPACT_DELAY_MS after it passes LOG_DOCS documents or LOG_ROWS records).
 */
interface LogRow {
  q: string;
  seq: number;
  changes: string; // JSON: LogChanges
}
interface LogChanges {
  puts: StoredDoc[];
  removed: string[];
}
const LOG_DOCS = 4096;
const LOG_ROWS = 256;
const COMPACT_DELAY_MS = 1000;

type Tx = IDBPTransaction<unknown, string[], 'versionchange' | 'readwrite'>;

/** Apply the log to a view's documents in seq order (in place); the count of changes. */
function fold(docs: Map<string, StoredDoc>, log: LogRow[]): number {
  let count = 0;
  for (const row of log) {
    const { puts, removed } = JSON.parse(row.changes) as LogChanges;
    for (const key of removed) docs.delete(key);
    for (const doc of puts) docs.set(doc.key, doc);
    count += puts.length + removed.length;
  }
  return count;
}

function parseView(row: ViewRow | undefined): StoredDoc[] {
  return row === undefined ? [] : (JSON.parse(row.docs) as StoredDoc[]);
}

const byKey = (docs: StoredDoc[]): Map<string, StoredDoc> => {
  const map = new Map<string, StoredDoc>();
  for (const doc of docs) map.set(doc.key, doc);
  return map;
};

/**
 * Version 3 keeps a view as one JSON record (`views`) and log records as JSON; versions 1-2
 * kept 64 bucket records of objects (`docs`) and object log records: folded into the new
 * form inside the upgrade, so a replica made by an older SDK opens offline as it was.
 */
async function migrateBuckets(tx: Tx): Promise<void> {
  type OldBucket = { q: string; docs: Record<string, StoredDoc> };
  type OldLog = { q: string; seq: number; puts: StoredDoc[]; removed: string[] };
  const buckets = (await tx.objectStore('docs').getAll()) as OldBucket[];
  const log = (await tx.objectStore('log').getAll()) as OldLog[];
  const views = new Map<string, Map<string, StoredDoc>>();
  const viewOf = (q: string): Map<string, StoredDoc> => {
    let docs = views.get(q);
    if (docs === undefined) views.set(q, (docs = new Map()));
    return docs;
  };
  for (const bucket of buckets) for (const doc of Object.values(bucket.docs)) viewOf(bucket.q).set(doc.key, doc);
  for (const row of log) {
    const docs = viewOf(row.q);
    for (const key of row.removed) docs.delete(key);
    for (const doc of row.puts) docs.set(doc.key, doc);
  }
  await tx.objectStore('log').clear();
  for (const [q, docs] of views) await tx.objectStore('views').put({ q, docs: JSON.stringify([...docs.values()]) });
  tx.db.deleteObjectStore('docs');
}

export class IdbStore implements LocalStore {
  /** Per query: the log's size as this tab last wrote or read it (rows, documents). */
  private logSize = new Map<string, { rows: number; docs: number }>();
  private compactTimers = new Map<string, ReturnType<typeof setTimeout>>();

  private constructor(private readonly db: IDBPDatabase) {}

  static async open(name: string): Promise<IdbStore> {
    let migrating: Promise<void> | null = null;
    const db = await openDB(name, 3, {
      upgrade(database, oldVersion, _newVersion, transaction) {
        if (oldVersion < 1) {
          database.createObjectStore('queries', { keyPath: 'id' });
          database.createObjectStore('outbox', { keyPath: 'id', autoIncrement: true });
          database.createObjectStore('conflicts', { keyPath: 'id', autoIncrement: true });
        }
        if (oldVersion < 2) database.createObjectStore('log', { keyPath: ['q', 'seq'] });
        if (oldVersion < 3) {
          database.createObjectStore('views', { keyPath: 'q' });
          if (oldVersion >= 1) migrating = migrateBuckets(transaction as unknown as Tx);
        }
      },
    });
    await migrating;
    return new IdbStore(db);
  }

  /** Every log record of query `id`: [id] sorts before [id, 0] and [id, []] after every number. */
  private static range(id: string): IDBKeyRange {
    return IDBKeyRange.bound([id], [id, []]);
  }

  async readQuery(id: string): Promise<{ record: QueryRecord | null; docs: StoredDoc[] }> {
    const tx = this.db.transaction(['queries', 'views', 'log'], 'readonly');
    const [record, view, log] = await Promise.all([
      tx.objectStore('queries').get(id) as Promise<QueryRecord | undefined>,
      tx.objectStore('views').get(id) as Promise<ViewRow | undefined>,
      tx.objectStore('log').getAll(IdbStore.range(id)) as Promise<LogRow[]>,
    ]);
    const docs = parseView(view);
    if (log.length === 0) {
      this.logSize.set(id, { rows: 0, docs: 0 });
      return { record: record ?? null, docs };
    }
    const merged = byKey(docs);
    this.logSize.set(id, { rows: log.length, docs: fold(merged, log) });
    return { record: record ?? null, docs: [...merged.values()] };
  }

  async readRecord(id: string): Promise<QueryRecord | null> {
    return ((await this.db.get('queries', id)) as QueryRecord | undefined) ?? null;
  }

  async replaceQuery(record: QueryRecord, docs: StoredDoc[]): Promise<void> {
    const tx = this.db.transaction(['queries', 'views', 'log'], 'readwrite');
    void tx.objectStore('log').delete(IdbStore.range(record.id));
    void tx.objectStore('views').put({ q: record.id, docs: JSON.stringify(docs) } satisfies ViewRow);
    void tx.objectStore('queries').put(record);
    await tx.done;
    this.logSize.set(record.id, { rows: 0, docs: 0 });
  }

  async applyChanges(record: QueryRecord, puts: StoredDoc[], removed: string[]): Promise<void> {
    const tx = this.db.transaction(['queries', 'log'], 'readwrite');
    const changes: LogChanges = { puts, removed };
    const row: LogRow = { q: record.id, seq: record.seq as number, changes: JSON.stringify(changes) };
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

  /** Fold query `id`'s log into its view (one transaction: readers see before or after). */
  async compact(id: string): Promise<void> {
    this.compactTimers.delete(id);
    const tx = this.db.transaction(['views', 'log'], 'readwrite');
    const [view, log] = await Promise.all([
      tx.objectStore('views').get(id) as Promise<ViewRow | undefined>,
      tx.objectStore('log').getAll(IdbStore.range(id)) as Promise<LogRow[]>,
    ]);
    const last = log[log.length - 1];
    if (last !== undefined) {
      const docs = byKey(parseView(view));
      fold(docs, log);
      void tx.objectStore('views').put({ q: id, docs: JSON.stringify([...docs.values()]) } satisfies ViewRow);
      void tx.objectStore('log').delete(IDBKeyRange.bound([id], [id, last.seq]));
    }
    await tx.done;
    this.logSize.set(id, { rows: 0, docs: 0 });
  }

  async readOutbox(): Promise<OutboxEntry[]> {
    return (await this.db.getAll('outbox')) as OutboxEntry[];
  }

  async addOutbox(entries: Array<Omit<OutboxEntry, 'id'>>): Promise<number[]> {
    const tx = this.db.transaction('outbox', 'readwrite');
    const ids = Promise.all(entries.map((entry) => tx.store.add(entry)));
    await tx.done;
    return (await ids).map(Number);
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

  async addConflict(conflict: Omit<Conflict, 'id'>): Promise<number> {
    return Number(await this.db.add('conflicts', conflict));
  }

  async removeConflict(id: number): Promise<void> {
    await this.db.delete('conflicts', id);
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
