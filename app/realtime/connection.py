"""A subscriber connection (one WebSocket or one SSE stream) and its subscriptions."""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections.abc import Callable
from functools import cached_property
from typing import Literal

import orjson

from app.auth.principal import Principal
from app.realtime.outbox import Frame, Outbox
from app.store.core.events import ChangeEvents
from app.store.types import ChangeFilter

Transport = Literal["ws", "sse"]


# Distinct subscription ids whose change frames one change keeps (see `ws_frame`).
WS_FRAME_CACHE = 16


@functools.lru_cache(maxsize=1024)
def change_prefix(sub_id: str) -> bytes:
    """The start of a WebSocket change frame for subscription `sub_id`, shared by every
    subscription of that id (the same object: cheap to keep, fast to compare)."""
    return b'{"type":"change","sub":%s,"change":' % orjson.dumps(sub_id)


def sse_change(seq: int, data: bytes) -> bytes:
    """A change's SSE event: its seq as the id a reconnect sends back in Last-Event-ID."""
    return b"id: %d\nevent: change\ndata: %s\n\n" % (seq, data)


class EncodedChange:
    """One change and its wire forms, each computed at most once for all subscribers."""

    __slots__ = (
        "__dict__",
        "_event_frames",
        "_events",
        "_ws_frames",
        "collection",
        "data",
        "key",
        "prev",
        "seq",
    )

    def __init__(
        self,
        seq: int,
        data: bytes,
        collection: str = "",
        key: str = "",
        prev: bytes | None = None,
    ) -> None:
        self.seq = seq
        self.data = data
        self.collection = collection
        self.key = key
        self.prev = prev
        self._ws_frames: dict[bytes, bytes] | None = None
        self._events: ChangeEvents | None = None
        self._event_frames: dict[tuple[bytes | None, int], Frame] | None = None

    def events(self) -> ChangeEvents:
        """This change as filtered subscriptions see it (`app/store/core/events.py`),
        decoded once for all of them."""
        events = self._events
        if events is None:
            events = self._events = ChangeEvents(self.data, self.prev)
        return events

    def event_frame(self, event: bytes, prefix: bytes | None) -> Frame:
        """The frame of one of this change's events: SSE (prefix None) or WebSocket,
        built once for every subscription that gets the same event."""
        frames = self._event_frames
        if frames is None:
            frames = self._event_frames = {}
        # The event by identity: `events()` keeps each of its few forms alive as long
        # as this change (hashing the bytes would read them all).
        cache_key = (prefix, id(event))
        frame = frames.get(cache_key)
        if frame is None:
            frame = sse_change(self.seq, event) if prefix is None else prefix + event + b"}"
            if len(frames) < WS_FRAME_CACHE:
                frames[cache_key] = frame
        return frame

    @cached_property
    def sse(self) -> bytes:
        return sse_change(self.seq, self.data)

    def ws_frame(self, prefix: bytes) -> bytes:
        """The WebSocket change frame (UTF-8) for a subscription's `prefix`.

        The frame names the subscription, so it is not the same for everyone;
        but clients number their subscriptions alike (the SDKs: "s1", "s2"...),
        so most subscribers share a few frames: each is built once per change.
        """
        frames = self._ws_frames
        if frames is None:
            frames = self._ws_frames = {}
        frame = frames.get(prefix)
        if frame is None:
            frame = prefix + self.data + b"}"
            if len(frames) < WS_FRAME_CACHE:
                frames[prefix] = frame
        return frame


