"""The one writer of a LevelDB: a thread that commits the core's groups.

Every write of the database goes through here. The thread takes all the jobs
waiting in its queue (`app.store.core.take_group`), lets the core apply the
transactions over the documents LevelDB holds (`Group`, reading through
`LevelReader`), and writes the group's mutations -- documents, TTL index
entries, change-log entries and their index, counts and the new head seq --
in ONE `write_batch(transaction=True, sync=...)`. Only after that batch is on
disk are the callers answered and the changes handed to listeners, in seq
order, on the event loop. One fsync thus covers a whole group: that is what
keeps durable mode fast under concurrency.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from app.errors import Unavailable
from app.store.core import STOP, DocId, Group, Job, Mutations, Outcome, resolve, take_group
from app.store.core.indexing import IndexDef, index_writes
from app.store.core.once import StoredAnswer
from app.store.leveldb import layout
from app.store.leveldb.indexes import load_catalog
from app.store.leveldb_driver import plyvel
from app.store.records import DocRecord, change_record, decode_record, now_ms
from app.store.types import Answered, Change, Once, TxResult, WriteOp

log = logging.getLogger("levelstream.store")

CommitListener = Callable[[Sequence[Change]], None]
Maintenance = Callable[[plyvel.DB, Any], int]


@dataclass(slots=True)
class _Maintenance:
    """A job that is not a transaction: `task(db, sync)` run in the writer, after a group."""

    task: Maintenance
    future: asyncio.Future[int]


class LevelReader:
    """The core's `DocReader` over the database as committed (the writer is its only writer).

    It keeps the LevelDB key of each document it read, for the group's write batch
    (which writes only documents the core read first): built once per document.
    """

    __slots__ = ("_db", "dbkeys")

    def __init__(self, db: plyvel.DB) -> None:
        self._db = db
        self.dbkeys: dict[DocId, bytes] = {}

    def get(self, collection: str, key: str) -> DocRecord | None:
        dbkey = self.dbkeys[(collection, key)] = layout.doc_key(collection, key.encode("utf-8"))
        raw = self._db.get(dbkey)
        return None if raw is None else decode_record(raw)

    def answer(self, scope: bytes) -> StoredAnswer | None:
        raw = self._db.get(layout.answer_key(scope))
        return None if raw is None else StoredAnswer.decode(raw)

    def dbkey(self, doc: DocId) -> bytes:
        dbkey = self.dbkeys.get(doc)
        return dbkey if dbkey is not None else layout.doc_key(doc[0], doc[1].encode("utf-8"))


class Writer:
    """Owns all mutations of one LevelDB. Created and stopped by the store."""

    def __init__(
        self,
        db: plyvel.DB,
        loop: asyncio.AbstractEventLoop,
        *,
        sync: bool,
        max_group: int,
        max_value_bytes: int,
        max_txn_bytes: int,
        head_seq: int,
        auto_id: int,
    ) -> None:
        self._db = db
        self._loop = loop
        self._sync = sync
        self._max_group = max_group
        self._max_value_bytes = max_value_bytes
        self._max_txn_bytes = max_txn_bytes
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._listeners: list[CommitListener] = []
        self._counts: dict[str, int] = {}
        # The JSON field indexes by collection (both states); changed only in this
        # thread, by the maintenance jobs of `app.store.leveldb.indexes`.
        self.indexes: dict[str, list[IndexDef]] = load_catalog(db)
        self.head_seq = head_seq
        self.auto_id = auto_id
        # The last commit failed (a full disk, an I/O error): not ready for writes
        # (`/readyz`) until one succeeds again; writes keep being tried meanwhile.
        self.failing = False
        # Group sizes of recent commits, for metrics and the benchmark.
        self.groups_committed = 0
        self.transactions_committed = 0
        # Called in the writer thread after each commit: (transactions, seconds).
        self.on_group: Callable[[int, float], None] | None = None
        self._thread = threading.Thread(target=self._run, name="levelstream-writer", daemon=True)
        self._thread.start()

    def add_listener(self, listener: CommitListener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: CommitListener) -> None:
        self._listeners.remove(listener)

    async def submit(self, ops: list[WriteOp]) -> TxResult:
        """Apply `ops` atomically; returns once committed (and fsynced in sync mode)."""
        future: asyncio.Future[TxResult] = self._loop.create_future()
        self._queue.put(Job(ops, future))
        return await future

    async def submit_once(self, ops: list[WriteOp], once: Once) -> Answered:
        """`submit`, at most once per idempotency key (`app.store.core.once`)."""
        future: asyncio.Future[Answered] = self._loop.create_future()
        self._queue.put(Job(ops, future, once))
        return await future

    async def run_maintenance(self, task: Maintenance) -> int:
        """Run `task(db, sync)` inside the writer, serialized with all writes."""
        future: asyncio.Future[int] = self._loop.create_future()
        self._queue.put(_Maintenance(task, future))
        return await future

    def catalog(self, collection: str) -> list[IndexDef]:
        return self.indexes.get(collection, [])

    def reset_counts(self) -> None:
        """Forget cached collection counts (maintenance rewrote them); writer thread only."""
        self._counts.clear()

    def stop(self) -> None:
        """Finish every queued job, then end the thread."""
        self._queue.put(STOP)
        self._thread.join()

    # --- the writer thread -------------------------------------------------

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is STOP:
                return
            group, stop_after = take_group(job, self._queue.get_nowait, self._max_group)
            try:
                self._commit_group(group)
            except Exception:  # a bug here must not kill the only writer
                log.exception("writer group failed")
                self._answer([(j.future, Unavailable("write failed")) for j in group], [])
            if stop_after:
                return

    def _commit_group(self, jobs: list[Job | _Maintenance]) -> None:
        reader = LevelReader(self._db)  # one per group: it keeps the keys it built
        group = Group(
            reader,
            head_seq=self.head_seq,
            auto_id=self.auto_id,
            now_ms=now_ms(),
            max_value_bytes=self._max_value_bytes,
            max_txn_bytes=self._max_txn_bytes,
            answers=reader,
        )
        outcomes: list[tuple[asyncio.Future[Any], Outcome | int]] = []
        maintenance: list[_Maintenance] = []
        for job in jobs:
            if isinstance(job, _Maintenance):
                maintenance.append(job)
            else:
                outcomes.append((job.future, group.settle(job.ops, job.once)))
        done = group.mutations
        started = time.perf_counter()
        try:
            if not done.empty:
                self._write(done, reader)
        except plyvel.Error as exc:
            log.error("commit failed: %s", exc)
            self.failing = True
            failed = Unavailable("the store could not commit the write; nothing was written")
            outcomes = [(future, failed) for future, _ in outcomes]
            changes: list[Change] = []
        else:
            self.failing = False
            self.head_seq = done.head_seq
            self.auto_id = done.auto_id
            changes = done.changes
            self.groups_committed += 1
            self.transactions_committed += group.transactions
            if self.on_group is not None and outcomes:
                self.on_group(len(outcomes), time.perf_counter() - started)
        # Maintenance runs after the group so it sees the committed head.
        for task in maintenance:
            try:
                outcomes.append((task.future, task.task(self._db, self._sync)))
            except Exception as exc:
                log.exception("maintenance failed")
                outcomes.append((task.future, Unavailable(str(exc))))
        self._answer(outcomes, changes)

    def _write(self, done: Mutations, reader: LevelReader) -> None:
        """The group's mutations as LevelDB keys, in one atomic batch."""
        counts = self._counts
        new_counts: dict[str, int] = {}
        for collection, delta in done.counts.items():
            count = counts.get(collection)
            if count is None:
                raw = self._db.get(layout.count_key(collection))
                count = int(raw) if raw else 0
            new_counts[collection] = count + delta
        indexed = index_writes(done, self.catalog) if self.indexes else None
        with self._db.write_batch(transaction=True, sync=self._sync) as batch:
            if indexed is not None:
                for index_id, position in indexed.removes:
                    batch.delete(layout.index_entry_key(index_id, position))
                for index_id, position, key in indexed.adds:
                    batch.put(layout.index_entry_key(index_id, position), key.encode("utf-8"))
            for collection, key, expires_ms in done.stale_expiries:
                batch.delete(layout.ttl_key(expires_ms, collection, key.encode("utf-8")))
            dbkey = reader.dbkey
            for doc, written in done.docs.items():
                record = written.record
                old_expiry = written.stored_expires_ms
                new_expiry = 0 if record is None else record.expires_ms
                if old_expiry and old_expiry != new_expiry:
                    batch.delete(layout.ttl_key(old_expiry, doc[0], doc[1].encode("utf-8")))
                if record is None:
                    batch.delete(dbkey(doc))
                    continue
                batch.put(dbkey(doc), record.encode())
                if new_expiry and new_expiry != old_expiry:
                    batch.put(layout.ttl_key(new_expiry, doc[0], doc[1].encode("utf-8")), b"")
            for change in done.changes:
                batch.put(layout.log_key(change.seq), change_record(change.data, change.prev))
                batch.put(
                    layout.log_index_key(change.collection, change.seq),
                    change.key.encode("utf-8"),
                )
            for scope, remembered in done.answers.items():
                if remembered.replaced_expires_ms:
                    batch.delete(layout.answer_expiry_key(remembered.replaced_expires_ms, scope))
                stored = remembered.stored
                batch.put(layout.answer_key(scope), stored.encode())
                batch.put(layout.answer_expiry_key(stored.expires_ms, scope), b"")
            for collection, count in new_counts.items():
                batch.put(layout.count_key(collection), b"%d" % count)
            batch.put(layout.meta_key("head"), layout.seq_bytes(done.head_seq))
            if done.auto_id != self.auto_id:
                batch.put(layout.meta_key("auto_id"), layout.seq_bytes(done.auto_id))
        counts.update(new_counts)

    def _answer(
        self, outcomes: list[tuple[asyncio.Future[Any], Any]], changes: list[Change]
    ) -> None:
        if outcomes or changes:
            self._loop.call_soon_threadsafe(self._deliver, outcomes, changes)

    def _deliver(
        self, outcomes: list[tuple[asyncio.Future[Any], Any]], changes: list[Change]
    ) -> None:
        """On the event loop: hand changes to listeners in seq order, then answer callers."""
        if changes:
            for listener in list(self._listeners):
                try:
                    listener(changes)
                except Exception:
                    log.exception("commit listener failed")
        for future, outcome in outcomes:
            resolve(future, outcome)
