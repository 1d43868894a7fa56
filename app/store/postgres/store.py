"""`PgStore`: the `Store` interface on PostgreSQL, one instance per node."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import asyncpg

from app.errors import Unavailable
from app.store.background import BackgroundWork
from app.store.base import (
    DEFAULT_MAX_TXN_BYTES,
    PURGE_ANSWERS,
    CommitListener,
    ReadCheck,
    Store,
)
from app.store.core.indexing import IndexDef, Path
from app.store.maintenance import TRIM_CHUNK, Retention
from app.store.postgres import indexes, maintenance, reads
from app.store.postgres.feed import ChangeFeed
from app.store.postgres.schema import migrate
from app.store.postgres.writer import LockMode, PgWriter
from app.store.records import DocRecord, now_ms
from app.store.types import (
    Answered,
    ChangeBatch,
    ChangeFilter,
    Once,
    Page,
    RangeQuery,
    TxResult,
    WriteOp,
)

log = logging.getLogger("levelstream.store")
CONNECT_TIMEOUT_S = 30.0
# How long a write waits for this node's feed to hand its changes to listeners.
LOCAL_DELIVERY_TIMEOUT_S = 2.0


class PgStore(Store):
    def __init__(
        self,
        url: str,
        *,
        sync: bool = True,
        retention: Retention | None = None,
        max_group: int = 1024,
        max_value_bytes: int = 1024 * 1024,
        max_txn_bytes: int = DEFAULT_MAX_TXN_BYTES,
        maintenance_interval_s: float = 1.0,
        pool_size: int = 10,
        lock: LockMode = "row",
        timeout_s: float = 10.0,
    ) -> None:
        self.url = url
        # Every connection attempt and every statement waits at most this (asyncpg's
        # `timeout` and `command_timeout`), then fails as an outage: over a link that
        # drops packets silently nothing else would end the wait.
        self._timeout_s = timeout_s
        self.epoch = ""
        self.cluster_id = ""
        self._sync = sync
        self._retention = retention or Retention()
        self._max_group = max_group
        self._max_value_bytes = max_value_bytes
        self._max_txn_bytes = max_txn_bytes
        self._interval = maintenance_interval_s
        self._pool_size = pool_size
        self._lock: LockMode = lock
        self._pool: asyncpg.Pool | None = None
        # Snapshot walks hold a connection while their subscriber reads: their own pool,
        # so slow subscribers can never starve the requests.
        self._snapshot_pool: asyncpg.Pool | None = None
        self._writer: PgWriter | None = None
        self._feed: ChangeFeed | None = None
        self._pending_listeners: list[CommitListener] = []
        # Maintenance, index builds and purges.
        self._work = BackgroundWork()
        self._closed = False

    # --- lifecycle ----------------------------------------------------------

    async def _connect(self) -> asyncpg.Connection:
        return await asyncpg.connect(
            self.url, timeout=self._timeout_s, command_timeout=self._timeout_s
        )

    async def _connect_writer(self) -> asyncpg.Connection:
        conn = await self._connect()
        if not self._sync:
            # `async`: survives a Levelstream crash, not a PostgreSQL power loss.
            await conn.execute("SET synchronous_commit TO off")
        return conn

    async def _open_pool(self) -> asyncpg.Pool:
        """Connect, waiting for the database for a while (containers start together)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + CONNECT_TIMEOUT_S
        while True:
            try:
                pool = await asyncpg.create_pool(
                    self.url,
                    min_size=1,
                    max_size=self._pool_size,
                    timeout=self._timeout_s,
                    command_timeout=self._timeout_s,
                )
                assert pool is not None
                return pool
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                if loop.time() > deadline:
                    raise RuntimeError(f"cannot reach the PostgreSQL store: {exc}") from exc
                log.warning("PostgreSQL not reachable yet (%s); retrying", exc)
                await asyncio.sleep(1)

    async def start(self) -> None:
        pool = self._pool = await self._open_pool()
        self._snapshot_pool = await self._open_pool()
        # Migrations run as long as they must (a node starting meanwhile waits for them):
        # a connection of their own, without the statement timeout.
        conn = await asyncpg.connect(self.url, timeout=self._timeout_s)
        try:
            await migrate(conn)
        finally:
            await conn.close()
        head = await self._load_identity()
        self._feed = ChangeFeed(pool, self._connect, head, self._reload_identity)
        self._feed.listeners.extend(self._pending_listeners)
        self._writer = PgWriter(
            self._connect_writer,
            max_group=self._max_group,
            max_value_bytes=self._max_value_bytes,
            max_txn_bytes=self._max_txn_bytes,
            lock=self._lock,
            offer=self._feed.offer,
            delivered=self._delivered,
        )
        self._writer.committed_head = head
        self._feed.start()
        self._writer.start()
        self._work.start(self._maintain_forever())
        # Builds a stop interrupted go on (on every node: batches take the write lock).
        for index_id in await indexes.building(pool):
            self._work.start(self._build(index_id))

    async def _load_identity(self) -> int:
        row = await self.pool.fetchrow("SELECT seq, epoch, cluster_id FROM ls_meta WHERE id = 1")
        self.epoch, self.cluster_id = row["epoch"], row["cluster_id"]
        return int(row["seq"])

    async def _reload_identity(self) -> None:
        """Another node imported a database: its epoch and head are now ours."""
        await self._load_identity()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._work.stop()
        if self._writer is not None:
            await self._writer.stop()
        if self._feed is not None:
            await self._feed.stop()
        for pool in (self._pool, self._snapshot_pool):
            if pool is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(pool.close(), 10)

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None or self._closed:
            raise Unavailable("the store is closed")
        return self._pool

    # --- writes -------------------------------------------------------------

    @property
    def writer(self) -> PgWriter:
        if self._writer is None or self._closed:
            raise Unavailable("the store is not accepting writes")
        return self._writer

    async def _delivered(self, seq: int) -> None:
        if self._feed is not None:
            await self._feed.wait_delivered(seq, LOCAL_DELIVERY_TIMEOUT_S)

    @property
    def head_seq(self) -> int:
        """The latest seq this node knows committed: delivered, written here, or notified."""
        head = 0
        if self._feed is not None:
            head = max(self._feed.delivered, self._feed.notified)
        if self._writer is not None:
            head = max(head, self._writer.committed_head)
        return head

    def add_listener(self, listener: CommitListener) -> None:
        if self._feed is None:
            self._pending_listeners.append(listener)
        else:
            self._feed.listeners.append(listener)

    def remove_listener(self, listener: CommitListener) -> None:
        if self._feed is None:
            self._pending_listeners.remove(listener)
        else:
            self._feed.listeners.remove(listener)

    async def write(self, ops: list[WriteOp]) -> TxResult:
        return await self.writer.submit(ops)

    async def write_once(self, ops: list[WriteOp], once: Once) -> Answered:
        return await self.writer.submit_once(ops, once)

    # --- reads --------------------------------------------------------------

    async def get(self, collection: str, key: str) -> DocRecord | None:
        row = await self.pool.fetchrow(
            "SELECT rev, created_ms, expires_ms, envelope FROM ls_docs "
            "WHERE collection = $1 AND key = $2",
            collection,
            key.encode("utf-8"),
        )
        if row is None:
            return None
        record = DocRecord(row[0], row[1], row[2], bytes(row[3]))
        return None if record.expired(now_ms()) else record

    async def range(self, query: RangeQuery) -> Page:
        if query.scan is not None or query.match is not None:
            return await reads.read_filtered(self.pool, query, self._max_txn_bytes)
        return await reads.read_range(self.pool, query, self._max_txn_bytes)

    # --- JSON field indexes ----------------------------------------------------

    async def create_index(
        self, collection: str, name: str, fields: tuple[Path, ...]
    ) -> tuple[IndexDef, bool]:
        index, created = await indexes.create(self.pool, self._lock, collection, name, fields)
        if created:
            self._work.start(self._build(index.id))
        return index, created

    async def _build(self, index_id: int) -> None:
        while not self._closed:
            try:
                if await indexes.build_batch(self.pool, self._lock, index_id):
                    return
            except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
                log.warning("index build batch failed (%s); retrying", exc)
                await asyncio.sleep(1)

    async def _purge(self, index_id: int) -> None:
        while not self._closed:
            if await indexes.purge_batch(self.pool, index_id) < indexes.PURGE_BATCH:
                return

    async def indexes(self, collection: str) -> list[IndexDef]:
        return await indexes.list_indexes(self.pool, collection)

    async def drop_index(self, collection: str, name: str) -> bool:
        index_id = await indexes.drop(self.pool, self._lock, collection, name)
        if index_id:
            self._work.start(self._purge(index_id))
        return index_id != 0

    async def collections(self) -> list[tuple[str, int]]:
        rows = await self.pool.fetch(
            "SELECT collection, count FROM ls_counts WHERE count > 0 ORDER BY collection"
        )
        return [(row[0], int(row[1])) for row in rows]

    async def changes(
        self, flt: ChangeFilter, since: int, limit: int, can_read: ReadCheck = None
    ) -> ChangeBatch:
        return await reads.read_changes(self.pool, flt, since, limit, can_read)

    async def snapshot_pages(
        self, flt: ChangeFilter, can_read: ReadCheck = None, page_size: int = 1000
    ) -> AsyncIterator[tuple[list[bytes], int, bool]]:
        if self._snapshot_pool is None or self._closed:
            raise Unavailable("the store is closed")
        async for page in reads.snapshot_pages(
            self._snapshot_pool, flt, can_read, page_size, self._max_txn_bytes
        ):
            yield page

    async def oldest_seq(self) -> int:
        return int(await self.pool.fetchval("SELECT oldest FROM ls_floor WHERE id = 1"))

    async def is_empty(self) -> bool:
        row = await self.pool.fetchrow(
            "SELECT seq, EXISTS (SELECT 1 FROM ls_docs) AS docs, "
            "EXISTS (SELECT 1 FROM ls_indexes) AS indexes FROM ls_meta WHERE id = 1"
        )
        return int(row["seq"]) == 0 and not row["docs"] and not row["indexes"]

    async def import_documents(self, epoch: str, seq: int, envelopes: list[bytes]) -> int:
        loaded = await maintenance.import_documents(self.pool, epoch, seq, envelopes)
        self.epoch = epoch
        if self._feed is not None:
            # The log starts after the imported head: nothing before it to deliver.
            self._feed.delivered = max(self._feed.delivered, seq)
            self._feed.notified = max(self._feed.notified, seq)
        if self._writer is not None:
            self._writer.committed_head = max(self._writer.committed_head, seq)
        return loaded

    async def auth_put(self, name: str, value: bytes | None) -> None:
        if value is None:
            await self.pool.execute("DELETE FROM ls_auth WHERE name = $1", name)
        else:
            await self.pool.execute(
                "INSERT INTO ls_auth (name, value) VALUES ($1, $2) "
                "ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
                name,
                value,
            )

    async def auth_items(self, prefix: str) -> list[tuple[str, bytes]]:
        rows = await self.pool.fetch(
            "SELECT name, value FROM ls_auth WHERE starts_with(name, $1) ORDER BY name", prefix
        )
        return [(row[0], bytes(row[1])) for row in rows]

    async def ready(self) -> bool:
        return self._writer is not None and not self._closed

    # --- maintenance: TTL sweep and change-log retention, one node at a time ----------

    async def sweep_expired_once(self) -> int:
        """Delete (through the writer) documents whose TTL has run out; returns how many."""
        ops = await maintenance.sweep_candidates(self.pool, now_ms(), 1000)
        if not ops:
            return 0
        return len((await self.write(ops)).results)

    async def trim_once(self) -> int:
        return await maintenance.trim_log(self.pool, self._retention)

    async def purge_answers_once(self) -> int:
        return await maintenance.purge_answers(self.pool, now_ms(), PURGE_ANSWERS)

    async def _maintain_forever(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                async with maintenance.leader(self.pool) as leading:
                    if not leading:
                        continue  # another node is at it
                    while await self.sweep_expired_once() >= 1000:
                        pass
                    while await self.trim_once() >= TRIM_CHUNK:
                        pass
                    while await self.purge_answers_once() >= PURGE_ANSWERS:
                        pass
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("maintenance run failed")
