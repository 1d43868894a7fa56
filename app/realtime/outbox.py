"""A connection's bounded queue of outgoing frames.

Live fan-out pushes without ever waiting (the write path must not be slowed
by a slow reader): when the queue is full the connection is marked
overflowed, its queue is dropped, and its sender closes it (WS 4008) so the
client resumes from its last seq. Replay, which reads from the log at its own
pace, waits for room instead.
"""

from __future__ import annotations

import asyncio
from collections import deque

Frame = str | bytes


class Outbox:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._frames: deque[Frame] = deque()
        # Seqs of the last change frame queued, and of the last one handed to the
        # sender (which sends everything it takes): on overflow the queue is dropped,
        # so only `taken_seq` is a safe point to resume from.
        self.queued_seq = 0
        self.taken_seq = 0
        # Futures made only while someone waits (cheaper than two asyncio.Events on
        # every idle connection): the sender waiting for frames, replay for room.
        self._ready: asyncio.Future[None] | None = None
        self._room: asyncio.Future[None] | None = None
        self.overflowed = False
        self.closed = False
        self.ending = False  # close once what is queued has been sent

    def __len__(self) -> int:
        return len(self._frames)

    def push(self, frame: Frame, seq: int = 0) -> bool:
        """Queue a live frame (`seq`: of the change it carries, if any); False (and the
        outbox overflows) when it is full."""
        if self.closed or self.overflowed or self.ending:
            return False
        if len(self._frames) >= self.limit:
            self.overflowed = True
            self._frames.clear()
            self._wake_all()
            return False
        self._frames.append(frame)
        if seq:
            self.queued_seq = seq
        ready = self._ready
        if ready is not None and not ready.done():
            ready.set_result(None)
        return True

    async def put(self, frame: Frame, seq: int = 0) -> bool:
        """Queue a replayed frame, waiting while the outbox is full."""
        while len(self._frames) >= self.limit and not (self.closed or self.overflowed):
            self._room = asyncio.get_running_loop().create_future()
            await self._room
        return self.push(frame, seq)

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
        frames = list(self._frames)
        self._frames.clear()
        self.taken_seq = self.queued_seq
        room = self._room
        if room is not None and not room.done():
            room.set_result(None)
        return frames

    def end(self) -> None:
        """Accept nothing more; `take` hands out what is queued, then []."""
        self.ending = True
        self._wake_all()

    def close(self) -> None:
        self.closed = True
        self._frames.clear()
        self._wake_all()

    def _wake_all(self) -> None:
        for waiter in (self._ready, self._room):
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
