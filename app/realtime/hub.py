"""The hub: committed changes in, matching subscribers' queues out.

It is a store commit listener, so it sees every committed change in seq order
on the event loop and never anything uncommitted. Per change it looks up the
subscriptions of that collection (plus the `*` ones), and queues the change's
pre-encoded frame to each match: no JSON work per subscriber, no await. At
the end of the group, each socket it touched gets everything queued for it
in one write (`Flusher`), with no task woken per connection; a group of one
change is written to each socket as it is offered (`Flusher.immediate`).

A subscription with `since` or `snapshot` is registered (buffering) BEFORE
the log or the snapshot is read; the replay then reads the log up to a head,
and the buffered live changes after that head are flushed, deduplicated by
seq: nothing is lost or repeated at the seam.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import orjson

from app.auth.principal import Principal
from app.errors import Forbidden, HistoryCompacted, LevelstreamError
from app.realtime.bus import Bus
from app.realtime.connection import Connection, EncodedChange, Subscription
from app.realtime.credentials import CredentialIndex
from app.realtime.fanout import CollectionFanout
from app.realtime.outbox import Flusher
from app.store.base import Store
from app.store.records import change_seq
from app.store.types import Change, DocMatch

log = logging.getLogger("levelstream.realtime")

REPLAY_PAGE = 1000


class Hub:
    def __init__(self, store: Store, queue_limit: int) -> None:
        self.store = store
        self.queue_limit = queue_limit
        self.connections: set[Connection] = set()
        self.credentials = CredentialIndex(self.connections)
        self._by_collection: dict[str, CollectionFanout] = {}
        self._wildcard: set[Subscription] = set()
        # Connections that write straight to their sockets are flushed through it.
        self.flusher = Flusher()
        # Counters for metrics: resumes served from the log, and cursors too old.
        self.resumes_replayed = 0
        self.resumes_compacted = 0
        store.add_listener(self.on_commit)

    # --- fan-out -------------------------------------------------------------

    def on_commit(self, changes: Sequence[Change]) -> None:
        by_collection, wildcard = self._by_collection, self._wildcard
        flusher = self.flusher
        # One change: nothing to gather per socket, so each delivery is written at once.
        flusher.immediate = len(changes) == 1
        try:
            for change in changes:
                fanout = by_collection.get(change.collection)
                if fanout is None and not wildcard:
                    continue
                encoded = EncodedChange(
                    change.seq, change.data, change.collection, change.key, change.prev
                )
                if fanout is not None:
                    fanout.deliver(encoded)
                for sub in wildcard:
                    if sub.flt.matches(change.collection, change.key) and (
                        sub.can_read is None or sub.can_read(change.collection)
                    ):
                        sub.offer(encoded)
        finally:
            flusher.immediate = False
        # One write per touched socket for the whole group.
        flusher.flush()

    # --- connections and subscriptions -------------------------------------------

    def connect(self, connection: Connection) -> None:
        self.connections.add(connection)
        self.credentials.add(connection)

    def disconnect(self, connection: Connection) -> None:
        for sub_id in list(connection.subscriptions):
            self.unsubscribe(connection, sub_id)
        if connection in self.connections:
            self.connections.discard(connection)
            self.credentials.remove(connection)

    def _add(self, sub: Subscription) -> None:
        collection = sub.flt.collection
        if collection == "*":
            self._wildcard.add(sub)
            return
        fanout = self._by_collection.get(collection)
        if fanout is None:
            fanout = self._by_collection[collection] = CollectionFanout()
        fanout.add(sub)

    def _discard(self, sub: Subscription) -> None:
        collection = sub.flt.collection
        if collection == "*":
            self._wildcard.discard(sub)
            return
        fanout = self._by_collection.get(collection)
        if fanout is not None:
            fanout.discard(sub)
            if not fanout:
                del self._by_collection[collection]

    def unsubscribe(self, connection: Connection, sub_id: str) -> bool:
        """End the subscription named `sub_id`; once this returns it sends nothing more."""
        sub = connection.subscriptions.get(sub_id)
        if sub is None:
            return False
        self._end(sub)
        return True

    def _end(self, sub: Subscription) -> None:
        """End `sub` itself (never another subscription that reuses its id): out of the
        connection and the index, and its replay cancelled, so that nothing it read or was
        offered can be queued after this returns (a cancelled task gets CancelledError at
        its next step, before it can push)."""
        connection = sub.connection
        if connection.subscriptions.get(sub.sub_id) is sub:
            del connection.subscriptions[sub.sub_id]
        replay, sub.replay = sub.replay, None
        if replay is not None and replay is not asyncio.current_task():
            replay.cancel()
        sub.buffer = []
        self._discard(sub)

    def subscribe(
        self,
        sub: Subscription,
        *,
        since: int | None,
        snapshot: bool,
    ) -> int:
        """Register `sub` and start its replay; returns the head seq for the reply.

        Frames (snapshot, replayed changes, then live ones) go to the
        connection's outbox; the caller queues its reply first.
        """
        connection = sub.connection
        connection.subscriptions[sub.sub_id] = sub
        self._add(sub)
        head = self.store.head_seq
        connection.outbox.start_at(head if since is None else since)
        if since is None and not snapshot:
            sub.last_seq = head
            sub.live = True
            sub.buffer = []
            return head
        sub.replay = asyncio.create_task(self._replay(sub, since, snapshot))
        return head

    async def _replay(self, sub: Subscription, since: int | None, snapshot: bool) -> None:
        connection = sub.connection
        outbox = connection.outbox
        try:
            start = since or 0
            if snapshot:
                can_read = sub.can_read
                async for items, seq, done in self.store.snapshot_pages(sub.flt, can_read):
                    await outbox.room()
                    if sub.can_read is not can_read:
                        # Re-authenticated with other rights while this page was read.
                        items = [item for item in items if _readable(sub, item)]
                    match = sub.flt.match
                    if match is not None:
                        items = [item for item in items if _matches(match, item)]
                        if not items and not done:
                            continue
                    outbox.push(self.snapshot_frame(sub, items, seq, done))
                    start = seq
            while True:
                # Rights are judged per frame: a page read with rights that changed since
                # (the `auth` op) is read again from the last change sent, with the new ones.
                can_read = sub.can_read
                batch = await self.store.changes(sub.flt, start, REPLAY_PAGE, can_read)
                for data in batch.changes:
                    await outbox.room()
                    if sub.can_read is not can_read:
                        break
                    change = EncodedChange(change_seq(data), data)
                    outbox.push(sub.frame(change), change.seq)
                    start = change.seq
                else:
                    start = batch.last_seq
                    if batch.last_seq >= batch.head_seq:  # a read may stop early: see reads.py
                        if sub.buffer_overflowed:
                            # Live changes outran the buffer: read them from the log instead.
                            sub.buffer, sub.buffer_overflowed = [], False
                            continue
                        sub.go_live(batch.head_seq)
                        self.resumes_replayed += 1
                        return
        except HistoryCompacted as exc:
            self.resumes_compacted += 1
            self._end(sub)
            outbox.push(self.reset_frame(sub, exc.oldest_seq))
            if connection.transport == "sse":
                connection.end(1000, "history compacted")
        except LevelstreamError as exc:
            self._end(sub)
            outbox.push(self.error_frame(sub, exc))
            if connection.transport == "sse":
                connection.end(1000, exc.detail)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("replay failed for subscription %s", sub.sub_id)
            connection.request_close(1011, "internal error")
        finally:
            if sub.replay is asyncio.current_task():
                sub.replay = None

    def reset(self, sub: Subscription, reason: str) -> None:
        """End `sub` with a `reset` frame naming `reason`: the client starts over from a
        new snapshot (an SSE stream ends after it, as for `history_compacted`)."""
        self._end(sub)
        connection = sub.connection
        if connection.transport == "sse":
            connection.outbox.push(b'event: reset\ndata: {"reason":"%s"}\n\n' % reason.encode())
            connection.end(1000, reason)
        else:
            frame = {"type": "reset", "sub": sub.sub_id, "reason": reason}
            connection.outbox.push(orjson.dumps(frame).decode())

    # --- re-authentication -----------------------------------------------------------

    def reauthorize(self, connection: Connection, principal: Principal, channels: Bus) -> None:
        """The connection now holds `principal` (the WebSocket `auth` op): judge all it
        holds again. A subscription, channel subscription or presence join the new rights
        do not allow ends with a `forbidden` error frame and sends nothing more; a `*`
        subscription goes on, filtered by the new scopes from the next frame on."""
        connection.principal = principal
        self.credentials.refreshed(connection)
        for sub in list(connection.subscriptions.values()):
            collection = sub.flt.collection
            if not principal.may_subscribe(collection):
                self._end(sub)
                where = "" if collection == "*" else f" collection {collection!r}"
                denied = Forbidden(f"the new credential may not read{where}")
                connection.outbox.push(self.error_frame(sub, denied))
                continue
            can_read = sub.can_read = principal.read_check()
            if can_read is not None and sub.buffer:
                # Live changes buffered during its replay were judged with the old rights.
                sub.buffer = [c for c in sub.buffer if can_read(c.collection)]
        channels.reauthorize(connection)

    # --- frames ---------------------------------------------------------------

    @staticmethod
    def snapshot_frame(
        sub: Subscription, items: Sequence[bytes], seq: int, done: bool
    ) -> str | bytes:
        joined = b",".join(items)
        if sub.connection.transport == "sse":
            data = b'{"items":[%s],"seq":%d,"done":%s}' % (
                joined,
                seq,
                b"true" if done else b"false",
            )
            return b"event: snapshot\ndata: " + data + b"\n\n"
        return (
            b'{"type":"snapshot","sub":%s,"items":[%s],"seq":%d,"done":%s}'
            % (orjson.dumps(sub.sub_id), joined, seq, b"true" if done else b"false")
        ).decode("utf-8")

    @staticmethod
    def reset_frame(sub: Subscription, oldest_seq: int) -> str | bytes:
        if sub.connection.transport == "sse":
            return b'event: reset\ndata: {"oldest_seq":%d}\n\n' % oldest_seq
        return orjson.dumps({"type": "reset", "sub": sub.sub_id, "oldest_seq": oldest_seq}).decode()

    @staticmethod
    def error_frame(sub: Subscription, exc: LevelstreamError) -> str | bytes:
        error = {"code": exc.code, "message": exc.detail}
        if sub.connection.transport == "sse":
            return b"event: error\ndata: " + orjson.dumps(error) + b"\n\n"
        frame = {"type": "error", "sub": sub.sub_id, "code": exc.code, "error": error}
        return orjson.dumps(frame).decode()

    # --- shutdown and revocation ---------------------------------------------------

    def close_all(self, code: int, reason: str) -> None:
        for connection in list(self.connections):
            connection.request_close(code, reason)

    def close_key(self, key_id: str, code: int, reason: str) -> int:
        """Close every connection made with API key `key_id` or a token it minted."""
        connections = self.credentials.of_key(key_id)
        for connection in connections:
            connection.request_close(code, reason)
        return len(connections)


def _matches(match: DocMatch, envelope: bytes) -> bool:
    """Whether a filtered subscription's snapshot holds a document (its envelope)."""
    doc = orjson.loads(envelope)
    return match(doc["collection"], doc["key"], doc["rev"], doc["value"])


def _readable(sub: Subscription, envelope: bytes) -> bool:
    """Whether `sub`'s current rights may read a snapshot item (rarely asked: only when
    the rights changed while its page was read)."""
    can_read = sub.can_read
    return can_read is None or can_read(orjson.loads(envelope)["collection"])
