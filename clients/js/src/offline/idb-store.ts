// The offline replica's store in a browser: IndexedDB through `idb` (hand-written). One
// database per server URL and principal, shared by every tab of the origin; each method
// is one IndexedDB transaction, so a fresh snapshot replaces a query's documents and seq
// atomically and a batch of changes lands with its seq.
import { openDB, type IDBPDatabase } from 'idb';
import type { Conflict, LocalStore, OutboxEntry, QueryRecord, StoredDoc } from './store.js';

interface DocRow extends StoredDoc {
  q: string;
}

export class IdbStore implements LocalStore {
  private constructor(private readonly db: IDBPDatabase) {}

  static async open(name: string): Promise<IdbStore> {
    const db = await openDB(name, 1, {
      upgrade(database) {
        database.createObjectStore('queries', { keyPath: 'id' });
        database.createObjectStore('docs', { keyPath: ['q', 'key'] });
        database.createObjectStore('outbox', { keyPath: 'id', autoIncrement: true });
        database.createObjectStore('conflicts', { keyPath: 'id', autoIncrement: true });
      },
    });
    return new IdbStore(db);
  }

  /** Every document key of query `id`: keys are strings, and arrays sort after strings. */
  private static range(id: string): IDBKeyRange {
    return IDBKeyRange.bound([id], [id, []]);
  }

  async readQuery(id: string): Promise<{ record: QueryRecord | null; docs: StoredDoc[] }> {
    const tx = this.db.transaction(['queries', 'docs'], 'readonly');
    const [record, rows] = await Promise.all([
      tx.objectStore('queries').get(id) as Promise<QueryRecord | undefined>,
      tx.objectStore('docs').getAll(IdbStore.range(id)) as Promise<DocRow[]>,
    ]);
    return { record: record ?? null, docs: rows.map(({ key, value, rev }) => ({ key, value, rev })) };
  }

  async replaceQuery(record: QueryRecord, docs: StoredDoc[]): Promise<void> {
    const tx = this.db.transaction(['queries', 'docs'], 'readwrite');
    const store = tx.objectStore('docs');
    void store.delete(IdbStore.range(record.id));
    for (const doc of docs) void store.put({ ...doc, q: record.id });
    void tx.objectStore('queries').put(record);
    await tx.done;
  }

  async applyChanges(record: QueryRecord, puts: StoredDoc[], removed: string[]): Promise<void> {
    const tx = this.db.transaction(['queries', 'docs'], 'readwrite');
    const store = tx.objectStore('docs');
    for (const key of removed) void store.delete([record.id, key]);
    for (const doc of puts) void store.put({ ...doc, q: record.id });
    void tx.objectStore('queries').put(record);
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
