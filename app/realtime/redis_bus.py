"""Channels and presence across nodes, over Redis pub/sub (redis-py asyncio).

Each node keeps the in-process fan-out of `ChannelBus` for its own
connections, and relays through one Redis channel, `<prefix>events`:
messages, presence joins and leaves, and events other modules register
(key changes). Events are sent in order by one background task, so the
synchronous API (`publish`, `join`, ...) never waits on Redis.

Presence with leases: a node keeps its members in a hash
(`<prefix>members:<node>`) and a liveness key (`<prefix>node:<node>`), both
renewed every `lease/4` with a lifetime of `lease/2`. Every node mirrors the
other nodes' members (from events, reconciled with the hashes each
heartbeat), and when a node's liveness key is gone its members leave, with a
`leave` announced to local subscribers: a killed node's members vanish within
the lease, and no ghost stays.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from app.realtime.channels import ChannelBus
from app.realtime.connection import Connection

log = logging.getLogger("levelstream.bus")

OUTBOX_LIMIT = 100_000
TOMBSTONE_S = 60.0
EventHandler = Callable[[dict[str, Any]], None]


@dataclass(slots=True)
class RemoteMember:
    node: str
    state: Any
    joined_at: str
    updated: float  # loop time of the event that set it


class RedisBus(ChannelBus):
    def __init__(
        self, url: str, prefix: str, lease_s: float = 10.0, timeout_s: float = 10.0
    ) -> None:
        super().__init__()
        self.node_id = uuid.uuid4().hex[:12]
        # Bounded waits: over a link that drops packets silently a reply never comes.
        self._redis = aioredis.from_url(
            url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s
        )
        self._prefix = prefix
        self._events = f"{prefix}events"
        self._lease_ms = max(int(lease_s * 1000), 100)
        self._remote: dict[str, dict[str, RemoteMember]] = {}
        self._tombstones: dict[tuple[str, str, str], float] = {}
        self._outbox: asyncio.Queue[tuple[dict[str, Any] | None, Any]] = asyncio.Queue(OUTBOX_LIMIT)
        self._handlers: dict[str, EventHandler] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._subscribed = asyncio.Event()
        self.dropped = 0  # events not sent: the outbox was full or Redis failed

    def _key(self, kind: str, node: str | None = None) -> str:
        return f"{self._prefix}{kind}:{node or self.node_id}"

    # --- lifecycle ---------------------------------------------------------------

    async def start(self) -> None:
        # Fail at start, with a clear error, when Redis is down.
        await self._redis.ping()  # type: ignore[misc]
        await self._heartbeat()
        self._tasks = [
            asyncio.create_task(self._send_forever(), name="levelstream-bus-send"),
            asyncio.create_task(self._receive_forever(), name="levelstream-bus-receive"),
            asyncio.create_task(self._heartbeat_forever(), name="levelstream-bus-lease"),
        ]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._subscribed.wait(), 5)

    async def close(self) -> None:
        """Send what is queued (briefly), withdraw this node's presence, disconnect."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._outbox.join(), 2)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        with contextlib.suppress(RedisError, OSError):
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.delete(self._key("members"), self._key("node"))
                pipe.srem(f"{self._prefix}nodes", self.node_id)
                await pipe.execute()
        with contextlib.suppress(RedisError, OSError):
            await self._redis.aclose()

    # --- the ChannelBus API, relayed ---------------------------------------------

    def publish(self, channel: str, data: Any, sender: str | None) -> int:
        delivered = super().publish(channel, data, sender)
        self.send({"t": "msg", "c": channel, "d": data, "f": sender})
        return delivered

    def join(self, connection: Connection, channel: str, state: Any) -> None:
        super().join(connection, channel, state)
        member = self._members[channel][connection.client_id]
        entry = {"c": channel, "id": member.client_id, "s": state, "at": member.joined_at}
        self.send({"t": "join", **entry}, ("hset", _field(channel, member.client_id), entry))

    def leave(self, connection: Connection, channel: str) -> bool:
        if not super().leave(connection, channel):
            return False
        client_id = connection.client_id
        self.send(
            {"t": "leave", "c": channel, "id": client_id}, ("hdel", _field(channel, client_id))
        )
        return True

    def members(self, channel: str) -> list[dict[str, Any]]:
        local = super().members(channel)
        remote = [
            {"client_id": client_id, "state": m.state, "joined_at": m.joined_at}
            for client_id, m in self._remote.get(channel, {}).items()
        ]
        return local + remote

    # --- other events ----------------------------------------------------------------

    def on(self, kind: str, handler: EventHandler) -> None:
        """Call `handler(event)` for events of type `kind` sent by other nodes."""
        self._handlers[kind] = handler

    def send(self, event: dict[str, Any], presence: Any = None) -> None:
        """Queue an event for every other node (and a change of this node's presence hash)."""
        try:
            self._outbox.put_nowait(({**event, "n": self.node_id}, presence))
        except asyncio.QueueFull:
            self.dropped += 1

    # --- sending -------------------------------------------------------------------------

    async def _send_forever(self) -> None:
        members = self._key("members")
        while True:
            batch = [await self._outbox.get()]
            while not self._outbox.empty() and len(batch) < 1000:
                batch.append(self._outbox.get_nowait())
            try:
                async with self._redis.pipeline(transaction=False) as pipe:
                    for event, presence in batch:
                        if presence is None:
                            pass
                        elif presence[0] == "hset":
                            pipe.hset(members, presence[1], orjson.dumps(presence[2]))  # type: ignore[arg-type]
                            pipe.pexpire(members, self._lease_ms // 2)
                        elif presence[0] == "hdel":
                            pipe.hdel(members, presence[1])
                        else:  # "rewrite": what this node holds now, in queue order
                            self._rewrite_members(pipe)
                        if event is not None:
                            pipe.publish(self._events, orjson.dumps(event))
                    await pipe.execute()
            except (RedisError, OSError) as exc:
                self.dropped += len(batch)
                log.warning("bus: %d events not sent (%s)", len(batch), exc)
            finally:
                for _ in batch:
                    self._outbox.task_done()

    def _rewrite_members(self, pipe: Any) -> None:
        entries = {
            _field(channel, m.client_id): orjson.dumps(
                {"c": channel, "id": m.client_id, "s": m.state, "at": m.joined_at}
            )
            for channel, members in self._members.items()
            for m in members.values()
        }
        key = self._key("members")
        pipe.delete(key)
        if entries:
            pipe.hset(key, mapping=entries)
            pipe.pexpire(key, self._lease_ms // 2)

    # --- receiving ---------------------------------------------------------------

    async def _receive_forever(self) -> None:
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._events)
                self._subscribed.set()
                await self._reconcile()  # events may have been missed while away
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is not None and message["type"] == "message":
                        self._receive(orjson.loads(message["data"]))
            except asyncio.CancelledError:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
                raise
            except (RedisError, OSError) as exc:
                log.warning("bus: subscription lost (%s); reconnecting", exc)
            except Exception:
                log.exception("bus: receiving failed; reconnecting")
            with contextlib.suppress(Exception):
                await pubsub.aclose()  # type: ignore[no-untyped-call]
            await asyncio.sleep(0.5)

    def _receive(self, event: dict[str, Any]) -> None:
        node = event.get("n")
        if node == self.node_id:
            return
        kind = event.get("t")
        if kind == "msg":
            super().publish(event["c"], event["d"], event["f"])
        elif kind == "join":
            self._remote_join(node, event, time.monotonic())
        elif kind == "leave":
            self._tombstones[(str(node), event["c"], event["id"])] = time.monotonic()
            self._remote_leave(event["c"], event["id"], node)
        elif isinstance(kind, str) and kind in self._handlers:
            try:
                self._handlers[kind](event)
            except Exception:
                log.exception("bus: handler for %r failed", kind)

    def _remote_join(self, node: Any, entry: dict[str, Any], when: float) -> None:
        channel, client_id = entry["c"], entry["id"]
        members = self._remote.setdefault(channel, {})
        members[client_id] = RemoteMember(str(node), entry["s"], entry["at"], when)
        self._announce(channel, "join", client_id, entry["s"])

    def _remote_leave(self, channel: str, client_id: str, node: Any = None) -> None:
        members = self._remote.get(channel)
        member = members.get(client_id) if members else None
        if members is None or member is None or (node is not None and member.node != node):
            return
        del members[client_id]
        if not members:
            del self._remote[channel]
        self._announce(channel, "leave", client_id, member.state)

    # --- leases -----------------------------------------------------------------------

    async def _heartbeat_forever(self) -> None:
        while True:
            await asyncio.sleep(self._lease_ms / 4000)
            try:
                await self._heartbeat()
                await self._reconcile()
            except (RedisError, OSError) as exc:
                log.warning("bus: lease renewal failed (%s)", exc)
            except Exception:
                log.exception("bus: lease renewal failed")

    async def _heartbeat(self) -> None:
        """Renew this node's lease; its members are rewritten in order with its updates."""
        half = self._lease_ms // 2
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._key("node"), b"1", px=half)
            pipe.sadd(f"{self._prefix}nodes", self.node_id)
            pipe.pexpire(self._key("members"), half)
            await pipe.execute()
        try:
            self._outbox.put_nowait((None, ("rewrite",)))
        except asyncio.QueueFull:
            self.dropped += 1

    async def _reconcile(self) -> None:
        """Make the mirror of other nodes' members match Redis; dead nodes' members leave."""
        started = time.monotonic()
        nodes = [
            n.decode()
            for n in await self._redis.smembers(f"{self._prefix}nodes")  # type: ignore[misc]
        ]
        others = [n for n in nodes if n != self.node_id]
        async with self._redis.pipeline(transaction=False) as pipe:
            for node in others:
                pipe.exists(self._key("node", node))
                pipe.hgetall(self._key("members", node))
            replies = await pipe.execute()
        seen: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
        dead = []
        for index, node in enumerate(others):
            if not replies[2 * index]:
                dead.append(node)
                continue
            for raw in replies[2 * index + 1].values():
                entry = orjson.loads(raw)
                seen[(entry["c"], entry["id"])] = (node, entry)
        if dead:
            await self._redis.srem(f"{self._prefix}nodes", *dead)  # type: ignore[misc]
        for (channel, client_id), (node, entry) in seen.items():
            if client_id in self._remote.get(channel, {}):
                continue
            if self._tombstones.get((node, channel, client_id), 0.0) >= started:
                continue  # it left while we were reading
            self._remote_join(node, entry, started)
        for channel, members in list(self._remote.items()):
            for client_id, member in list(members.items()):
                if (channel, client_id) not in seen and member.updated < started:
                    self._remote_leave(channel, client_id)
        horizon = started - TOMBSTONE_S
        self._tombstones = {k: t for k, t in self._tombstones.items() if t >= horizon}


def _field(channel: str, client_id: str) -> str:
    return f"{channel}\x00{client_id}"
