"""A subscriber connection (one WebSocket or one SSE stream) and its subscriptions."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from functools import cached_property
from typing import Literal

import orjson

from app.auth.principal import Principal
from app.realtime.outbox import Frame, Outbox
from app.store.types import ChangeFilter

Transport = Literal["ws", "sse"]


def seq_of(data: bytes) -> int:
    """The seq of a change's JSON; the store always writes it first: {"seq":N,..."""
    return int(data[7 : data.index(b",", 7)])


class EncodedChange:
    """One change and its wire forms, each computed at most once for all subscribers."""

    __slots__ = ("__dict__", "collection", "data", "key", "seq")

    def __init__(self, seq: int, data: bytes, collection: str = "", key: str = "") -> None:
        self.seq = seq
        self.data = data
        self.collection = collection
        self.key = key

    @cached_property
    def text(self) -> str:
        return self.data.decode("utf-8")

    @cached_property
    def sse(self) -> bytes:
        return b"id: %d\nevent: change\ndata: %s\n\n" % (self.seq, self.data)


class Connection:
    """Server-side state of one subscriber connection."""

    def __init__(self, principal: Principal, transport: Transport, queue_limit: int) -> None:
        self.client_id = uuid.uuid4().hex
        self.principal = principal
        self.transport = transport
        self.outbox = Outbox(queue_limit)
        self.subscriptions: dict[str, Subscription] = {}
        self.channel_subs: dict[str, str] = {}  # sub id -> channel
        self.joined: set[str] = set()  # channels where this connection is present
        self.close_code: int | None = None
        self.close_reason = ""
        self.replays: dict[str, asyncio.Task[None]] = {}

    def request_close(self, code: int, reason: str = "") -> None:
        """Ask the transport to close with `code`; queued frames are dropped."""
        if self.close_code is None:
            self.close_code = code
            self.close_reason = reason
        self.outbox.close()

    def end(self, code: int, reason: str = "") -> None:
        """Close with `code` once the frames already queued are sent."""
        if self.close_code is None:
            self.close_code = code
            self.close_reason = reason
        self.outbox.end()

    @property
    def resume_hint(self) -> str:
        """The close reason of a slow consumer: the seq of the last change it will have
        received (exact for one subscription; with several, each resumes from its own)."""
        since = self.outbox.taken_seq
        return orjson.dumps({"code": "slow_consumer", "since": since}).decode()


class Subscription:
    """One filter of one connection. Buffers live changes until its replay is done."""

    def __init__(
        self,
        connection: Connection,
        sub_id: str,
        flt: ChangeFilter,
        can_read: Callable[[str], bool] | None,
        buffer_limit: int,
    ) -> None:
        self.connection = connection
        self.sub_id = sub_id
        self.flt = flt
        self.can_read = can_read
        self.live = False
        self.buffer: list[EncodedChange] = []
        self.buffer_limit = buffer_limit
        self.buffer_overflowed = False
        self.last_seq = 0
        if connection.transport == "ws":
            self._prefix = '{"type":"change","sub":' + orjson.dumps(sub_id).decode() + ',"change":'

    def frame(self, change: EncodedChange) -> Frame:
        if self.connection.transport == "sse":
            return change.sse
        return self._prefix + change.text + "}"

    def offer(self, change: EncodedChange) -> None:
        """A live change that matches: queue it now, or buffer it while replaying."""
        if not self.live:
            if len(self.buffer) < self.buffer_limit:
                self.buffer.append(change)
            else:
                self.buffer_overflowed = True
            return
        if change.seq <= self.last_seq:
            return
        self.last_seq = change.seq
        connection = self.connection
        outbox = connection.outbox
        if not outbox.push(self.frame(change), change.seq) and (
            outbox.overflowed and connection.close_code is None
        ):
            # A slow consumer: close it (4008) rather than slow the write path or grow memory.
            connection.request_close(4008, connection.resume_hint)

    def go_live(self, caught_up_to: int) -> None:
        """Replay reached `caught_up_to`: flush buffered changes after it, then go live."""
        self.last_seq = max(self.last_seq, caught_up_to)
        buffered, self.buffer = self.buffer, []
        self.live = True
        for change in buffered:
            self.offer(change)
