"""One writer per node, with group commit, serialized with every other node's writer.

A group (every transaction waiting in the queue, up to `max_group`;
`app.store.core.take_group`) is one PostgreSQL transaction on the writer's own
connection:

1. take the global write lock: the `ls_meta` row (`SELECT ... FOR UPDATE`) or
   an advisory transaction lock; from here on no other node writes, so the
   head seq read under the lock is the head, and commit order is seq order
   (a lock is released only after its transaction is visible to everyone);
2. fetch the rows of the documents the group touches (`touched`), in one query;
3. let the store core apply each transaction over those rows (`Group`: the same
   rules, errors, envelope and change bytes as the embedded store), dropping a
   failing one whole;
4. write the core's mutations as rows -- documents upserted or deleted, changes
   appended, count deltas added, the new head, the answers of idempotent writes
   (`app.store.core.once`, looked up in step 2 under the lock) -- in ONE
   statement, with a NOTIFY that wakes every node's change feed at commit.

Under the lock nothing else writes these rows, so there are no serialization
failures to retry. The one re-fetch is for server-chosen keys (POST): step 2
fetches the keys the group's creates would pick plus CREATE_SLACK more; only a
create whose key a client had already taken, past that slack, fetches again
(at most MAX_FETCH_ROUNDS times per transaction, then a 503).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Literal

import asyncpg
import orjson

from app.errors import LevelstreamError, Unavailable
from app.store.core import (
    STOP,
    DocId,
    Group,
    Job,
    Mutations,
    NotLoaded,
    Outcome,
    keys_from,
    planned_keys,
    resolve,
    take_group,
)
from app.store.core.indexing import IndexDef, index_writes
from app.store.core.once import StoredAnswer, scope_of
from app.store.postgres.schema import NOTIFY_CHANNEL, SEQ_LOCK
from app.store.records import DocRecord, change_record, now_ms
from app.store.types import Answered, Change, Once, TxResult, WriteOp

log = logging.getLogger("levelstream.store")

LockMode = Literal["row", "advisory"]
Connect = Callable[[], Awaitable[asyncpg.Connection]]

LOCK_SQL: dict[LockMode, tuple[str, ...]] = {
    "row": ("SELECT seq, auto_id, index_version FROM ls_meta WHERE id = 1 FOR UPDATE",),
    "advisory": (
        f"SELECT pg_advisory_xact_lock({SEQ_LOCK})",
        "SELECT seq, auto_id, index_version FROM ls_meta WHERE id = 1",
    ),
}

WRITE_SQL = """
WITH
up AS (
    INSERT INTO ls_docs (collection, key, rev, created_ms, expires_ms, envelope)
    SELECT * FROM unnest($1::text[], $2::bytea[], $3::int8[], $4::int8[], $5::int8[], $6::bytea[])
    ON CONFLICT (collection, key) DO UPDATE SET
        rev = EXCLUDED.rev, created_ms = EXCLUDED.created_ms,
        expires_ms = EXCLUDED.expires_ms, envelope = EXCLUDED.envelope
    RETURNING 1),
del AS (
    DELETE FROM ls_docs d USING unnest($7::text[], $8::bytea[]) AS x(collection, key)
    WHERE d.collection = x.collection AND d.key = x.key
    RETURNING 1),
log AS (
    INSERT INTO ls_changes (seq, collection, key, op, ts_ms, data)
    SELECT s, c, k, o, $9::int8, d
    FROM unnest($10::int8[], $11::text[], $12::bytea[], $13::text[], $14::bytea[])
        AS x(s, c, k, o, d)
    RETURNING 1),
cnt AS (
    INSERT INTO ls_counts (collection, count)
    SELECT * FROM unnest($15::text[], $16::int8[])
    ON CONFLICT (collection) DO UPDATE SET count = ls_counts.count + EXCLUDED.count
    RETURNING 1),
meta AS (
    UPDATE ls_meta SET seq = $17, auto_id = $18 WHERE id = 1 RETURNING 1),
idel AS (
    DELETE FROM ls_index_entries e USING unnest($20::int8[], $21::bytea[]) AS x(i, p)
    WHERE e.index_id = x.i AND e.position = x.p
    RETURNING 1),
iadd AS (
    INSERT INTO ls_index_entries (index_id, position, key)
    SELECT * FROM unnest($22::int8[], $23::bytea[], $24::bytea[])
    ON CONFLICT (index_id, position) DO NOTHING
    RETURNING 1),
