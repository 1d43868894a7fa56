// Filtered range reads: `where`, `order_by`, `explain` (hand-written; `make sdk` keeps it).
//
//   const api = connect({ baseUrl, token });
//   for await (const doc of query(api, 'tickets', { where: 'doc.owner == "u42"', order_by: 'updated' })) {
//     console.log(doc.key, doc.value);
//   }
//   const plan = await explain(api, 'tickets', { where: 'doc.owner == "u42"' });
//   // { index: 'by_owner' | null, scanned, returned, needs_index? }
//
// `query()` follows `next_cursor` (a page may be short, even empty, and still have a
// cursor: the server ends a page when its scan budget runs out). A refused filter
// throws `ValidationFailedError` (its `problem` has `offset`, `line`, `column`; a read
// that needs an index: `needs_index`), whatever the client's `throwOnError`.
// The language: docs/queries.md.
import type { Client } from './gen/client/index.js';
import { getChanges, listDocuments } from './gen/sdk.gen.js';
import type { Change } from './realtime-streams.js';
import type { DocumentPage, Envelope, ListDocumentsData } from './gen/types.gen.js';

/** The parameters of a range read (key bounds, `where`, `order_by`, `reverse`, `limit` per page, ...). */
export type RangeQuery = Omit<NonNullable<ListDocumentsData['query']>, 'cursor' | 'explain'>;

/** The plan of one page (`explain=true`): the index walked (null: by key) and what it cost. */
export interface Explain {
  index: string | null;
  scanned: number;
  returned: number;
  /** Present when a scan without index ran out of its budget: the fields to index. */
  needs_index?: string[];
}

/** Every page of a range read, from `cursor` (none: the start) until `next_cursor` is null. */
export async function* queryPages(
  client: Client,
  collection: string,
  range: RangeQuery = {},
  cursor: string | null = null,
): AsyncGenerator<DocumentPage, void, undefined> {
  for (;;) {
    const { data } = await listDocuments({
      client,
      throwOnError: true,
      path: { collection },
      query: cursor === null ? range : { ...range, cursor },
    });
    // Without explain=true the answer is always a page (the other member of the union).
    const page = data as DocumentPage;
    yield page;
    cursor = page.next_cursor ?? null;
    if (cursor === null) return;
  }
}

/** Each document of a (filtered, ordered) range read, following cursors. */
export async function* query(
  client: Client,
  collection: string,
  range: RangeQuery = {},
): AsyncGenerator<Envelope, void, undefined> {
  for await (const page of queryPages(client, collection, range)) yield* page.items;
}

/** The plan of the first page of this read and its cost, instead of its items. */
export async function explain(client: Client, collection: string, range: RangeQuery = {}): Promise<Explain> {
  const { data } = await listDocuments({
    client,
    throwOnError: true,
    path: { collection },
    query: { ...range, explain: true },
  });
  // With explain=true the server answers the plan, not a DocumentPage.
  return data as unknown as Explain;
}

/** What `pollChanges` reads: a collection, key bounds, a `where`, and where to start. */
export interface ChangesQuery {
  collection: string;
  key?: string;
  prefix?: string;
  gt?: string;
  gte?: string;
  lt?: string;
  lte?: string;
  /** A CEL filter: changes come as the view's events (`match`, `leave`), as on a subscription. */
  where?: string;
  /** Changes with seq > since (none: from now on). */
  since?: number;
  /** Long-poll: seconds each request waits for a change (default 25). */
  wait?: number;
  limit?: number;
}

/**
 * Changes by long-polling `GET /v1/changes`, resuming from the last seq yielded, for as
 * long as the caller iterates (the polling alternative to a subscription, with the same
 * events: `match: 'enter'|'update'` puts, `leave`, `delete` under a `where`). A resume
 * point the server no longer has throws `HistoryCompactedError`.
 */
export async function* pollChanges(client: Client, changesQuery: ChangesQuery): AsyncGenerator<Change, void, undefined> {
  const { since, wait, ...filter } = changesQuery;
  let last: number | undefined = since;
  for (;;) {
    const { data } = await getChanges({
      client,
      throwOnError: true,
      query: { ...filter, since: last, wait: wait ?? 25 },
    });
    for (const change of data.changes as unknown as Change[]) yield change;
    last = data.last_seq;
  }
}
