"""A connection's bounded queue of outgoing frames, and the ways out of it.

Live fan-out pushes without ever waiting (the write path must not be slowed
by a slow reader): when the queue is full the connection is marked
overflowed, its queue is dropped, and it is closed (WS 4008) so the client
resumes from its last seq. Replay, which reads from the log at its own pace,
waits for room instead.

Two ways out. A sender coroutine waits in `take` and sends what it gets (SSE,
and WebSocket on a server without our write extension). A `DirectOutbox` has
no sender: its frames go to the socket from a synchronous writer, flushed
by the `Flusher` (the hub flushes at the end of each committed group, so a
connection gets one socket write per group); only when the socket cannot take
them (a peer reading slowly) do they wait, until it drains. A group of one
change has nothing to gather, so while the hub delivers one (`Flusher.immediate`)
a frame pushed to an empty direct outbox is written at once: per delivery, no
trip through the flusher (docs/performance.md, "one write in flight").
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

log = logging.getLogger("levelstream.realtime")

# A WebSocket frame is a text message, as str or as its UTF-8 bytes; an SSE one, bytes.
Frame = str | bytes

# Writes frames to the socket at once: True if written; False if not, and then,
# when only paused by backpressure, calls the callback once the socket drains.
DirectWrite = Callable[[list[Frame], Callable[[], None]], bool]
# The same for one frame.
DirectWriteOne = Callable[[Frame, Callable[[], None]], bool]


class Outbox:
    __slots__ = (
        "_frames",
        "_ready",
        "_room",
        "accepting",
        "closed",
        "ending",
        "limit",
        "overflowed",
        "queued_seq",
        "taken_seq",
    )

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._frames: list[Frame] = []
        # Seqs of the last change frame queued, and of the last one handed to the
        # socket (or its sender): on overflow the queue is dropped, so only
        # `taken_seq` is a safe point to resume from.
        self.queued_seq = 0
        self.taken_seq = 0
        # Futures made only while someone waits (cheaper than two asyncio.Events on
        # every idle connection): the sender waiting for frames, replay for room.
        self._ready: asyncio.Future[None] | None = None
        self._room: asyncio.Future[None] | None = None
        self.overflowed = False
        self.closed = False
        self.ending = False  # close once what is queued has been sent
        # Neither closed, overflowed nor ending: what `push` reads once per delivery
        # (set False with each of those three, and never True again).
        self.accepting = True

    def __len__(self) -> int:
        return len(self._frames)

    def push(self, frame: Frame, seq: int = 0) -> bool:
        """Queue a live frame (`seq`: of the change it carries, if any); False (and the
        outbox overflows) when it is full."""
        if not self.accepting:
            return False
        if len(self._frames) >= self.limit and not self._make_room():
            self.overflowed = True
            self.accepting = False
            self._frames.clear()
            self._wake_all()
            return False
        frames = self._frames
        frames.append(frame)
        if seq:
            self.queued_seq = seq
        if len(frames) == 1:
            self._wake()
        return True

    async def put(self, frame: Frame, seq: int = 0) -> bool:
        """Queue a replayed frame, waiting while the outbox is full."""
        await self.room()
        return self.push(frame, seq)

    async def room(self) -> None:
        """Wait until a frame can be queued (or the outbox is closed or overflowed)."""
        while len(self._frames) >= self.limit and not (self.closed or self.overflowed):
            self._room = asyncio.get_running_loop().create_future()
            await self._room

    def start_at(self, seq: int) -> None:
        """A subscription starts after `seq`: the resume point until a change is sent."""
        if not self.queued_seq:
            self.queued_seq = self.taken_seq = seq

    async def take(self) -> list[Frame]:
        """Wait for frames and take them all; [] once closed or overflowed."""
        while not self._frames and not (self.closed or self.overflowed or self.ending):
            self._ready = asyncio.get_running_loop().create_future()
            await self._ready
        if self.closed or self.overflowed or not self._frames:
            return []
        frames = self._frames
        self._taken()
        return frames

    def end(self) -> None:
        """Accept nothing more; `take` hands out what is queued, then []."""
        self.ending = True
        self.accepting = False
        self._wake_all()

    def close(self) -> None:
        self.closed = True
        self.accepting = False
        self._frames.clear()
        self._wake_all()

    def _taken(self) -> None:
        """Everything queued was handed over: the queue is empty and has room."""
        self._frames = []
        self.taken_seq = self.queued_seq
        room = self._room
        if room is not None and not room.done():
            room.set_result(None)

    def _wake(self) -> None:
        """The queue was empty and is not: wake the sender."""
        ready = self._ready
        if ready is not None and not ready.done():
            ready.set_result(None)

    def _make_room(self) -> bool:
        """The queue is full: send some of it now if possible (not from here)."""
        return False

    def _wake_all(self) -> None:
        for waiter in (self._ready, self._room):
            if waiter is not None and not waiter.done():
                waiter.set_result(None)


class DirectOutbox(Outbox):
    """An outbox written straight to its socket by `write`, with no sender task.

    `on_close` is called once the outbox closes (or has sent everything after
    `end`): the transport then puts its close frame on the wire.
    """

    __slots__ = ("_flusher", "_write", "_write_one", "on_close")

    def __init__(
        self,
        limit: int,
        write: DirectWrite,
        flusher: Flusher,
        write_one: DirectWriteOne | None = None,
    ) -> None:
        super().__init__(limit)
        self._write = write
        # One frame alone (the hub's one-change groups): no list built per delivery.
        self._write_one: DirectWriteOne = (
            write_one if write_one is not None else lambda frame, then: write([frame], then)
        )
        self._flusher = flusher
        self.on_close: Callable[[], None] | None = None

    def push(self, frame: Frame, seq: int = 0) -> bool:
        # Runs once per delivery: the checks are ordered so the common case (nothing
        # queued, a group of one change) reads one list and two flags.
        if self._frames or not self._flusher.immediate or not self.accepting:
            return Outbox.push(self, frame, seq)
        # Nothing queued and a group of one change: straight to the socket, in order.
        try:
            written = self._write_one(frame, self)
        except Exception:
            log.exception("writing to a connection failed")
            self.close()
            return False
        if not written:
            # It waits in the queue: written once the socket drains (or the stream starts).
            self._frames.append(frame)
            if seq:
                self.queued_seq = seq
            return True
        if seq > 0:
            self.queued_seq = self.taken_seq = seq
        return True

    def flush(self) -> bool:
        """Write everything queued to the socket, in one write; False if it cannot now
        (it is then flushed again once the socket drains)."""
        frames = self._frames
        if not frames or self.closed or self.overflowed:
            return False
        if not self._write(frames, self):
            return False
        frames.clear()  # written: the same list serves again
        self.taken_seq = self.queued_seq
        room = self._room
        if room is not None and not room.done():
            room.set_result(None)
        if self.ending:
            self._closing()
        return True

    def __call__(self) -> None:
        """The writer's `on_writable`: the socket drained, so flush what waited."""
        self._flusher.add(self)

    def end(self) -> None:
        super().end()
        if not self._frames:
            self._closing()
        else:
            self.flush()  # closes once written, now or when the socket drains

    def close(self) -> None:
        super().close()
        self._closing()

    def _wake(self) -> None:
        self._flusher.add(self)

    def _make_room(self) -> bool:
        # One group bigger than the queue, on a socket that takes it: no overflow.
        return self.flush()

    def _closing(self) -> None:
        on_close, self.on_close = self.on_close, None
        if on_close is not None:
            on_close()


class Flusher:
    """Direct outboxes with frames queued, written together.

    The hub flushes at the end of each committed group; whatever else queues
    frames (replies, channel messages, replay, a drained socket) is flushed by
    one callback per loop iteration for all of them.
    """

    __slots__ = ("_pending", "_scheduled", "immediate")

    def __init__(self) -> None:
        self._pending: list[DirectOutbox] = []
        self._scheduled = False
        # True while the hub delivers a group of one change (`DirectOutbox.push`).
        self.immediate = False

    def add(self, outbox: DirectOutbox) -> None:
        self._pending.append(outbox)
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._scheduled_flush)

    def _scheduled_flush(self) -> None:
        self._scheduled = False
        self.flush()

    def flush(self) -> None:
        pending = self._pending
        if not pending:
            return
        self._pending = []
        for outbox in pending:
            try:
                outbox.flush()
            except Exception:
                # A writer must not raise; if one does, that connection ends, not the flush.
                log.exception("writing to a connection failed")
                outbox.close()
