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
import logging
import queue
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.errors import LevelstreamError, Unavailable
from app.store.core.mutations import DocReader, Mutations
from app.store.core.once import AnswerReader, AnswerWrite, StoredAnswer, live_answer, scope_of
from app.store.core.txn import Transaction
from app.store.types import Answered, Once, TxResult, WriteOp

log = logging.getLogger("levelstream.store")

# Put in a writer's queue to stop it after the jobs queued before it.
STOP: Any = object()


@dataclass(slots=True)
class Job:
    """One transaction waiting for the writer, and where its caller waits."""

    ops: list[WriteOp]
    future: asyncio.Future[Any]  # TxResult, or Answered with `once`
    once: Once | None = None


Outcome = TxResult | Answered | LevelstreamError


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
        answers: AnswerReader | None = None,
    ) -> None:
        self.reader = reader
        self.answers = answers  # needed by transactions with a `Once`
        self.mutations = Mutations(head_seq, auto_id, now_ms)
        self.transactions = 0  # applied (not dropped) so far
        self._max_value_bytes = max_value_bytes
        self._max_txn_bytes = max_txn_bytes

    def apply(self, ops: list[WriteOp], once: Once | None = None) -> TxResult | Answered:
        """Apply one transaction on top of the group, all or nothing.

        Raises the op's `LevelstreamError` (nothing of it is kept), or `NotLoaded`
        from the reader (nothing kept either: load the document and call again).
        With `once`, a live remembered answer is replayed instead (nothing runs),
        else the transaction's answer is remembered with it (`core.once`).
        """
        held: StoredAnswer | None = None
        if once is not None:
            scope = scope_of(once.owner, once.key)
            held = self._remembered(scope)
            replay = live_answer(held, once.digest, self.mutations.now_ms)
            if replay is not None:
                return Answered(replay, replayed=True)
        tx = Transaction(self.reader, self.mutations, self._max_value_bytes, self._max_txn_bytes)
        try:
            result = TxResult(tx.apply(ops), self.mutations.head_seq)
            if once is not None:
                answer = self._remember(once, scope, held, result)
        except BaseException:
            tx.rollback()
            raise
        self.transactions += 1
        return result if once is None else Answered(answer, replayed=False)

    def settle(self, ops: list[WriteOp], once: Once | None = None) -> Outcome:
        """`apply`, with a refusal as the outcome to answer (for readers that never miss)."""
        try:
            return self.apply(ops, once)
        except LevelstreamError as exc:
            return exc

    def _remembered(self, scope: bytes) -> StoredAnswer | None:
        """The record at `scope` as the group leaves it so far (an earlier transaction of
        the group may have remembered it), else as the backend holds it."""
        pending = self.mutations.answers.get(scope)
        if pending is not None:
            return pending.stored
        assert self.answers is not None, "a group with idempotent writes needs an AnswerReader"
        return self.answers.answer(scope)

    def _remember(
        self, once: Once, scope: bytes, held: StoredAnswer | None, result: TxResult
    ) -> bytes:
        try:
            answer = once.answer(result)
        except Exception as exc:  # the caller's renderer: its bug must not fail the group
            log.exception("rendering a remembered answer failed")
            raise Unavailable("the answer could not be rendered; nothing was written") from exc
        now = self.mutations.now_ms
        stored = StoredAnswer(now + once.ttl_ms, once.digest, answer)
        replaced = 0 if held is None else held.expires_ms
        self.mutations.answers[scope] = AnswerWrite(stored, replaced)
        return answer


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
