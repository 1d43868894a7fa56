"""The one writer: a thread that applies transactions in groups (group commit).

Every write of the database goes through here. The thread takes all the
transactions waiting in its queue (up to `max_group`), applies them one after
the other against an overlay of what the group has written so far (so
preconditions see earlier writes of the same group), assigns seqs, and writes
documents, change-log entries, index entries and the new head seq in ONE
`write_batch(transaction=True, sync=...)`. Only after that batch is on disk are
the callers answered and the changes handed to listeners, in seq order, on
the event loop. One fsync thus covers a whole group: that is what keeps
durable mode fast under concurrency.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.errors import LevelstreamError, Unavailable
from app.store import keys
from app.store.leveldb_driver import plyvel
from app.store.transaction import Transaction, TxState
from app.store.types import Change, TxResult, WriteOp

log = logging.getLogger("levelstream.store")

CommitListener = Callable[[Sequence[Change]], None]
Maintenance = Callable[[plyvel.DB, Any], int]


@dataclass(slots=True)
class _Job:
    ops: list[WriteOp] | None
    future: asyncio.Future[Any]
    maintenance: Maintenance | None = None


@dataclass(slots=True)
class _Outcome:
    future: asyncio.Future[Any]
    value: Any
    changes: list[Change] = field(default_factory=list)


_STOP = object()


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
        self.head_seq = head_seq
        self.auto_id = auto_id
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
        self._queue.put(_Job(ops, future))
        return await future

    async def run_maintenance(self, task: Maintenance) -> int:
        """Run `task(db, write_batch)` inside the writer, serialized with all writes."""
        future: asyncio.Future[int] = self._loop.create_future()
        self._queue.put(_Job(None, future, maintenance=task))
        return await future

    def reset_counts(self) -> None:
        """Forget cached collection counts (maintenance rewrote them); writer thread only."""
        self._counts.clear()

    def stop(self) -> None:
        """Finish every queued job, then end the thread."""
        self._queue.put(_STOP)
        self._thread.join()

    # --- the writer thread -------------------------------------------------

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is _STOP:
                return
            group = [job]
            stop_after = False
            while len(group) < self._max_group:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is _STOP:
                    stop_after = True
                    break
                group.append(more)
            try:
                self._commit_group(group)
            except Exception:  # a bug here must not kill the only writer
                log.exception("writer group failed")
                self._answer([_Outcome(j.future, Unavailable("write failed")) for j in group])
            if stop_after:
                return

    def _commit_group(self, group: list[_Job]) -> None:
        state = TxState(self._db, self._counts, self.head_seq, self.auto_id)
        outcomes: list[_Outcome] = []
        maintenance: list[_Job] = []
        for job in group:
            if job.maintenance is not None:
                maintenance.append(job)
                continue
            assert job.ops is not None
            tx = Transaction(state, self._max_value_bytes, self._max_txn_bytes)
            try:
                results = tx.apply(job.ops)
            except LevelstreamError as exc:
                outcomes.append(_Outcome(job.future, exc))
                continue
            state.absorb(tx)
            outcomes.append(_Outcome(job.future, TxResult(results, state.seq), tx.changes))
        started = time.perf_counter()
        try:
            if state.seq != self.head_seq or state.writes:
                self._write(state)
        except plyvel.Error as exc:
            log.error("commit failed: %s", exc)
            failed = Unavailable("the store could not commit the write; nothing was written")
            self._answer([_Outcome(o.future, failed) for o in outcomes])
            outcomes = []
        else:
            self.head_seq = state.seq
            self.auto_id = state.auto_id
            self._counts.update(state.counts)
            self.groups_committed += 1
            self.transactions_committed += len(outcomes)
            if self.on_group is not None and outcomes:
                self.on_group(len(outcomes), time.perf_counter() - started)
        # Maintenance runs after the group so it sees the committed head.
        for job in maintenance:
            assert job.maintenance is not None
            try:
                outcomes.append(_Outcome(job.future, job.maintenance(self._db, self._sync)))
            except Exception as exc:
                log.exception("maintenance failed")
                outcomes.append(_Outcome(job.future, Unavailable(str(exc))))
        self._answer(outcomes)

    def _write(self, state: TxState) -> None:
        with self._db.write_batch(transaction=True, sync=self._sync) as batch:
            for dbkey, value in state.writes.items():
                if value is None:
                    batch.delete(dbkey)
                else:
                    batch.put(dbkey, value)
            for collection, count in state.counts.items():
                batch.put(keys.count_key(collection), str(count).encode("ascii"))
            batch.put(keys.meta_key("head"), keys.seq_bytes(state.seq))
            if state.auto_id != self.auto_id:
                batch.put(keys.meta_key("auto_id"), keys.seq_bytes(state.auto_id))

    def _answer(self, outcomes: list[_Outcome]) -> None:
        if outcomes:
            self._loop.call_soon_threadsafe(self._deliver, outcomes)

    def _deliver(self, outcomes: list[_Outcome]) -> None:
        """On the event loop: hand changes to listeners in seq order, then answer callers."""
        changes = [c for o in outcomes for c in o.changes]
        if changes:
            for listener in list(self._listeners):
                try:
                    listener(changes)
                except Exception:
                    log.exception("commit listener failed")
        for outcome in outcomes:
            if outcome.future.done():  # the caller went away; the write still stands
                continue
            if isinstance(outcome.value, BaseException):
                outcome.future.set_exception(outcome.value)
            else:
                outcome.future.set_result(outcome.value)
