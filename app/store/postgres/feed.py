"""Each node's source of committed changes: the shared change log, read in seq order.

The feed remembers the last seq it handed to its listeners and reads what
comes after it, in pages, whenever something may have been committed: a
NOTIFY from any node's writer (sent at commit), this node's own writer, or a
slow safety poll (a lost LISTEN connection cannot stall delivery for long).
Commit order equals seq order, so the log it reads is whole up to whatever it
sees: every listener on every node gets every change exactly once, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence

import asyncpg

from app.store.postgres.schema import NOTIFY_CHANNEL, RESET_PAYLOAD
from app.store.records import split_change_record
from app.store.types import Change

log = logging.getLogger("levelstream.store")

CommitListener = Callable[[Sequence[Change]], None]
PAGE = 1000
POLL_S = 1.0
RECONNECT_S = 0.5

READ_SQL = """
SELECT seq, collection, key, op, data FROM ls_changes
WHERE seq > $1 ORDER BY seq LIMIT $2
"""


class ChangeFeed:
    def __init__(
        self,
        pool: asyncpg.Pool,
        connect: Callable[[], Awaitable[asyncpg.Connection]],
        start_seq: int,
        on_reset: Callable[[], Awaitable[None]],
    ) -> None:
        self._pool = pool
        self._connect = connect
        self._on_reset = on_reset
        self.listeners: list[CommitListener] = []
        self.delivered = start_seq  # the last seq handed to the listeners
        self.notified = start_seq  # the highest seq a NOTIFY announced
        self._wake = asyncio.Event()
        self._reset = False
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._deliver_forever(), name="levelstream-feed"),
            asyncio.create_task(self._listen_forever(), name="levelstream-listen"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        for _, future in self._waiters:
            if not future.done():
                future.set_result(None)

    def wake(self) -> None:
        self._wake.set()

    def offer(self, changes: Sequence[Change]) -> None:
        """This node's writer committed `changes`: hand them over at once if they are
        next (nothing committed elsewhere in between), saving a read of the log."""
        if changes and changes[0].seq == self.delivered + 1:
            self._deliver(list(changes))
        else:
            self._wake.set()

    async def wait_delivered(self, seq: int, timeout: float) -> None:
        """Wait until the listeners have had `seq` (or `timeout` passed)."""
        if self.delivered >= seq:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((seq, future))
        self._wake.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(future), timeout)

    # --- LISTEN ----------------------------------------------------------------

    def _notified(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        if payload == RESET_PAYLOAD:
            self._reset = True
        elif payload.isdigit():
            self.notified = max(self.notified, int(payload))
        self._wake.set()

    async def _listen_forever(self) -> None:
        while True:
            conn: asyncpg.Connection | None = None
            try:
                conn = await self._connect()
                await conn.add_listener(NOTIFY_CHANNEL, self._notified)
                self._wake.set()  # catch up on whatever was committed while not listening
                while not conn.is_closed():
                    await asyncio.sleep(POLL_S)
                    # A cheap round trip notices a dead connection (and delivers pending
                    # notifications if any).
                    await conn.execute("SELECT 1")
            except asyncio.CancelledError:
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(conn.close(), 2)
                raise
            except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
                log.warning("change feed: LISTEN connection lost (%s); reconnecting", exc)
            if conn is not None:
                conn.terminate()
            await asyncio.sleep(RECONNECT_S)

    # --- delivery ----------------------------------------------------------------

    async def _deliver_forever(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), POLL_S)
            self._wake.clear()
            try:
                if self._reset:  # an import replaced the database: its log starts anew
                    self._reset = False
                    await self._on_reset()
                    await self._skip_trimmed(quiet=True)
                await self._catch_up()
            except asyncio.CancelledError:
                raise
            except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
                log.warning("change feed: read failed (%s); retrying", exc)
                await asyncio.sleep(RECONNECT_S)
                self._wake.set()
            except Exception:
                log.exception("change feed failed; retrying")
                await asyncio.sleep(RECONNECT_S)
                self._wake.set()

    async def _catch_up(self) -> None:
        for _page in range(1_000_000):  # bounded; a page is 1000 changes
            fetched = await self._pool.fetch(READ_SQL, self.delivered, PAGE)
            # `offer` may have delivered some of them while the read was in flight.
            rows = [row for row in fetched if row["seq"] > self.delivered]
            if rows and rows[0]["seq"] != self.delivered + 1:
                if not await self._skip_trimmed():
                    # Cannot happen while commit order is seq order; never deliver out of order.
                    log.error("change feed: gap after seq %d; waiting", self.delivered)
                    await asyncio.sleep(RECONNECT_S)
                    self._wake.set()
                    return
                continue
            changes: list[Change] = []
            expected = self.delivered + 1
            for row in rows:
                if row["seq"] != expected:
                    break
                data, prev = split_change_record(bytes(row["data"]))
                key = bytes(row["key"]).decode("utf-8")
                changes.append(Change(expected, row["collection"], key, row["op"], data, prev))
                expected += 1
            if changes:
                self._deliver(changes)
            if len(fetched) < PAGE:
                if not fetched:
                    await self._skip_trimmed()
                return

    async def _skip_trimmed(self, quiet: bool = False) -> bool:
        """The log starts after `delivered` (trimmed past a long stall, or an import)."""
        oldest = await self._pool.fetchval("SELECT oldest FROM ls_floor WHERE id = 1")
        if oldest is None or oldest <= self.delivered + 1:
            return False
        if not quiet:
            log.warning(
                "change feed: changes %d..%d left the log before this node read them",
                self.delivered + 1,
                oldest - 1,
            )
        self.delivered = oldest - 1
        self._resolve()
        return True

    def _deliver(self, changes: list[Change]) -> None:
        for listener in list(self.listeners):
            try:
                listener(changes)
            except Exception:
                log.exception("commit listener failed")
        self.delivered = changes[-1].seq
        self.notified = max(self.notified, self.delivered)
        self._resolve()

    def _resolve(self) -> None:
        if not self._waiters:
            return
        keep = []
        for seq, future in self._waiters:
            if future.done():
                continue
            if seq <= self.delivered:
                future.set_result(None)
            else:
                keep.append((seq, future))
        self._waiters = keep
