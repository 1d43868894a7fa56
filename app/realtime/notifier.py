"""Wakes long-pollers when something commits.

A poller arms a waiter BEFORE it reads the log, then waits on it only if the
read found nothing: a commit between the read and the wait still wakes it, so
no change can slip through the seam.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from app.store.types import Change


class CommitNotifier:
    def __init__(self) -> None:
        self._waiters: set[asyncio.Future[None]] = set()
        self.closed = False

    def arm(self) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.closed:
            future.set_result(None)
        else:
            self._waiters.add(future)
        return future

    def disarm(self, future: asyncio.Future[None]) -> None:
        self._waiters.discard(future)

    def on_commit(self, _changes: Sequence[Change]) -> None:
        self._wake_all()

    def close(self) -> None:
        """Shutting down: wake every poller so it answers now."""
        self.closed = True
        self._wake_all()

    def _wake_all(self) -> None:
        waiters, self._waiters = self._waiters, set()
        for future in waiters:
            if not future.done():
                future.set_result(None)