ans AS (
    INSERT INTO ls_idempotency (scope, expires_ms, digest, answer)
    SELECT * FROM unnest($25::bytea[], $26::int8[], $27::bytea[], $28::bytea[])
    ON CONFLICT (scope) DO UPDATE SET expires_ms = EXCLUDED.expires_ms,
        digest = EXCLUDED.digest, answer = EXCLUDED.answer
    RETURNING 1)
SELECT pg_notify($19, $17::text)
"""
# The index definitions a writer maintains (both states), read under the write lock.
CATALOG_SQL = "SELECT id, collection, name, fields, state FROM ls_indexes"

# The documents a group touches, in one round trip. It runs after the lock, so its
# snapshot (READ COMMITTED: per statement) sees every earlier commit.
FETCH_SQL = """
SELECT d.collection, d.key, d.rev, d.created_ms, d.expires_ms, d.envelope
FROM ls_docs d JOIN unnest($1::text[], $2::bytea[]) AS x(collection, key)
  ON d.collection = x.collection AND d.key = x.key
"""
# The remembered answers a group's idempotent writes look up, in one round trip.
ANSWERS_SQL = (
    "SELECT scope, expires_ms, digest, answer FROM ls_idempotency WHERE scope = ANY($1::bytea[])"
)
# Server-chosen keys fetched beyond a group's creates: as many documents clients put
# at the very keys the next creates would pick cost no extra round trip.
CREATE_SLACK = 16
# Fetch rounds one transaction may take for server-chosen keys past the slack. Each
# round means documents already sat at the keys a create tried; it fetches the next
# CREATE_SLACK * 2**round keys at once, so 8 rounds get past ~4000 of them (as many
# ids as one millisecond has) before the transaction fails.
MAX_FETCH_ROUNDS = 8


class Prefetched:
    """The core's `DocReader` over the rows a group fetched, by (collection, key), and
    its `AnswerReader` over the remembered answers it fetched (`load_answers`)."""

    def __init__(self) -> None:
        self.records: dict[DocId, DocRecord | None] = {}
        self.answers: dict[bytes, StoredAnswer] = {}

    def answer(self, scope: bytes) -> StoredAnswer | None:
        return self.answers.get(scope)

    async def load_answers(self, conn: asyncpg.Connection, jobs: list[Job]) -> None:
        """The records of the group's idempotency keys (under the lock: none can appear
        before the commit but the group's own)."""
        scopes = [scope_of(job.once.owner, job.once.key) for job in jobs if job.once is not None]
        if not scopes:
            return
        for row in await conn.fetch(ANSWERS_SQL, scopes):
            self.answers[bytes(row[0])] = StoredAnswer(row[1], bytes(row[2]), bytes(row[3]))

    def get(self, collection: str, key: str) -> DocRecord | None:
        doc = (collection, key)
        try:
            return self.records[doc]
        except KeyError:
            raise NotLoaded(doc) from None

    async def load(self, conn: asyncpg.Connection, wanted: Iterable[DocId]) -> None:
        todo = [doc for doc in dict.fromkeys(wanted) if doc not in self.records]
        if not todo:
            return
        rows = await conn.fetch(
            FETCH_SQL, [doc[0] for doc in todo], [doc[1].encode("utf-8") for doc in todo]
        )
        for doc in todo:
            self.records[doc] = None
        for row in rows:
            key = bytes(row[1]).decode("utf-8")
            self.records[(row[0], key)] = DocRecord(row[2], row[3], row[4], bytes(row[5]))


def touched(jobs: list[Job], auto_id: int, now: int) -> list[DocId]:
    """The documents a group reads: every named one, and the keys its creates would
    pick if none were taken (plus CREATE_SLACK more), in each create's collection."""
    named = [(op.collection, op.key) for job in jobs for op in job.ops if op.op != "create"]
    creating = [op.collection for job in jobs for op in job.ops if op.op == "create"]
    if not creating:
        return named
    keys = planned_keys(auto_id, now, len(creating) + CREATE_SLACK)
    # The i-th create takes the i-th key, or a later one past keys already taken.
    spans: dict[str, list[int]] = {}
    for index, collection in enumerate(creating):
        spans.setdefault(collection, [index, index])[1] = index
    return named + [
        (collection, key)
        for collection, (first, last) in spans.items()
        for key in keys[first : last + CREATE_SLACK + 1]
    ]


