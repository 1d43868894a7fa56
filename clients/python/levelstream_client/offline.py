"""Offline-first Levelstream: local replicas of live queries and a durable outbox.

    async with OfflineClient(url, token=jwt, store="notes.db") as db:
        notes = await db.collection("notes").where("doc.owner == auth_sub").live()
        db.collection("notes").put("n1", {"owner": "alice", "text": "hi"})  # shows at once
        for doc in notes.items():          # from the local store, online or offline
            print(doc.key, doc.value, doc.pending)
        print(notes.seq, db.status)        # the seq the view reflects; online/offline/syncing
        db.on_conflicts(render)            # now, and at every change of db.conflicts

A live query keeps the documents matching `where` in the local store, fed by
snapshot+subscribe and resumed from the last applied seq after a disconnect or a
restart; a `history_compacted` or `rules_changed` reset takes a fresh snapshot that
replaces the local copy in one transaction. Writes go to the outbox first (persisted),
show in every live query at once (`pending=True`, filtered locally with the server's
CEL subset), and are sent in order as conditional writes on the rev they were based on,
each under its own idempotency key. A write's documents stop being pending when its
change has reached every live query of its collection. Conflicts: offline_outbox.py.
The status says whether the server is reachable with no live query open too: the
connection is kept up while the client is started (`RealtimeClient.connect`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import httpx

from levelstream_client.cel import compile_expression
from levelstream_client.exceptions import HistoryCompactedError, LevelstreamError
from levelstream_client.offline_outbox import (
    Conflict,
    ConflictHandler,
    Drop,
    Outbox,
    Retry,
    TryLater,
    current_doc,
    refusal_index,
    resolve,
    send,
)
from levelstream_client.offline_store import (
    LocalStore,
    MemoryStore,
    QueryState,
    SqliteStore,
    StoredDoc,
    WriteOp,
)
from levelstream_client.realtime import RealtimeClient, TokenProvider, Transport
from levelstream_client.realtime_streams import Subscription
from levelstream_client.realtime_types import Backoff, Change, ConnectionLostError

__all__ = [
    "CollectionRef",
    "Conflict",
    "Drop",
    "LiveQuery",
    "LocalDoc",
    "MemoryStore",
    "OfflineClient",
    "Retry",
    "SqliteStore",
    "Status",
    "WriteOp",
]

log = logging.getLogger("levelstream_client.offline")


@dataclass(frozen=True)
class LocalDoc:
    """A document as the local view shows it; `pending`: a queued write changed it."""

    key: str
    value: Any
    rev: int | None
    pending: bool


@dataclass(frozen=True)
class Status:
    state: Literal["online", "offline", "syncing"]
    pending: int  # queued writes whose change has not reached every replica yet


@dataclass(frozen=True)
class LocalRead:
    items: list[LocalDoc]
    seq: int | None  # the server seq the view reflects (plus the pending writes)


class LiveQuery:
    """The documents of `collection` matching `where`, kept locally; reads never wait."""

    def __init__(self, db: OfflineClient, collection: str, where: str | None) -> None:
        self.db, self.collection, self.where = db, collection, where
        self.id = f"{collection}\x1f{where or ''}"
        self._program = None if where is None else compile_expression(where)
        state = db.store.load_query(self.id)
        self.docs, self.seq, self.epoch = state.docs, state.seq, state.epoch
        self.last_reset: str | None = None  # why the last fresh snapshot was taken
        self.error: LevelstreamError | None = None  # a refusal that stopped it
        self.live = False  # subscribed and caught up to the subscription's start
        self._listeners: list[Callable[[], None]] = []
        self._task: asyncio.Task[None] | None = None

    # --- reads ---------------------------------------------------------------------------

    def matches(self, key: str, value: Any, rev: int | None) -> bool:
        program = self._program
        return program is None or program.matches({"doc": value, "key": key, "rev": rev or 0})

    def get(self, key: str, _touched: set[str] | None = None) -> LocalDoc | None:
        server = self.docs.get(key)
        touched = self.db.outbox.touches(self.collection) if _touched is None else _touched
        if key not in touched:
            return None if server is None else LocalDoc(key, server.value, server.rev, False)
        exists, value = self.db.outbox.overlay(self.collection, key, server)
        rev = None if server is None else server.rev
        if exists and self.matches(key, value, rev):
            return LocalDoc(key, value, rev, True)
        return None

    def items(self, where: str | None = None) -> list[LocalDoc]:
        """The view, in key order; `where` narrows it locally (the same CEL subset)."""
        touched = self.db.outbox.touches(self.collection)
        keys = sorted(set(self.docs) | touched)
        found = [doc for key in keys if (doc := self.get(key, touched)) is not None]
        if where is None:
            return found
        program = compile_expression(where)
        return [d for d in found if program.matches({"doc": d.value, "key": d.key, "rev": d.rev})]

    def read(self, where: str | None = None) -> LocalRead:
        return LocalRead(self.items(where), self.seq)

    def listen(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call `listener()` whenever the view may have changed; returns an undo."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _notify(self) -> None:
        for listener in list(self._listeners):
            try:
                listener()
            except Exception:
                log.exception("live query listener failed")

    # --- feeding it ----------------------------------------------------------------------

    def _start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"levelstream-live-{self.collection}")

    async def _run(self) -> None:
        backoff = Backoff(0.1, self.db.backoff_max)
        while not self.db.closed:
            try:
                sub = await self._subscribe()
                backoff.reset()
                self.live = True
                self.db._status_changed()
                while True:
                    self._apply(await sub.next_batch())
            except HistoryCompactedError as reset:
                self.last_reset = reset.reason
                self.seq = None  # the local copy stays until the new snapshot replaces it
            except (TimeoutError, ConnectionLostError, StopAsyncIteration):
                pass
            except LevelstreamError as refused:
                self.error = refused
                log.warning("live query %s stopped: %s", self.id, refused)
                return
            self.live = False
            self.db._status_changed()
            await backoff.sleep()

    async def _subscribe(self) -> Subscription:
        rt = self.db.realtime
        if self.seq is not None:
            return await rt.subscribe(
                self.collection, where=self.where, since=self.seq, epoch=self.epoch
            )
        sub = await rt.subscribe(self.collection, where=self.where, snapshot=True)
        await sub.snapshot_done.wait()
        if sub.snapshot_pending or sub.snapshot_seq is None:
            await sub.next_batch()  # raises why it ended
            raise ConnectionLostError("the snapshot did not complete")
        items = sub.take_snapshot()
        state = QueryState(sub.snapshot_seq, sub.epoch, {c.key: _stored(c) for c in items})
        self.db.store.replace(self.id, state)  # the new copy, in one transaction
        self.docs, self.seq, self.epoch = state.docs, state.seq, state.epoch
        self.db._settle()
        self._notify()
        return sub

    async def catch_up(self) -> None:
        """Move `seq` to the server's head when the subscription has nothing to deliver up
        to it. A filtered subscription hears only of changes to its view, so after a write
        that does not touch the view its seq would never reach the write's; the server's
        change log with the same filter from the same seq yields exactly the events the
        subscription would (docs/queries.md), so none there means the view is exact as of
        the head."""
        since, epoch = self.seq, self.epoch
        if since is None or not self.live:
            return
        params: dict[str, Any] = {"collection": self.collection, "since": since, "limit": 1}
        if self.where is not None:
            params["where"] = self.where
        try:
            response = await self.db._http.get("/v1/changes", params=params)
        except httpx.TransportError:
            return  # offline: the sender tries again later
        if response.status_code != 200:
            return  # compacted, refused, busy: the subscription has its own answer
        page = response.json()
        head = page.get("head_seq")
        if page.get("changes") or not isinstance(head, int) or page.get("epoch") != epoch:
            return  # something to deliver first (or another database): wait for it
        if self.seq != since or self.epoch != epoch or head <= since:
            return  # the subscription moved meanwhile (applied, or a new snapshot)
        self.db.store.apply(self.id, head, epoch, {}, set())
        self.seq = head

    def _apply(self, changes: list[Change]) -> None:
        upserts: dict[str, StoredDoc] = {}
        removed: set[str] = set()
        for change in changes:
            if change.op == "put":
                upserts[change.key] = _stored(change)
                removed.discard(change.key)
            else:
                upserts.pop(change.key, None)
                removed.add(change.key)
        seq = max(c.seq for c in changes)
        self.db.store.apply(self.id, seq, self.epoch, upserts, removed)
        self.docs.update(upserts)
        for key in removed:
            self.docs.pop(key, None)
        self.seq = seq
        self.db._settle()
        self._notify()


def _stored(change: Change) -> StoredDoc:
    return StoredDoc(change.value, change.rev)


class CollectionRef:
    """`db.collection(name)`: its live queries and its writes."""

    def __init__(self, db: OfflineClient, name: str) -> None:
        self.db, self.name = db, name

    def where(self, where: str) -> QueryRef:
        return QueryRef(self.db, self.name, where)

    async def live(self) -> LiveQuery:
        return await self.db.live(self.name)

    def put(self, key: str, value: Any, *, base_rev: int | None = None) -> int:
        return self.db.put(self.name, key, value, base_rev=base_rev)

    def patch(self, key: str, patch: Any, *, base_rev: int | None = None) -> int:
        return self.db.patch(self.name, key, patch, base_rev=base_rev)

    def delete(self, key: str, *, base_rev: int | None = None) -> int:
        return self.db.delete(self.name, key, base_rev=base_rev)


@dataclass(frozen=True)
class QueryRef:
    db: OfflineClient
    collection: str
    where: str

    async def live(self) -> LiveQuery:
        return await self.db.live(self.collection, self.where)


class OfflineClient:
    """A local replica and outbox for one server and principal; see the module docstring.

    `store`: a file path (SQLite, WAL mode; one file per server and principal),
    ":memory:", or a `LocalStore`. `on_conflict(conflict) -> Retry(...) | Drop()` (sync
    or async); the default keeps the server's document and records the intent in
    `conflicts`. `transport`: as `RealtimeClient`'s ("auto" falls back to Server-Sent
    Events where WebSockets do not pass; the status follows either).
    """

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        token_provider: TokenProvider | None = None,
        store: str | Path | LocalStore = ":memory:",
        on_conflict: ConflictHandler | None = None,
        synchronous: str = "NORMAL",
        backoff_max: float = 2.0,
        request_timeout: float = 10.0,
        transport: Transport = "auto",
    ) -> None:
        if isinstance(store, str | Path):
            store = (
                MemoryStore()
                if str(store) == ":memory:"
                else SqliteStore(store, synchronous=synchronous)
            )
        self.store: LocalStore = store
        self.outbox = Outbox(store)
        self.backoff_max = backoff_max
        self.realtime = RealtimeClient(
            base_url,
            token,
            token_provider=token_provider,
            transport=transport,
            backoff_max=backoff_max,
            request_timeout=request_timeout,
        )
        self._on_conflict = on_conflict or self.server_wins
        self._queries: dict[str, LiveQuery] = {}
        self._status_listeners: list[Callable[[Status], None]] = []
        self._conflict_listeners: list[Callable[[list[Conflict]], None]] = []
        self._last_status: Status | None = None
        self._wake = asyncio.Event()
        self._sender: asyncio.Task[None] | None = None
        self._http = httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=request_timeout)
        self._http.auth = _Bearer(self.realtime)
        self.sending_failed = False  # the last send attempt could not reach the server
        self.closed = False

    async def __aenter__(self) -> OfflineClient:
        self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def start(self) -> None:
        if self._sender is None:
            self.realtime.on_connection_change(self._on_connection)
            self.realtime.connect()  # up with no live query too: the status is reachability
            self._sender = asyncio.create_task(self._send_loop(), name="levelstream-outbox")

    async def close(self) -> None:
        self.closed = True
        tasks = [q._task for q in self._queries.values() if q._task] + [self._sender]
        for task in tasks:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        await self.realtime.close()
        await self._http.aclose()
        self.store.close()

    # --- live queries --------------------------------------------------------------------

    def collection(self, name: str) -> CollectionRef:
        return CollectionRef(self, name)

    async def live(self, collection: str, where: str | None = None) -> LiveQuery:
        """The live query's local view at once (from the store), kept current from here."""
        self.start()
        query = LiveQuery(self, collection, where)  # a bad `where` raises here
        existing = self._queries.get(query.id)
        if existing is not None:
            return existing
        self._queries[query.id] = query
        self._settle()
        query._start()
        return query

    # --- writes --------------------------------------------------------------------------

    def put(self, collection: str, key: str, value: Any, *, base_rev: int | None = None) -> int:
        """Queue a put and show it at once; returns the outbox entry's id."""
        return self.batch([WriteOp("put", collection, key, value, base_rev)], single=True)

    def patch(self, collection: str, key: str, patch: Any, *, base_rev: int | None = None) -> int:
        return self.batch([WriteOp("patch", collection, key, patch, base_rev)], single=True)

    def delete(self, collection: str, key: str, *, base_rev: int | None = None) -> int:
        return self.batch([WriteOp("delete", collection, key, None, base_rev)], single=True)

    def batch(self, ops: list[WriteOp], *, single: bool = False) -> int:
        """Queue writes applied all or nothing (one `POST /v1/batch`)."""
        if not ops:
            raise ValueError("a batch needs at least one op")
        entry = self.outbox.enqueue(ops, not single, self._known_rev)
        self._wake.set()
        for query in self._queries.values():
            if any(op.collection == query.collection for op in ops):
                query._notify()
        self._status_changed()
        return entry.id

    def _known_rev(self, collection: str, key: str) -> int | None:
        for query in self._queries.values():
            if query.collection == collection and key in query.docs:
                return query.docs[key].rev
        return None

    # --- conflicts and status ------------------------------------------------------------

    @property
    def conflicts(self) -> list[Conflict]:
        """Intents the server refused and the default handler gave up (persisted)."""
        return [Conflict.from_json(record) for record in self.store.load_conflicts()]

    def dismiss_conflict(self, conflict: Conflict | int) -> None:
        """Forget one recorded conflict (by the object `conflicts` gave, or its id)."""
        conflict_id = conflict if isinstance(conflict, int) else conflict.id
        if conflict_id is None:
            raise ValueError("this conflict was never recorded in the local store")
        self.store.remove_conflict(conflict_id)
        self._conflicts_changed()

    def clear_conflicts(self) -> None:
        self.store.clear_conflicts()
        self._conflicts_changed()

    def server_wins(self, conflict: Conflict) -> Drop:
        self.store.add_conflict(conflict.to_json())
        self._conflicts_changed()
        return Drop()

    def on_conflicts(self, listener: Callable[[list[Conflict]], None]) -> Callable[[], None]:
        """Call `listener(conflicts)` now and whenever that list changes (a new conflict or
        refusal, `dismiss_conflict`, `clear_conflicts`); returns the unsubscribe."""
        self._conflict_listeners.append(listener)
        listener(self.conflicts)
        return lambda: self._conflict_listeners.remove(listener)

    def _conflicts_changed(self) -> None:
        if not self._conflict_listeners:
            return
        conflicts = self.conflicts
        for listener in list(self._conflict_listeners):
            try:
                listener(conflicts)
            except Exception:
                log.exception("conflicts listener failed")

    @property
    def status(self) -> Status:
        pending = len(self.outbox.entries)
        if not self.realtime.connected or self.sending_failed:
            state: Literal["online", "offline", "syncing"] = "offline"
        elif pending or not all(q.live for q in self._queries.values()):
            state = "syncing"
        else:
            state = "online"
        return Status(state, pending)

    def on_status(self, listener: Callable[[Status], None]) -> Callable[[], None]:
        """Call `listener(status)` when the state or the pending count changes."""
        self._status_listeners.append(listener)
        return lambda: self._status_listeners.remove(listener)

    async def wait_synced(self, timeout: float = 30.0) -> None:
        """Until every queued write has reached every live query and all are live."""
        async with asyncio.timeout(timeout):
            while self.status.state != "online":
                await asyncio.sleep(0.02)

    def _status_changed(self) -> None:
        status = self.status
        if status != self._last_status:
            self._last_status = status
            for listener in list(self._status_listeners):
                try:
                    listener(status)
                except Exception:
                    log.exception("status listener failed")

    def _on_connection(self, connected: bool) -> None:
        if connected:
            self._wake.set()
        self._status_changed()

    def _settle(self) -> None:
        if self.outbox.settle(self._applied_seq):
            for query in self._queries.values():
                query._notify()
        self._status_changed()

    async def _catch_up(self) -> None:
        waiting: dict[str, int] = {}
        for entry in self.outbox.entries:
            if entry.acked_seq is not None:
                for op in entry.ops:
                    waiting[op.collection] = max(waiting.get(op.collection, 0), entry.acked_seq)
        for query in list(self._queries.values()):
            needed = waiting.get(query.collection)
            if needed is not None and query.seq is not None and query.seq < needed:
                await query.catch_up()
        self._settle()

    def _applied_seq(self, collection: str) -> int | None:
        seqs = [q.seq or -1 for q in self._queries.values() if q.collection == collection]
        return min(seqs) if seqs else None

    # --- sending -------------------------------------------------------------------------

    async def _send_loop(self) -> None:
        backoff = Backoff(0.05, self.backoff_max)
        catch_up = Backoff(0.1, self.backoff_max)
        while not self.closed:
            entry = self.outbox.first_unsent()
            if entry is None:
                self._wake.clear()
                if not self.outbox.entries:
                    catch_up.reset()
                    await self._wake.wait()
                    continue
                # Sent, not yet seen by every live query: give the subscriptions a moment,
                # then ask the server whether a lagging one has anything left to hear.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), catch_up.current())
                await self._catch_up()
                continue
            try:
                await self._send_one(entry)
            except TryLater as why:
                log.debug("outbox: %s", why)
                self.sending_failed = True
                self._status_changed()
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), backoff.current())
                continue
            backoff.reset()
            catch_up.reset()
            if self.sending_failed:
                self.sending_failed = False
            self._settle()

    async def _send_one(self, entry: Any) -> None:
        try:
            seq, revs = await send(self._http, entry)
        except LevelstreamError as refused:
            await self._refused(entry, refused)
            return
        self.outbox.acknowledge(entry, seq, revs)

    async def _refused(self, entry: Any, refused: LevelstreamError) -> None:
        index = min(refusal_index(refused), len(entry.ops) - 1)
        intent = entry.ops[index]
        if refused.code != "precondition_failed":
            self.store.add_conflict(Conflict(intent, None, f"{refused.code}: {refused}").to_json())
            self._conflicts_changed()
            self._drop(entry)
            return
        server = await current_doc(self._http, intent.collection, intent.key)
        resolution = await resolve(self._on_conflict, Conflict(intent, server))
        if isinstance(resolution, Retry) and not (intent.op == "delete" and server is None):
            self.outbox.rebase(entry, index, server, resolution.value)
        else:
            self._drop(entry)

    def _drop(self, entry: Any) -> None:
        self.outbox.drop(entry)
        for query in self._queries.values():
            query._notify()
        self._status_changed()


class _Bearer(httpx.Auth):
    """The realtime client's current token on each request (a provider's fresh one)."""

    def __init__(self, realtime: RealtimeClient) -> None:
        self.realtime = realtime

    async def async_auth_flow(self, request: httpx.Request) -> Any:
        request.headers["Authorization"] = f"Bearer {await self.realtime.token()}"
        yield request
