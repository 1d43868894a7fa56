"""Ephemeral channels: publish/subscribe messages and presence, stored nowhere.

In-process implementation; the cluster mode puts the same interface on Redis.
A message's data is encoded once; each subscriber's frame is its own small
prefix joined to those shared bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from app.auth.principal import Principal
from app.realtime.connection import Connection
from app.store.records import format_ts, now_ms


def sender_id(principal: Principal, client_id: str, as_self: bool) -> str:
    """The `from` of a channel message: the publisher's opaque client id (as presence shows
    it), or, only when the publisher asked to be named (`as_self`), its credential's
    identity (`key:<id>`, `jwt:<sub>`): a key id is not for every subscriber to see."""
    return f"{principal.kind}:{principal.id}" if as_self else client_id


@dataclass(slots=True)
class Member:
    client_id: str
    state: Any
    joined_at: str
    connection: Connection


class ChannelBus:
    def __init__(self) -> None:
        # channel -> {(connection, sub id)}
        self._subscribers: dict[str, set[tuple[Connection, str]]] = {}
        self._members: dict[str, dict[str, Member]] = {}

    # --- messages ---------------------------------------------------------------

    def subscribe(self, connection: Connection, sub_id: str, channel: str) -> None:
        self._subscribers.setdefault(channel, set()).add((connection, sub_id))
        connection.channel_subs[sub_id] = channel

    def unsubscribe(self, connection: Connection, sub_id: str) -> bool:
        channel = connection.channel_subs.pop(sub_id, None)
        if channel is None:
            return False
        subscribers = self._subscribers.get(channel)
        if subscribers is not None:
            subscribers.discard((connection, sub_id))
            if not subscribers:
                del self._subscribers[channel]
        return True

    def publish(self, channel: str, data: Any, sender: str | None) -> int:
        """Deliver to the channel's current subscribers; returns how many got it."""
        subscribers = self._subscribers.get(channel)
        if not subscribers:
            return 0
        body = b'"channel":%s,"data":%s,"from":%s}' % (
            orjson.dumps(channel),
            orjson.dumps(data),
            orjson.dumps(sender),
        )
        text: str | None = None
        sse: bytes | None = None
        delivered = 0
        for connection, sub_id in list(subscribers):
            if connection.transport == "sse":
                sse = sse or b"event: message\ndata: {" + body + b"\n\n"
                ok = connection.outbox.push(sse)
            else:
                text = text or body.decode("utf-8")
                prefix = '{"type":"message","sub":' + orjson.dumps(sub_id).decode() + ","
                ok = connection.outbox.push(prefix + text)
            if ok:
                delivered += 1
            elif connection.outbox.overflowed and connection.close_code is None:
                connection.request_close(4008, connection.resume_hint)
        return delivered

    # --- presence ---------------------------------------------------------------

    def join(self, connection: Connection, channel: str, state: Any) -> None:
        member = Member(connection.client_id, state, format_ts(now_ms()).decode(), connection)
        self._members.setdefault(channel, {})[connection.client_id] = member
        connection.joined.add(channel)
        self._announce(channel, "join", connection.client_id, state)

    def leave(self, connection: Connection, channel: str) -> bool:
        members = self._members.get(channel)
        if not members or connection.client_id not in members:
            return False
        member = members.pop(connection.client_id)
        connection.joined.discard(channel)
        if not members:
            del self._members[channel]
        self._announce(channel, "leave", connection.client_id, member.state)
        return True

    def members(self, channel: str) -> list[dict[str, Any]]:
        return [
            {"client_id": m.client_id, "state": m.state, "joined_at": m.joined_at}
            for m in self._members.get(channel, {}).values()
        ]

    def disconnect(self, connection: Connection) -> None:
        """A connection ended (closed, vanished, or timed out): drop all it held."""
        for sub_id in list(connection.channel_subs):
            self.unsubscribe(connection, sub_id)
        for channel in list(connection.joined):
            self.leave(connection, channel)

    def reauthorize(self, connection: Connection) -> None:
        """The connection's credential changed (`Hub.reauthorize`): end each channel
        subscription and presence join its new rights do not allow, with a `forbidden`
        error frame (a join's leave is announced as on a disconnect)."""
        principal = connection.principal
        for sub_id, channel in list(connection.channel_subs.items()):
            if not principal.may_channel("read", channel):
                self.unsubscribe(connection, sub_id)
                connection.outbox.push(_forbidden_frame(channel, sub_id))
        for channel in list(connection.joined):
            if not principal.may_channel("read", channel):
                self.leave(connection, channel)
                connection.outbox.push(_forbidden_frame(channel, None))

    def _announce(self, channel: str, action: str, client_id: str, state: Any) -> None:
        subscribers = self._subscribers.get(channel)
        if not subscribers:
            return
        payload = {"channel": channel, "action": action, "client_id": client_id, "state": state}
        text = orjson.dumps({"type": "presence", **payload}).decode()
        sse = b"event: presence\ndata: " + orjson.dumps(payload) + b"\n\n"
        for connection, _sub_id in list(subscribers):
            frame = sse if connection.transport == "sse" else text
            if not connection.outbox.push(frame) and (
                connection.outbox.overflowed and connection.close_code is None
            ):
                # As for messages: the 4008 close then carries the seq to resume from.
                connection.request_close(4008, connection.resume_hint)


def _forbidden_frame(channel: str, sub_id: str | None) -> str:
    """The error frame ending a channel subscription (`sub`) or a presence join (no `sub`)."""
    message = f"the new credential may not read channel {channel!r}"
    frame: dict[str, Any] = {"type": "error"}
    if sub_id is not None:
        frame["sub"] = sub_id
    frame |= {"channel": channel, "code": "forbidden"}
    frame["error"] = {"code": "forbidden", "message": message}
    return orjson.dumps(frame).decode()
