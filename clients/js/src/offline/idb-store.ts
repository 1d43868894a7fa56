// The offline replica's store in a browser: IndexedDB through `idb` (hand-written). One
// database per server URL and principal, shared by every tab of the origin; each method
// is one IndexedDB transaction, so a fresh snapshot replaces a query's documents and seq
// atomically and a batch of changes lands with its seq.
import { openDB, type IDBPDatabase } from 'idb';
import type { Conflict, LocalStore, OutboxEntry, QueryRecord, StoredDoc } from './store.js';

/**
 * A query's documents live in BUCKETS records by a hash of the key: opening a view reads
 * a few dozen records instead of one per document (10,000 records cost ~150 ms to read in
 * Chromium; 64 buckets a fraction of that), and a batch of changes rewrites only the
 * buckets it touches.
 */
const BUCKETS = 64;
interface BucketRow {
  q: string;
  b: number;
  docs: Record<string, StoredDoc>;
}

function bucketOf(key: string): number {
  let hash = 2166136261; // FNV-1a
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 16777619);
  return (hash >>> 0) % BUCKETS;
}

export class IdbStore implements LocalStore {
  private constructor(private readonly db: IDBPDatabase) {}

  static async open(name: string): Promise<IdbStore> {
    const db = await openDB(name, 1, {
      upgrade(database) {
        database.createObjectStore('queries', { keyPath: 'id' });
        database.createObjectStore('docs', { keyPath: ['q', 'b'] });
        database.createObjectStore('outbox', { keyPath: 'id', autoIncrement: true });
        database.createObjectStore('conflicts', { keyPath: 'id', autoIncrement: true });
      },
    });
    return new IdbStore(db);
  }

  /** Every bucket of query `id`: [id] sorts before [id, 0] and [id, []] after every number. */
  private static range(id: string): IDBKeyRange {
    return IDBKeyRange.bound([id], [id, []]);
  }

  async readQuery(id: string): Promise<{ record: QueryRecord | null; docs: StoredDoc[] }> {
    const tx = this.db.transaction(['queries', 'docs'], 'readonly');
    const [record, rows] = await Promise.all([
      tx.objectStore('queries').get(id) as Promise<QueryRecord | undefined>,
      tx.objectStore('docs').getAll(IdbStore.range(id)) as Promise<BucketRow[]>,
    ]);
    return { record: record ?? null, docs: rows.flatMap((row) => Object.values(row.docs)) };
  }

  async replaceQuery(record: QueryRecord, docs: StoredDoc[]): Promise<void> {
    const tx = this.db.transaction(['queries', 'docs'], 'readwrite');
    const store = tx.objectStore('docs');
    void store.delete(IdbStore.range(record.id));
    const rows: BucketRow[] = Array.from({ length: BUCKETS }, (_, b) => ({ q: record.id, b, docs: {} }));
    for (const doc of docs) rows[bucketOf(doc.key)]!.docs[doc.key] = doc;
    for (const row of rows) void store.put(row);
    void tx.objectStore('queries').put(record);
    await tx.done;
  }

  async applyChanges(record: QueryRecord, puts: StoredDoc[], removed: string[]): Promise<void> {
    const tx = this.db.transaction(['queries', 'docs'], 'readwrite');
    const store = tx.objectStore('docs');
    const touched = new Map<number, { puts: StoredDoc[]; removed: string[] }>();
    const at = (key: string) => {
      const b = bucketOf(key);
      let change = touched.get(b);
      if (change === undefined) touched.set(b, (change = { puts: [], removed: [] }));
      return change;
    };
    for (const key of removed) at(key).removed.push(key);
    for (const doc of puts) at(doc.key).puts.push(doc);
    await Promise.all(
      [...touched].map(async ([b, change]) => {
        const row = ((await store.get([record.id, b])) as BucketRow | undefined) ?? { q: record.id, b, docs: {} };
        for (const key of change.removed) delete row.docs[key];
        for (const doc of change.puts) row.docs[doc.key] = doc;
        await store.put(row);
      }),
    );
    await tx.objectStore('queries').put(record);
    await tx.done;
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
    this.db.close();
  }
}