class PgWriter:
    """Owns this node's writes; `submit` returns after the group's commit."""

    def __init__(
        self,
        connect: Connect,
        *,
        max_group: int,
        max_value_bytes: int,
        max_txn_bytes: int,
        lock: LockMode,
        offer: Callable[[list[Change]], None],
        delivered: Callable[[int], Awaitable[None]],
    ) -> None:
        self._connect = connect
        self._max_group = max_group
        self._max_value_bytes = max_value_bytes
        self._max_txn_bytes = max_txn_bytes
        self._lock_sql = LOCK_SQL[lock]
        self._offer = offer  # hands a committed group's changes to this node's feed
        self._delivered = delivered  # waits until the feed has delivered up to a seq
        self._answering: set[asyncio.Task[None]] = set()
        self._queue: asyncio.Queue[Job] = asyncio.Queue()
        self._conn: asyncpg.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self.committed_head = 0
        self.groups_committed = 0
        self.transactions_committed = 0
        self.on_group: Callable[[int, float], None] | None = None
        # The JSON field indexes by collection, as of `_index_version`.
        self._indexes: dict[str, list[IndexDef]] = {}
        self._index_version = -1

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="levelstream-pg-writer")

    async def submit(self, ops: list[WriteOp]) -> TxResult:
        future: asyncio.Future[TxResult] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(Job(ops, future))
        return await future

    async def submit_once(self, ops: list[WriteOp], once: Once) -> Answered:
        """`submit`, at most once per idempotency key (`app.store.core.once`)."""
        future: asyncio.Future[Answered] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(Job(ops, future, once))
        return await future

    async def stop(self) -> None:
        """Finish every queued job, then close the connection."""
        if self._task is None:
            return
        self._queue.put_nowait(STOP)
        await self._task
        self._task = None
        if self._answering:
            await asyncio.gather(*self._answering, return_exceptions=True)
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close()
            self._conn = None

    async def _run(self) -> None:
        while True:
            job = await self._queue.get()
            if job is STOP:
                return
            group, stop_after = take_group(job, self._queue.get_nowait, self._max_group)
            try:
                await self._commit_group(group)
            except Exception:  # a bug here must not kill the only writer
                log.exception("writer group failed")
                _fail(group, Unavailable("write failed"))
            if stop_after:
                return

    async def _connection(self) -> asyncpg.Connection:
        if self._conn is None or self._conn.is_closed():
            self._conn = await self._connect()
        return self._conn

    async def _commit_group(self, jobs: list[Job]) -> None:
        started = time.perf_counter()
        outcomes: list[tuple[Job, Outcome]] = []
        try:
            conn = await self._connection()
            async with conn.transaction():
                row: Any = None
                for sql in self._lock_sql:
                    row = await conn.fetchrow(sql)
                head, auto_id, now = int(row["seq"]), int(row["auto_id"]), now_ms()
                if row["index_version"] != self._index_version:
                    self._indexes = await load_catalog(conn)
                    self._index_version = row["index_version"]
                reader = Prefetched()
                await reader.load(conn, touched(jobs, auto_id, now))
                await reader.load_answers(conn, jobs)
                group = Group(
                    reader,
                    head_seq=head,
                    auto_id=auto_id,
                    now_ms=now,
                    max_value_bytes=self._max_value_bytes,
                    max_txn_bytes=self._max_txn_bytes,
                    answers=reader,
                )
                for job in jobs:
                    outcomes.append((job, await _apply(conn, reader, group, job.ops, job.once)))
                done = group.mutations
                if done.changes or done.answers:
                    indexes = self._indexes
                    catalog = indexes.get if indexes else None
                    await conn.fetchval(WRITE_SQL, *_write_args(done, catalog))
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
            log.error("commit failed: %s", exc)
            await self._drop_connection()
            # The connection may have died after PostgreSQL committed: say so, rather
            # than claim nothing was written (the change log tells which).
            _fail(
                jobs,
                Unavailable(
                    "the write could not be confirmed (the database connection failed); "
                    "it may have been committed: check the document or the change log"
                ),
            )
            return
        self.committed_head = max(self.committed_head, done.head_seq)
        if done.changes:
            self.groups_committed += 1
            self.transactions_committed += group.transactions
            if self.on_group is not None:
                self.on_group(len(outcomes), time.perf_counter() - started)
            # Answer once this node's feed has handed the changes to its listeners (so a
            # writer's own subscriptions have them by then, as in the embedded store),
            # without holding up the next group meanwhile.
            self._offer(done.changes)
            task = asyncio.create_task(self._answer_after(done.head_seq, outcomes))
            self._answering.add(task)
            task.add_done_callback(self._answering.discard)
            return
        _answer(outcomes)

    async def _answer_after(self, seq: int, outcomes: list[tuple[Job, Outcome]]) -> None:
        try:
            await self._delivered(seq)
        finally:
            _answer(outcomes)

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.terminate()


