"""`LevelStore`: the embedded store, one LevelDB directory, one writer thread, reader threads.

Point reads run on the event loop (a LevelDB get is a few microseconds and
plyvel releases the GIL); scans run on a small thread pool owned by the store,
so closing can wait for them before the database is closed (closing under a
running iterator would crash the process).
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import secrets
import weakref
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from app.errors import Conflict, Unavailable
from app.store.background import BackgroundWork
from app.store.base import (
    DEFAULT_MAX_TXN_BYTES,
    PURGE_ANSWERS,
    CommitListener,
    ReadCheck,
    Store,
)
from app.store.core.indexing import MAX_INDEXES, IndexDef
from app.store.core.indexing import Path as FieldPath
from app.store.leveldb import indexes, layout
from app.store.leveldb.maintenance import purge_answers, sweep_candidates, trim_log
from app.store.leveldb.reads import (
    read_changes,
    read_index_range,
    read_range,
    read_snapshot_page,
)
from app.store.leveldb.writer import Writer
from app.store.leveldb_driver import plyvel
from app.store.maintenance import TRIM_CHUNK, Retention, parse_export
from app.store.records import DocRecord, decode_record, now_ms
from app.store.types import (
    Answered,
    ChangeBatch,
    ChangeFilter,
    KeyRange,
    Once,
    Page,
    RangeQuery,
    TxResult,
    WriteOp,
)

log = logging.getLogger("levelstream.store")
T = TypeVar("T")
FORMAT_VERSION = b"1"
# Sorts after every key: each starts with an ASCII namespace byte (app/store/layout.py).
PAST_ALL_KEYS = b"\xff"
# Range pages up to this many documents are read on the event loop (see `range`).
INLINE_RANGE_LIMIT = 100


def _examines_no_more_than_it_returns(query: RangeQuery) -> bool:
    """Whether every document a page reaches is in it (but expired ones, which a plain
    range read skips too): no `match`, and no key bounds on an index walk (which may
    pass up to `max_scan` entries outside them). Such a page costs about its `limit`."""
    return query.match is None and (query.scan is None or query.bounds == KeyRange())


def held_by_another_process(path: Path) -> bool:
    """Whether another process holds the LevelDB at `path` (LevelDB's own fcntl lock on LOCK).

    Only where this process does not hold that database itself (`_OPEN_HERE`): closing
    any descriptor of LOCK drops every fcntl lock the process has on it. The probe's own
    lock is released at once by that close.
    """
    try:
        fd = os.open(path / "LOCK", os.O_RDWR)
    except OSError:
        return False  # no database there yet
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False


def create_durably(path: Path) -> None:
    """Create `path` (and missing parents) so that it survives a power loss.

    LevelDB fsyncs its own directory when it writes a MANIFEST, never the directory
    above it: without this the database's own directory entry could vanish at a
    power loss, taking every acknowledged write with it (tests/test_fault_power.py).
    """
    missing = [p for p in (path, *path.parents) if not p.exists()]
    path.mkdir(parents=True, exist_ok=True)
    for created in reversed(missing):
        fsync_directory(created.parent)


def fsync_directory(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# The databases this process has open (resolved paths). A second `plyvel.DB` on one of
# them must never be tried: LevelDB refuses it, but only after opening LOCK, and closing
# that descriptor drops the process's fcntl lock on it (POSIX locks are per process), so
# another process could then open the database beside this one and both would write.
_OPEN_HERE: set[Path] = set()


def in_use_message(data_dir: Path) -> str:
    return f"data directory {data_dir} is in use by another Levelstream process"


class LevelStore(Store):
    def __init__(
        self,
        path: Path,
        *,
        sync: bool = True,
        retention: Retention | None = None,
        max_group: int = 1024,
        max_value_bytes: int = 1024 * 1024,
        max_txn_bytes: int = DEFAULT_MAX_TXN_BYTES,
        maintenance_interval_s: float = 1.0,
    ) -> None:
        self.path = path
        self._sync = sync
        self._retention = retention or Retention()
        self._max_group = max_group
        self._max_value_bytes = max_value_bytes
        self._max_txn_bytes = max_txn_bytes
        self._interval = maintenance_interval_s
        self._lock_key = path.resolve()
        if self._lock_key in _OPEN_HERE:
            raise RuntimeError(f"the LevelDB at {path} is already open in this process")
        create_durably(path)
        try:
            self.db = plyvel.DB(
                str(path),
                create_if_missing=True,
                # 4x LevelDB's default memtable: fewer compactions competing with the
                # writer. Not more: after an unclean stop the next open replays up to
                # two memtables of log before it can serve (~0.1 s per 13 MiB here;
                # 64 MiB made it 0.5-1 s). A clean close leaves none: `_flush_memtable`.
                write_buffer_size=16 * 1024 * 1024,
                lru_cache_size=64 * 1024 * 1024,
            )
        except plyvel.IOError as exc:
            if held_by_another_process(path):
                raise RuntimeError(in_use_message(path.parent)) from None
            raise RuntimeError(f"cannot open the LevelDB at {path}: {exc}") from exc
        _OPEN_HERE.add(self._lock_key)
        # Let go by `close`, or when the store is collected unclosed (its database with it).
        self._forget_open = weakref.finalize(self, _OPEN_HERE.discard, self._lock_key)
        # An open ends by renaming CURRENT to a new MANIFEST without syncing the
        # directory; LevelDB 1.22 (plyvel's wheels) moreover never syncs the first
        # MANIFEST of a new database. A power loss before LevelDB's next directory sync
        # then finds CURRENT naming that empty MANIFEST: "Corruption: no meta-nextfile
        # entry in descriptor", and the database no longer opens
        # (tests/test_fault_power.py). Syncing the directory here makes the open whole.
        try:
            fsync_directory(path)
            self.epoch = self._load_or_init_meta()
        except BaseException:
            self.db.close()
            self._forget_open()
            raise
        self._readers = ThreadPoolExecutor(max_workers=4, thread_name_prefix="levelstream-read")
        self._writer: Writer | None = None
        self._pending_listeners: list[CommitListener] = []
        # Maintenance, index builds and purges.
        self._work = BackgroundWork()
        self._closed = False

    def _load_or_init_meta(self) -> str:
        version = self.db.get(layout.meta_key("format"))
        if version is None:
            epoch = secrets.token_hex(8)
            with self.db.write_batch(transaction=True, sync=True) as batch:
                batch.put(layout.meta_key("format"), FORMAT_VERSION)
                batch.put(layout.meta_key("epoch"), epoch.encode("ascii"))
                batch.put(layout.meta_key("head"), layout.seq_bytes(0))
                batch.put(layout.meta_key("oldest"), layout.seq_bytes(1))
            return epoch
        if version != FORMAT_VERSION:
            raise RuntimeError(f"unsupported data format {version!r} in {self.path}")
        return bytes(self.db.get(layout.meta_key("epoch"))).decode("ascii")

    def _meta_seq(self, name: str) -> int:
        raw = self.db.get(layout.meta_key(name))
        return layout.seq_from(raw) if raw else 0

    # --- lifecycle ----------------------------------------------------------

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._writer = Writer(
            self.db,
            loop,
            sync=self._sync,
            max_group=self._max_group,
            max_value_bytes=self._max_value_bytes,
            max_txn_bytes=self._max_txn_bytes,
            head_seq=self._meta_seq("head"),
            auto_id=self._meta_seq("auto_id"),
        )
        for listener in self._pending_listeners:
            self._writer.add_listener(listener)
        self._work.start(self._maintain_forever())
        # Builds and purges a stop interrupted go on from where they were.
        for catalog in self._writer.indexes.values():
            for index in catalog:
                if index.state == "building":
                    self._work.start(self._build(index))
        live = [index.id for catalog in self._writer.indexes.values() for index in catalog]
        for index_id in indexes.orphan_ids(self.db, live):
            self._work.start(self._purge(index_id))

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._work.stop()
        if self._writer is not None:
            await asyncio.to_thread(self._writer.stop)
        self._readers.shutdown(wait=True)
        try:
            await asyncio.to_thread(self._flush_memtable)
        finally:
            self.db.close()
            self._forget_open()

    def _flush_memtable(self) -> None:
        """Write the memtable out to a table file, so that no log is left to replay.

        LevelDB keeps the latest writes (up to `write_buffer_size`) only in its
        write-ahead log and replays that log at the next open: after a clean stop
        with a full memtable, ~0.5 s before the next start could answer anything.
        Compacting a key range that holds nothing flushes the memtable and does
        no other work.
        """
        self.db.compact_range(start=PAST_ALL_KEYS, stop=PAST_ALL_KEYS)

    # --- writes -------------------------------------------------------------

    @property
    def writer(self) -> Writer:
        if self._writer is None or self._closed:
            raise Unavailable("the store is not accepting writes")
        return self._writer

    @property
    def head_seq(self) -> int:
        if self._writer is not None:
            return self._writer.head_seq
        return self._meta_seq("head")

    def add_listener(self, listener: CommitListener) -> None:
        if self._writer is None:
            self._pending_listeners.append(listener)
        else:
            self._writer.add_listener(listener)

    def remove_listener(self, listener: CommitListener) -> None:
        if self._writer is None:
            self._pending_listeners.remove(listener)
        else:
            self._writer.remove_listener(listener)

    async def write(self, ops: list[WriteOp]) -> TxResult:
        return await self.writer.submit(ops)

    async def write_once(self, ops: list[WriteOp], once: Once) -> Answered:
        return await self.writer.submit_once(ops, once)

    # --- reads --------------------------------------------------------------

    async def _in_thread(self, fn: Any, *args: Any) -> Any:
        if self._closed:
            raise Unavailable("the store is closed")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._readers, partial(fn, *args))

    async def get(self, collection: str, key: str) -> DocRecord | None:
        if self._closed:
            raise Unavailable("the store is closed")
        raw = self.db.get(layout.doc_key(collection, key.encode("utf-8")))
        if raw is None:
            return None
        record = decode_record(raw)
        return None if record.expired(now_ms()) else record

    async def range(self, query: RangeQuery) -> Page:
        read = read_index_range if query.scan is not None else read_range
        if query.limit <= INLINE_RANGE_LIMIT and _examines_no_more_than_it_returns(query):
            # A page this small reads in about as long as a GET (~50 µs); handing it
            # to a reader thread cost more than the read itself.
            if self._closed:
                raise Unavailable("the store is closed")
            inline: Page = read(self.db, query, self._max_txn_bytes)
            return inline
        # A filtered page may examine up to `max_scan` documents: a reader thread.
        page: Page = await self._in_thread(read, self.db, query, self._max_txn_bytes)
        return page

    # --- JSON field indexes ----------------------------------------------------

    async def create_index(
        self, collection: str, name: str, fields: tuple[FieldPath, ...]
    ) -> tuple[IndexDef, bool]:
        out: list[IndexDef] = []
        task = partial(
            indexes.create,
            writer=self.writer,
            collection=collection,
            name=name,
            fields=fields,
            out=out,
        )
        created = await self.writer.run_maintenance(task)
        if created < 0:
            raise Conflict(
                f"collection {collection!r} has {MAX_INDEXES} indexes already; drop one first"
            )
        if created:
            self._work.start(self._build(out[0]))
        return out[0], created == 1

    async def _build(self, index: IndexDef) -> None:
        """The online build: one batch at a time through the writer, between groups."""
        while not self._closed:
            task = partial(indexes.build_batch, writer=self.writer, index=index)
            if await self.writer.run_maintenance(task):
                return

    async def _purge(self, index_id: int) -> None:
        while not self._closed:
            purged = await self.writer.run_maintenance(
                partial(indexes.purge_batch, index_id=index_id)
            )
            if purged < indexes.PURGE_BATCH:
                return

    async def indexes(self, collection: str) -> list[IndexDef]:
        return sorted(self.writer.catalog(collection), key=lambda index: index.name)

    async def drop_index(self, collection: str, name: str) -> bool:
        task = partial(indexes.drop, writer=self.writer, collection=collection, name=name)
        index_id = await self.writer.run_maintenance(task)
        if index_id:
            self._work.start(self._purge(index_id))
        return index_id != 0

    async def collections(self) -> list[tuple[str, int]]:
        def scan() -> list[tuple[str, int]]:
            out = []
            for dbkey, raw in self.db.iterator(prefix=layout.COUNT):
                count = int(raw)
                if count > 0:
                    out.append((layout.unescape(dbkey[1:]).decode("utf-8"), count))
            return out

        result: list[tuple[str, int]] = await self._in_thread(scan)
        return result

    async def changes(
        self, flt: ChangeFilter, since: int, limit: int, can_read: ReadCheck = None
    ) -> ChangeBatch:
        batch: ChangeBatch = await self._in_thread(
            read_changes, self.db, flt, since, limit, can_read
        )
        return batch

    async def snapshot_pages(
        self, flt: ChangeFilter, can_read: ReadCheck = None, page_size: int = 1000
    ) -> AsyncIterator[tuple[list[bytes], int, bool]]:
        snapshot = await self._in_thread(self.db.snapshot)
        try:
            head = layout.seq_from(snapshot.get(layout.meta_key("head")))
            after: bytes | None = None
            while True:
                items, after = await self._in_thread(
                    read_snapshot_page,
                    snapshot,
                    flt,
                    can_read,
                    after,
                    page_size,
                    self._max_txn_bytes,
                )
                yield items, head, after is None
                if after is None:
                    return
        finally:
            snapshot.close()

    async def oldest_seq(self) -> int:
        return self._meta_seq("oldest")

    async def is_empty(self) -> bool:
        if self.head_seq != 0 or any(self.writer.indexes.values()):
            return False
        return not any(True for _ in self.db.iterator(prefix=layout.DOC, include_value=False))

    async def import_documents(self, epoch: str, seq: int, envelopes: list[bytes]) -> int:
        writer = self.writer

        def load(db: plyvel.DB, sync: bool) -> int:
            counts: dict[str, int] = {}
            with db.write_batch(transaction=True, sync=sync) as batch:
                for raw in envelopes:
                    collection, key, record = parse_export(raw)
                    raw_key = key.encode("utf-8")
                    batch.put(layout.doc_key(collection, raw_key), record.encode())
                    if record.expires_ms:
                        batch.put(layout.ttl_key(record.expires_ms, collection, raw_key), b"")
                    counts[collection] = counts.get(collection, 0) + 1
                for collection, added in counts.items():
                    current = int(db.get(layout.count_key(collection)) or b"0")
                    batch.put(layout.count_key(collection), str(current + added).encode())
                batch.put(layout.meta_key("epoch"), epoch.encode("ascii"))
                batch.put(layout.meta_key("head"), layout.seq_bytes(seq))
                batch.put(layout.meta_key("oldest"), layout.seq_bytes(seq + 1))
            # Inside the writer thread: its view of head and counts moves with the data.
            writer.head_seq = seq
            writer.reset_counts()
            return len(envelopes)

        loaded = await writer.run_maintenance(load)
        self.epoch = epoch
        return loaded

    async def auth_put(self, name: str, value: bytes | None) -> None:
        dbkey = layout.AUTH + name.encode("utf-8")

        def put(db: plyvel.DB, sync: bool) -> int:
            if value is None:
                db.delete(dbkey, sync=sync)
            else:
                db.put(dbkey, value, sync=sync)
            return 1

        await self.writer.run_maintenance(put)

    async def auth_items(self, prefix: str) -> list[tuple[str, bytes]]:
        start = layout.AUTH + prefix.encode("utf-8")

        def scan() -> list[tuple[str, bytes]]:
            return [(k[1:].decode("utf-8"), v) for k, v in self.db.iterator(prefix=start)]

        items: list[tuple[str, bytes]] = await self._in_thread(scan)
        return items

    async def ready(self) -> bool:
        return self._writer is not None and not self._closed and not self._writer.failing

    # --- maintenance: TTL sweep and change-log retention ---------------------

    async def sweep_expired_once(self) -> int:
        """Delete (through the writer) documents whose TTL has run out; returns how many."""
        ops = await self._in_thread(sweep_candidates, self.db, now_ms(), 1000)
        if not ops:
            return 0
        result = await self.write(ops)
        return len(result.results)

    async def trim_once(self) -> int:
        """Drop change-log entries past retention; returns how many were dropped."""
        return await self.writer.run_maintenance(partial(trim_log, retention=self._retention))

    async def purge_answers_once(self) -> int:
        task = partial(purge_answers, now=now_ms(), limit=PURGE_ANSWERS)
        return await self.writer.run_maintenance(task)

    async def _maintain_forever(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
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
