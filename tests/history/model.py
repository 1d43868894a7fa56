"""What clients did and saw: the history the checker judges.

Every write is recorded at invocation and completed with its outcome: `ok` (a
2xx, with the seqs it got), `failed` (an answer that says nothing was written:
4xx, 503/507) or `unknown` (the connection broke before an answer: it may have
been committed, once at most). Put values carry a unique `id` field so that a
change in the log names the write that made it.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Literal

Outcome = Literal["pending", "ok", "failed", "unknown"]


@dataclass
class Item:
    """One document write of a write: `value` None is a delete; `key` None is a POST."""

    key: str | None
    value: Any
    if_match: int | None = None  # the rev the write was conditional on
    seq: int | None = None  # the change's seq, when the answer told it


@dataclass
class Write:
    writer: str
    op: str  # put, patch-free: put, delete, post, batch
    items: list[Item]
    invoked: float
    completed: float = 0.0
    outcome: Outcome = "pending"
    status: int | None = None  # the HTTP status, when an answer came
    code: str | None = None  # the problem's `code`, when refused
    detail: str = ""  # why no answer came (the transport error), for the record

    @property
    def conditional(self) -> bool:
        return any(item.if_match is not None for item in self.items)


@dataclass
class Event:
    """One thing a subscriber saw, in arrival order.

    kind: `start` (subscribed from `seq`: its `since`, or the reply's head seq),
    `change` (a delivery: seq, key, op), `reset` (history_compacted/reset/epoch
    change: the next start may be anywhere), `end` (the subscriber claims to have
    caught up to `seq`: everything matching up to it must have been delivered).
    """

    kind: Literal["start", "change", "reset", "end"]
    seq: int
    key: str = ""
    op: str = ""
    transport: str = ""


@dataclass
class Subscriber:
    name: str
    transport: str  # ws, sse, poll
    collection: str
    prefix: str | None = None
    events: list[Event] = field(default_factory=list)

    def matches(self, change: dict[str, Any]) -> bool:
        if change["collection"] != self.collection and self.collection != "*":
            return False
        return self.prefix is None or str(change["key"]).startswith(self.prefix)


@dataclass
class Read:
    client: str
    server: int  # the server incarnation (a restart is a new server)
    seq: int  # the database's seq the read reflected (head_seq, or a rev)


class History:
    """Thread-safe recorder: writers, subscribers and readers append concurrently."""

    def __init__(self) -> None:
        self.writes: list[Write] = []
        self.subscribers: list[Subscriber] = []
        self.reads: list[Read] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    def unique(self, writer: str) -> dict[str, Any]:
        """A fresh put value; its `id` names the write in the change log."""
        with self._lock:
            return {"id": f"{writer}-{next(self._ids)}"}

    def invoke(self, writer: str, op: str, items: list[Item]) -> Write:
        write = Write(writer, op, items, time.monotonic())
        with self._lock:
            self.writes.append(write)
        return write

    @staticmethod
    def complete(
        write: Write,
        outcome: Outcome,
        status: int | None = None,
        code: str | None = None,
        detail: str = "",
    ) -> None:
        write.outcome, write.status, write.code, write.detail = outcome, status, code, detail
        write.completed = time.monotonic()

    def subscriber(
        self, name: str, transport: str, collection: str, prefix: str | None = None
    ) -> Subscriber:
        sub = Subscriber(name, transport, collection, prefix)
        with self._lock:
            self.subscribers.append(sub)
        return sub

    def read(self, client: str, server: int, seq: int) -> None:
        with self._lock:
            self.reads.append(Read(client, server, seq))