async def _apply(
    conn: asyncpg.Connection,
    reader: Prefetched,
    group: Group,
    ops: list[WriteOp],
    once: Once | None,
) -> Outcome:
    """One transaction of the group; a document the prefetch missed (a create whose key
    a client had taken, past CREATE_SLACK of them) is fetched, with the keys the create
    tries after it, and the transaction applied again, at most MAX_FETCH_ROUNDS times."""
    for fetch_round in range(MAX_FETCH_ROUNDS):
        try:
            return group.apply(ops, once)
        except NotLoaded as miss:
            wanted = [miss.doc]
            if miss.auto_id is not None:
                ahead = keys_from(miss.auto_id + 1, CREATE_SLACK << fetch_round)
                wanted += [(miss.doc[0], key) for key in ahead]
            await reader.load(conn, wanted)
        except LevelstreamError as exc:
            return exc
    return Unavailable("could not pick a free key for a new document; try again")


def _answer(outcomes: list[tuple[Job, Outcome]]) -> None:
    for job, outcome in outcomes:
        resolve(job.future, outcome)


def _fail(jobs: list[Job], error: LevelstreamError) -> None:
    for job in jobs:
        resolve(job.future, error)


async def load_catalog(conn: asyncpg.Connection) -> dict[str, list[IndexDef]]:
    catalog: dict[str, list[IndexDef]] = {}
    for row in await conn.fetch(CATALOG_SQL):
        fields = tuple(tuple(path) for path in orjson.loads(row["fields"]))
        index = IndexDef(row["id"], row["collection"], row["name"], fields, row["state"])
        catalog.setdefault(index.collection, []).append(index)
    return catalog


def _write_args(
    done: Mutations, catalog: Callable[[str], list[IndexDef] | None] | None = None
) -> list[Any]:
    """The group's mutations as the columns of WRITE_SQL's arrays."""
    up: list[list[Any]] = [[], [], [], [], [], []]
    gone: list[list[Any]] = [[], []]
    for (collection, key), written in done.docs.items():
        record = written.record
        if record is None:
            gone[0].append(collection)
            gone[1].append(key.encode("utf-8"))
            continue
        values = (
            collection,
            key.encode("utf-8"),
            record.rev,
            record.created_ms,
            record.expires_ms,
            record.envelope,
        )
        for column, value in zip(up, values, strict=True):
            column.append(value)
    changes = done.changes
    counts = list(done.counts.items())
    return [
        *up,
        *gone,
        done.now_ms,
        [c.seq for c in changes],
        [c.collection for c in changes],
        [c.key.encode("utf-8") for c in changes],
        [c.op for c in changes],
        [change_record(c.data, c.prev) for c in changes],
        [c for c, _ in counts],
        [n for _, n in counts],
        done.head_seq,
        done.auto_id,
        NOTIFY_CHANNEL,
        *_index_args(done, catalog),
        *_answer_args(done),
    ]


def _answer_args(done: Mutations) -> list[list[Any]]:
    answers = list(done.answers.items())
    return [
        [scope for scope, _ in answers],
        [a.stored.expires_ms for _, a in answers],
        [a.stored.digest for _, a in answers],
        [a.stored.answer for _, a in answers],
    ]


def _index_args(
    done: Mutations, catalog: Callable[[str], list[IndexDef] | None] | None
) -> list[list[Any]]:
    if catalog is None:
        return [[], [], [], [], []]
    indexed = index_writes(done, lambda collection: catalog(collection) or ())
    return [
        [index_id for index_id, _ in indexed.removes],
        [position for _, position in indexed.removes],
        [index_id for index_id, _, _ in indexed.adds],
        [position for _, position, _ in indexed.adds],
        [key.encode("utf-8") for _, _, key in indexed.adds],
    ]
