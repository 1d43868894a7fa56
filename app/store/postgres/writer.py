"""One writer per node, with group commit, serialized with every other node's writer.

A group (every transaction waiting in the queue, up to `max_group`) is one
PostgreSQL transaction on the writer's own connection:

1. take the global write lock: the `ls_meta` row (`SELECT ... FOR UPDATE`) or
   an advisory transaction lock; from here on no other node writes, so the
   head seq read under the lock is the head, and commit order is seq order
   (a lock is released only after its transaction is visible to everyone);
2. fetch the documents and counts the group touches;
3. apply each transaction with the embedded store's own `Transaction`
   (same preconditions, same errors, same envelope and change bytes), over
   an overlay of what the group wrote so far, dropping a failing one whole;
4. write documents, changes, counts and the new head in ONE statement, with a
   NOTIFY that wakes every node's change feed at commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import asyncpg

from app.errors import LevelstreamError, Unavailable
from app.store import keys
from app.store.postgres.schema import NOTIFY_CHANNEL, SEQ_LOCK
from app.store.records import DocRecord, decode_record
from app.store.transaction import Transaction, TxState
from app.store.types import Change, TxResult, WriteOp

log = logging.getLogger("levelstream.store")

LockMode = Literal["row", "advisory"]
Connect = Callable[[], Awaitable[asyncpg.Connection]]

LOCK_SQL: dict[LockMode, tuple[str, ...]] = {
    "row": ("SELECT seq, auto_id FROM ls_meta WHERE id = 1 FOR UPDATE",),
    "advisory": (
        f"SELECT pg_advisory_xact_lock({SEQ_LOCK})",
        "SELECT seq, auto_id FROM ls_meta WHERE id = 1",
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
    SELECT * FROM unnest($9::int8[], $10::text[], $11::bytea[], $12::text[], $13::int8[],
                         $14::bytea[])
    RETURNING 1),
cnt AS (
    INSERT INTO ls_counts (collection, count)
    SELECT * FROM unnest($15::text[], $16::int8[])
    ON CONFLICT (collection) DO UPDATE SET count = EXCLUDED.count
    RETURNING 1),
meta AS (
    UPDATE ls_meta SET seq = $17, auto_id = $18 WHERE id = 1 RETURNING 1)
SELECT pg_notify($19, $17::text)
"""

# The group's documents and its collections' counts in one round trip (count rows
# have no key). It runs after the lock, so its snapshot sees every earlier commit.
FETCH_SQL = """
SELECT d.collection, d.key, d.rev, d.created_ms, d.expires_ms, d.envelope
FROM ls_docs d JOIN unnest($1::text[], $2::bytea[]) AS x(collection, key)
  ON d.collection = x.collection AND d.key = x.key
UNION ALL
SELECT c.collection, NULL, c.count, 0, 0, NULL FROM ls_counts c
WHERE c.collection = ANY($3::text[])
"""


class Miss(Exception):
    """A transaction read a document the group did not fetch (a POST's new key)."""

    def __init__(self, dbkey: bytes) -> None:
        super().__init__("document not fetched")
        self.dbkey = dbkey


class Fetched:
    """The documents of one group as the embedded store's records, by LevelDB-style key.

    It stands in for the database behind `TxState`, so `Transaction` runs unchanged.
    """

    def __init__(self) -> None:
        self.records: dict[bytes, bytes | None] = {}
        self.names: dict[bytes, tuple[str, bytes]] = {}

    def get(self, dbkey: bytes) -> bytes | None:
        if dbkey not in self.records:
            raise Miss(dbkey)
        return self.records[dbkey]

    async def load(
        self,
        conn: asyncpg.Connection,
        wanted: Iterable[tuple[str, bytes]],
        collections: Sequence[str] = (),
    ) -> dict[str, int]:
        """Fetch the `wanted` documents; returns the counts of `collections` (0 if none)."""
        todo: dict[bytes, tuple[str, bytes]] = {}
        for collection, key in wanted:
            dbkey = keys.doc_key(collection, key)
            if dbkey not in self.records:
                todo[dbkey] = (collection, key)
        counts = dict.fromkeys(collections, 0)
        if not todo and not counts:
            return counts
        names = list(todo.values())
        rows = await conn.fetch(
            FETCH_SQL, [n[0] for n in names], [n[1] for n in names], list(counts)
        )
        for dbkey, name in todo.items():
            self.records[dbkey] = None
            self.names[dbkey] = name
        for row in rows:
            if row[1] is None:
                counts[row[0]] = int(row[2])
                continue
            record = DocRecord(row[2], row[3], row[4], bytes(row[5]))
            self.records[keys.doc_key(row[0], bytes(row[1]))] = record.encode()
        return counts


@dataclass(slots=True)
class _Job:
    ops: list[WriteOp]
    future: asyncio.Future[TxResult]
    changes: list[Change] = field(default_factory=list)
    now_ms: int = 0


