"""Group commit, written once: the transactions waiting for a writer, applied as one.

Both backends have one writer that takes every transaction waiting in its
queue (up to `max_group`), applies them one after the other over what the
group has written so far (so preconditions see earlier writes of the same
group), drops a failing one whole, and stores the group's `Mutations` in one
atomic write (a LevelDB batch, a PostgreSQL transaction). Only after that
commit are the callers answered, so one fsync covers the whole group.
What differs is only how a backend waits for work (a thread or a task) and
how it stores the mutations.
"""

from __future__ import annotations

import asyncio
import queue
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.errors import LevelstreamError
from app.store.core.mutations import DocReader, Mutations
from app.store.core.txn import Transaction
from app.store.types import TxResult, WriteOp

# Put in a writer's queue to stop it after the jobs queued before it.
STOP: Any = object()


@dataclass(slots=True)
class Job:
    """One transaction waiting for the writer, and where its caller waits."""

    ops: list[WriteOp]
    future: asyncio.Future[TxResult]


Outcome = TxResult | LevelstreamError


class Group:
    """One group's transactions over one `DocReader` snapshot; `mutations` is the result."""

    def __init__(
        self,
        reader: DocReader,
        *,
        head_seq: int,
        auto_id: int,
        now_ms: int,
        max_value_bytes: int,
        max_txn_bytes: int,
    ) -> None:
        self.reader = reader
        self.mutations = Mutations(head_seq, auto_id, now_ms)
        self.transactions = 0  # applied (not dropped) so far
        self._max_value_bytes = max_value_bytes
        self._max_txn_bytes = max_txn_bytes

    def apply(self, ops: list[WriteOp]) -> TxResult:
        """Apply one transaction on top of the group, all or nothing.

        Raises the op's `LevelstreamError` (nothing of it is kept), or `NotLoaded`
        from the reader (nothing kept either: load the document and call again).
        """
        tx = Transaction(self.reader, self.mutations, self._max_value_bytes, self._max_txn_bytes)
        try:
            results = tx.apply(ops)
        except BaseException:
            tx.rollback()
            raise
        self.transactions += 1
        return TxResult(results, self.mutations.head_seq)

    def settle(self, ops: list[WriteOp]) -> Outcome:
        """`apply`, with a refusal as the outcome to answer (for readers that never miss)."""
        try:
            return self.apply(ops)
        except LevelstreamError as exc:
            return exc


def take_group(first: Any, get_nowait: Callable[[], Any], max_group: int) -> tuple[list[Any], bool]:
    """`first` and whatever else is queued, up to `max_group`; and whether STOP came."""
    group = [first]
    while len(group) < max_group:
        try:
            more = get_nowait()
        except (queue.Empty, asyncio.QueueEmpty):
            break
        if more is STOP:
            return group, True
        group.append(more)
    return group, False


def resolve(future: asyncio.Future[Any], outcome: Any) -> None:
    """Answer one caller (on the event loop); one that went away is skipped."""
    if future.done():  # the caller went away; the write still stands
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)