class Connection:
    """Server-side state of one subscriber connection.

    Slotted, and what most connections never use (a client id, a set of joined
    channels) is made on first use: an idle connection should cost little.
    """

    __slots__ = (
        "_client_id",
        "_joined",
        "channel_subs",
        "close_code",
        "close_reason",
        "outbox",
        "principal",
        "subscriptions",
        "transport",
    )

    def __init__(
        self,
        principal: Principal,
        transport: Transport,
        queue_limit: int,
        outbox: Outbox | None = None,
    ) -> None:
        self._client_id: str | None = None
        self.principal = principal
        self.transport = transport
        self.outbox = outbox if outbox is not None else Outbox(queue_limit)
        self.subscriptions: dict[str, Subscription] = {}
        self.channel_subs: dict[str, str] = {}  # sub id -> channel
        self._joined: set[str] | None = None
        self.close_code: int | None = None
        self.close_reason = ""

    @property
    def client_id(self) -> str:
        client_id = self._client_id
        if client_id is None:
            client_id = self._client_id = uuid.uuid4().hex
        return client_id

    @property
    def joined(self) -> set[str]:
        """Channels where this connection is present."""
        joined = self._joined
        if joined is None:
            joined = self._joined = set()
        return joined

    @property
    def held(self) -> int:
        """Subscriptions, channel subscriptions and presence joins: one cap counts them all."""
        joined = self._joined
        return len(self.subscriptions) + len(self.channel_subs) + (len(joined) if joined else 0)

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

    __slots__ = (
        "_match",
        "_outbox",
        "_prefix",
        "buffer",
        "buffer_limit",
        "buffer_overflowed",
        "can_read",
        "connection",
        "every_key",
        "flt",
        "last_seq",
        "live",
        "replay",
        "sub_id",
    )

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
        # Its replay task, while one runs: it belongs to this subscription, not to its
        # id (a client may unsubscribe and reuse the id while the replay is running).
        self.replay: asyncio.Task[None] | None = None
        # What each delivery reads, kept here: one object fewer to reach per delivery
        # (with 10,000 subscribers, each one a likely cache miss).
        self.every_key = flt.key is None and flt.bounds is None  # no key filter
        self._match = flt.match
        self._outbox = connection.outbox
        self._prefix = change_prefix(sub_id) if connection.transport == "ws" else None

    def frame(self, change: EncodedChange) -> Frame:
        """A replayed change's frame (live ones are built in `offer`)."""
        prefix = self._prefix
        if prefix is None:
            return change.sse
        return prefix + change.data + b"}"

    def offer(self, change: EncodedChange, frame: Frame | None = None) -> None:
        """A live change that matches its key filter: queue it now, or buffer it while
        replaying. `frame`: its frame for this subscription, when the caller decided it
        already (the hub's fan-out does, once per change and subscription id:
        `app/realtime/fanout.py`). This runs once per delivery: what it reads is kept
        on the subscription, and the rare cases are calls of their own."""
        if not self.live:
            if len(self.buffer) < self.buffer_limit:
                self.buffer.append(change)
            else:
                self.buffer_overflowed = True
            return
        seq = change.seq
        if seq <= self.last_seq:
            return
        self.last_seq = seq
        if frame is None:
            frame = self._frame_of(change)
            if frame is None:
                return
        if not self._outbox.push(frame, seq):
            self._refused()

    def _frame_of(self, change: EncodedChange) -> Frame | None:
        """A live change's frame for this subscription; None: its filter shows nothing
        of it."""
        prefix = self._prefix
        match = self._match
        if match is not None:
            event = change.events().event(match)
            if event is None:
                return None
            return change.event_frame(event, prefix)
        if prefix is None:
            return change.sse
        return change.ws_frame(prefix)

    def _refused(self) -> None:
        """Its outbox took no frame: if because it is full, a slow consumer."""
        connection = self.connection
        if self._outbox.overflowed and connection.close_code is None:
            # A slow consumer: close it (4008) rather than slow the write path or grow
            # memory.
            connection.request_close(4008, connection.resume_hint)

    def go_live(self, caught_up_to: int) -> None:
        """Replay reached `caught_up_to`: flush buffered changes after it, then go live."""
        self.last_seq = max(self.last_seq, caught_up_to)
        buffered, self.buffer = self.buffer, []
        self.live = True
        for change in buffered:
            self.offer(change)