_STOP: Any = object()


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
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._conn: asyncpg.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self.committed_head = 0
        self.groups_committed = 0
        self.transactions_committed = 0
        self.on_group: Callable[[int, float], None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="levelstream-pg-writer")

    async def submit(self, ops: list[WriteOp]) -> TxResult:
        future: asyncio.Future[TxResult] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Job(ops, future))
        return await future

    async def stop(self) -> None:
        """Finish every queued job, then close the connection."""
        if self._task is None:
            return
        self._queue.put_nowait(_STOP)
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
            if job is _STOP:
                return
            group: list[_Job] = [job]
            stop_after = False
            while len(group) < self._max_group and not self._queue.empty():
                more = self._queue.get_nowait()
                if more is _STOP:
                    stop_after = True
                    break
                group.append(more)
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

    async def _commit_group(self, group: list[_Job]) -> None:
        started = time.perf_counter()
        outcomes: list[tuple[_Job, TxResult | LevelstreamError]] = []
        try:
            conn = await self._connection()
            async with conn.transaction():
                row: Any = None
                for sql in self._lock_sql:
                    row = await conn.fetchrow(sql)
                head = int(row["seq"])
                state = await self._apply(conn, group, head, int(row["auto_id"]), outcomes)
                if state.seq != head or state.writes:
                    await conn.fetchval(WRITE_SQL, *_write_args(state, group))
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
            log.error("commit failed: %s", exc)
            await self._drop_connection()
            # The connection may have died after PostgreSQL committed: say so, rather
            # than claim nothing was written (the change log tells which).
            _fail(
                group,
                Unavailable(
                    "the write could not be confirmed (the database connection failed); "
                    "it may have been committed: check the document or the change log"
                ),
            )
            return
        changes = [c for job in group for c in job.changes]
        self.committed_head = max(self.committed_head, state.seq)
        if changes:
            self.groups_committed += 1
            self.transactions_committed += sum(1 for _, o in outcomes if isinstance(o, TxResult))
            if self.on_group is not None:
                self.on_group(len(outcomes), time.perf_counter() - started)
            # Answer once this node's feed has handed the changes to its listeners (so a
            # writer's own subscriptions have them by then, as in the embedded store),
            # without holding up the next group meanwhile.
            self._offer(changes)
            task = asyncio.create_task(self._answer_after(state.seq, outcomes))
            self._answering.add(task)
            task.add_done_callback(self._answering.discard)
            return
        _answer(outcomes)

    async def _answer_after(
        self, seq: int, outcomes: list[tuple[_Job, TxResult | LevelstreamError]]
    ) -> None:
        try:
            await self._delivered(seq)
        finally:
            _answer(outcomes)

    async def _apply(
        self,
        conn: asyncpg.Connection,
        group: list[_Job],
        seq: int,
        auto_id: int,
        outcomes: list[tuple[_Job, TxResult | LevelstreamError]],
    ) -> TxState:
        fetched = Fetched()
        counts = await fetched.load(
            conn,
            ((op.collection, op.key.encode("utf-8")) for j in group for op in j.ops if op.key),
            sorted({op.collection for j in group for op in j.ops}),
        )
        state = TxState(fetched, counts, seq, auto_id)
        for job in group:
            for _attempt in range(100):
                tx = Transaction(state, self._max_value_bytes, self._max_txn_bytes)
                try:
                    results = tx.apply(job.ops)
                except Miss as miss:
                    collection, key = _split_doc_key(miss.dbkey)
                    await fetched.load(conn, [(collection, key)])
                    continue
                except LevelstreamError as exc:
                    outcomes.append((job, exc))
                    break
                state.absorb(tx)
                job.changes, job.now_ms = tx.changes, tx.now
                outcomes.append((job, TxResult(results, state.seq)))
                break
            else:
                outcomes.append((job, Unavailable("could not pick a free key")))
        return state

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.terminate()


def _answer(outcomes: list[tuple[_Job, TxResult | LevelstreamError]]) -> None:
    for job, outcome in outcomes:
        if job.future.done():  # the caller went away; the write still stands
            continue
        if isinstance(outcome, LevelstreamError):
            job.future.set_exception(outcome)
        else:
            job.future.set_result(outcome)


def _fail(group: list[_Job], error: LevelstreamError) -> None:
    for job in group:
        if not job.future.done():
            job.future.set_exception(error)


def _split_doc_key(dbkey: bytes) -> tuple[str, bytes]:
    """Inverse of `keys.doc_key`: names never contain NUL, so the first 00 ends it."""
    cut = dbkey.index(b"\x00", 1)
    return dbkey[1:cut].decode("utf-8"), keys.unescape(dbkey[cut + 1 :])


def _write_args(state: TxState, group: list[_Job]) -> list[Any]:
    fetched: Fetched = state.db
    up: list[list[Any]] = [[], [], [], [], [], []]
    gone: list[list[Any]] = [[], []]
    for dbkey, raw in state.writes.items():
        if dbkey[:1] != keys.DOC:
            continue  # TTL and log-index entries: PostgreSQL indexes do that work
        collection, key = fetched.names.get(dbkey) or _split_doc_key(dbkey)
        if raw is None:
            gone[0].append(collection)
            gone[1].append(key)
            continue
        record = decode_record(raw)
        for column, value in zip(
            up,
            (collection, key, record.rev, record.created_ms, record.expires_ms, record.envelope),
            strict=True,
        ):
            column.append(value)
    log_cols: list[list[Any]] = [[], [], [], [], [], []]
    for job in group:
        for change in job.changes:
            values = (
                change.seq,
                change.collection,
                change.key.encode("utf-8"),
                change.op,
                job.now_ms,
                change.data,
            )
            for column, value in zip(log_cols, values, strict=True):
                column.append(value)
    counts = list(state.counts.items())
    return [
        *up,
        *gone,
        *log_cols,
        [c for c, _ in counts],
        [n for _, n in counts],
        state.seq,
        state.auto_id,
        NOTIFY_CHANNEL,
    ]
