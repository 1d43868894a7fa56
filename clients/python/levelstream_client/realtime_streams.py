"""Subscriptions: async iterators fed by the real-time client (hand-written; see realtime.py)."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from types import TracebackType
from typing import TYPE_CHECKING, Any

from levelstream_client.exceptions import RulesChangedError, error_from_problem
from levelstream_client.realtime_types import Change, Message, PresenceEvent

if TYPE_CHECKING:
    from levelstream_client.realtime import RealtimeClient

MAX_PENDING = 10_000  # changes queued for a consumer before it is resynced from the log


class _Stream:
    """What subscriptions share: a pending-item deque, an end state, an async iterator."""

    def __init__(self, client: RealtimeClient) -> None:
        self._client = client
        self._items: deque[Any] = deque()
        self._wakeup = asyncio.Event()
        self._error: BaseException | None = None
        self._ended = False
        self._started = False
        # Set once the server has the subscription (or it ended): `subscribe()` waits for it.
        self._live = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def _push(self, item: Any) -> None:
        self._items.append(item)
        self._wakeup.set()

    def _fail(self, error: BaseException | None) -> None:
        """End the stream: the consumer gets what is queued, then `error` (or the end)."""
        if not self._ended:
            self._ended = True
            self._error = error
            self._wakeup.set()
            self._live.set()
            self._client._forget(self)

    async def _begin(self) -> None:
        """Subscribe once; returns when the server has confirmed it."""
        if not self._started:
            self._started = True
            await self._client._start_stream(self)  # type: ignore[arg-type]

    async def _next(self) -> Any:
        await self._begin()
        while True:
            if self._items:
                return self._items.popleft()
            if self._ended:
                if self._error is not None:
                    raise self._error
                raise StopAsyncIteration
            self._wakeup.clear()
            await self._wakeup.wait()

    async def close(self) -> None:
        """Stop the subscription (the server is told, if connected)."""
        if self._ended:
            return
        self._fail(None)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def __aenter__(self) -> _Stream:
        await self._begin()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


class Subscription(_Stream):
    """Changes matching a filter, as an async iterator of `Change`.

    `last_seq` is the seq to resume from (the last change received, or the
    snapshot's seq); `epoch` is the database's id, checked when resuming.
    """

    def __init__(
        self,
        client: RealtimeClient,
        sub_id: str,
        collection: str,
        filters: dict[str, str],
        since: int | None,
        snapshot: bool,
        epoch: str | None,
    ) -> None:
        super().__init__(client)
        self.id = sub_id
        self.collection = collection
        self.filters = filters
        self.last_seq: int | None = since
        self.epoch = epoch
        self.snapshot_pending = snapshot
        # Set when the snapshot is complete and queued: its `snapshot_size` items come first.
        self.snapshot_done = asyncio.Event()
        self.snapshot_size = 0
        self.snapshot_seq: int | None = None
        self._snapshot_items: list[dict[str, Any]] = []
        self._bound: object | None = None  # the connection it is subscribed on
        self._overflowed = False

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Change:
        if self._overflowed and not self._items and not self._ended:
            await self._client._resync(self)
        item: Change = await self._next()
        return item

    async def __aenter__(self) -> Subscription:
        await super().__aenter__()
        return self

    async def next_batch(self) -> list[Change]:
        """Every change queued now (at least one; waits for it): for a consumer that
        applies changes in batches, e.g. one local-store transaction per batch. Ends
        like iteration: `StopAsyncIteration` or the subscription's error."""
        first: Change = await self.__anext__()
        batch = [first]
        while self._items:
            batch.append(self._items.popleft())
        return batch

    def frame(self) -> dict[str, Any]:
        """The subscribe op that (re)starts this subscription where it stands."""
        frame: dict[str, Any] = {"sub": self.id, "collection": self.collection, **self.filters}
        if self.snapshot_pending:
            frame["snapshot"] = True
        elif self.last_seq is not None:
            frame["since"] = self.last_seq
        if self.epoch is not None:
            frame["epoch"] = self.epoch
        return frame

    # --- frames from the transport -------------------------------------------------

    def _subscribed(self, reply: dict[str, Any]) -> None:
        if self.epoch is None and isinstance(reply.get("epoch"), str):
            self.epoch = reply["epoch"]
        if self.last_seq is None and not self.snapshot_pending:
            # Live from the head: a resume starts after it.
            self.last_seq = int(reply["seq"])

    def _on_change(self, data: dict[str, Any]) -> None:
        seq = data.get("seq")
        if not isinstance(seq, int) or self.snapshot_pending:
            return
        if self.last_seq is not None and seq <= self.last_seq:
            return  # already delivered (a replay overlapping a resume)
        if self._overflowed:
            return  # dropped; resynced from last_seq once the consumer catches up
        if len(self._items) >= MAX_PENDING:
            self._overflowed = True
            return
        self.last_seq = seq
        self._push(Change.from_json(data))

    def _on_snapshot(self, items: list[dict[str, Any]], seq: int, done: bool) -> None:
        if not self.snapshot_pending:
            return
        self._snapshot_items.extend(items)
        if done:
            for envelope in self._snapshot_items:
                self._push(Change.from_envelope(envelope, seq))
            self.snapshot_size = len(self._snapshot_items)
            self.snapshot_seq = seq
            self._snapshot_items = []
            self.snapshot_pending = False
            self.last_seq = seq
            self.snapshot_done.set()

    def take_snapshot(self) -> list[Change]:
        """Once `snapshot_done` is set: the snapshot's documents, taken off the front of
        the queue (what follows them is the changes after the snapshot's seq)."""
        size, self.snapshot_size = self.snapshot_size, 0
        return [self._items.popleft() for _ in range(size)]

    def _fail(self, error: BaseException | None) -> None:
        super()._fail(error)
        self.snapshot_done.set()  # wake a snapshot waiter: `snapshot_pending` tells it failed

    def _restart_snapshot(self) -> None:
        """A connection dropped mid-snapshot: its pages so far are discarded."""
        self._snapshot_items = []

    def _on_reset(self, oldest_seq: int | None, reason: str | None = None) -> None:
        if reason == "rules_changed":
            detail = "the rules changed what this subscription may see: take a new snapshot"
            reset = {"code": "rules_changed", "detail": detail, "reason": reason}
            self._fail(RulesChangedError(detail, status=410, problem=reset))
            return
        problem: dict[str, Any] = {
            "code": "history_compacted",
            "detail": "the resume point is no longer in the change log (or the database "
            "was replaced): take a new snapshot",
            "oldest_seq": oldest_seq,
        }
        self._fail(error_from_problem(problem, 410))


class ChannelSubscription(_Stream):
    """A channel's messages (`Message`) and presence changes (`PresenceEvent`)."""

    def __init__(self, client: RealtimeClient, sub_id: str, channel: str) -> None:
        super().__init__(client)
        self.id = sub_id
        self.channel = channel
        self._bound: object | None = None

    def __aiter__(self) -> ChannelSubscription:
        return self

    async def __anext__(self) -> Message | PresenceEvent:
        item: Message | PresenceEvent = await self._next()
        return item

    async def __aenter__(self) -> ChannelSubscription:
        await super().__aenter__()
        return self

    def frame(self) -> dict[str, Any]:
        return {"sub": self.id, "channel": self.channel}

    def _subscribed(self, reply: dict[str, Any]) -> None:
        pass
