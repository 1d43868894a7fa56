"""The WebSocket ops: each client frame in, one reply frame out.

Each op that REST also has runs REST's steps: `get` is `doc_ops.read_doc`, the
writes are `batch.parse_op`/`parse_ops` (built by `doc_ops`' op builders) and
`doc_ops.commit`, `publish` and `presence` are `channels`'; subscriptions go
through the hub and the channel bus.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from app.api import idempotency
from app.api.batch import parse_op, parse_ops, write_ops
from app.api.channels import channel_for, presence, publish
from app.api.doc_ops import commit_answer, read_doc
from app.api.filters import build_filter, parse_since, resync_views
from app.auth.disclosure import shown_result
from app.auth.gate import Entry, Gate
from app.auth.rules import RuleBook
from app.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    LevelstreamError,
    NotFound,
    PayloadTooLarge,
    ValidationFailed,
)
from app.realtime.bus import Bus
from app.realtime.connection import Connection, Subscription
from app.realtime.hub import Hub
from app.settings import Settings
from app.store.base import Store
from app.store.keys import validate_name
from app.store.types import Answered, ChangeFilter, TxResult

MAX_SUB_ID = 128


# op name -> WsSession method (a table per class, not per connection).
OPS = {
    "auth": "op_auth",
    "subscribe": "op_subscribe",
    "unsubscribe": "op_unsubscribe",
    "get": "op_get",
    "put": "op_write",
    "patch": "op_write",
    "delete": "op_write",
    "batch": "op_batch",
    "publish": "op_publish",
    "join": "op_join",
    "leave": "op_leave",
    "presence": "op_presence",
}


class TooManySubscriptions(Exception):
    pass


class WsSession:
    """Executes one connection's ops."""

    __slots__ = (
        "bus",
        "connection",
        "entry",
        "gate",
        "hub",
        "in_flight",
        "max_subscriptions",
        "rules",
        "settings",
        "store",
    )

    def __init__(
        self,
        connection: Connection,
        *,
        store: Store,
        hub: Hub,
        bus: Bus,
        gate: Gate,
        rules: RuleBook,
        entry: Entry,
        settings: Settings,
        max_subscriptions: int,
        in_flight: idempotency.InFlight,
    ) -> None:
        self.connection = connection
        self.store = store
        self.hub = hub
        self.bus = bus
        self.gate = gate
        self.rules = rules  # read per op: a rule change holds from the next op on
        self.entry = entry  # the handshake's address and origin, for the gate
        self.settings = settings
        self.max_subscriptions = max_subscriptions
        self.in_flight = in_flight  # idempotency keys under way on this node

    async def handle(self, frame: dict[str, Any]) -> str:
        """Run one op; returns its reply frame (errors become `ok: false`)."""
        request_id = frame.get("id")
        if not isinstance(request_id, str | int | float | type(None)) or isinstance(
            request_id, bool
        ):
            request_id = None
        op = frame.get("op")
        if op == "ping":
            return orjson.dumps({"type": "pong", "id": request_id}).decode()
        name = OPS.get(op) if isinstance(op, str) else None
        handler: Callable[[dict[str, Any]], Awaitable[bytes]] | None = (
            getattr(self, name) if name is not None else None
        )
        try:
            if name != "op_auth":  # `auth` is admitted in full by `op_auth`
                await self.gate.admit_op(self.connection.principal, self.entry.client_ip)
            if handler is None:
                raise BadRequest(f"unknown op {op!r}")
            fields = await handler(frame)
        except LevelstreamError as exc:
            error = {"code": exc.code, "message": exc.detail, **_plain(exc.extra)}
            return orjson.dumps(
                {"type": "reply", "id": request_id, "ok": False, "error": error}
            ).decode()
        head = b'{"type":"reply","id":%s,"ok":true' % orjson.dumps(request_id)
        return (head + fields + b"}").decode("utf-8")

    # --- ops: each returns the reply's extra members as `,"name":value...` -------

    async def op_auth(self, frame: dict[str, Any]) -> bytes:
        token = frame.get("token")
        principal = await self.gate.admit(
            self.entry._replace(token=token if isinstance(token, str) else None)
        )
        current = self.connection.principal
        if (principal.kind, principal.id, principal.key_id) != (
            current.kind,
            current.id,
            current.key_id,
        ):
            # Refreshing is for the same identity: subscriptions were authorized for it.
            raise Forbidden("re-authentication must present a credential for the same identity")
        rules = self.rules.current
        self.hub.reauthorize(self.connection, principal, self.bus)
        # Claims may differ, and rules see them.
        resync_views(self.hub, self.connection, (rules, current), (rules, principal))
        return b',"client_id":%s' % orjson.dumps(self.connection.client_id)

    async def op_subscribe(self, frame: dict[str, Any]) -> bytes:
        connection = self.connection
        sub_id = frame.get("sub")
        if not isinstance(sub_id, str) or not 0 < len(sub_id) <= MAX_SUB_ID:
            raise ValidationFailed(f"sub must be a string of 1 to {MAX_SUB_ID} characters")
        if sub_id in connection.subscriptions or sub_id in connection.channel_subs:
            raise Conflict(f"subscription {sub_id!r} already exists on this connection")
        self._one_more(connection)
        principal = connection.principal
        if "channel" in frame:
            channel = validate_name(frame["channel"], "channel")
            principal.require_channel("read", channel)
            self.bus.subscribe(connection, sub_id, channel)
            return b',"sub":%s,"channel":%s' % (orjson.dumps(sub_id), orjson.dumps(channel))
        flt = self._filter(frame)
        since = parse_since(frame.get("since"))
        snapshot = frame.get("snapshot", False)
        if not isinstance(snapshot, bool):
            raise ValidationFailed("snapshot must be true or false")
        epoch = frame.get("epoch")
        if epoch is not None and epoch != self.store.epoch:
            # Another database's cursor: its seqs mean nothing here. The reset
            # frame is queued after this reply (call_soon runs once we yield).
            reset = {
                "type": "reset",
                "sub": sub_id,
                "oldest_seq": await self.store.oldest_seq(),
                "epoch": self.store.epoch,
            }
            asyncio.get_running_loop().call_soon(
                connection.outbox.push, orjson.dumps(reset).decode()
            )
            return self._subscribed(sub_id, self.store.head_seq)
        if since is not None and since > self.store.head_seq:
            raise BadRequest(
                f"since={since} is ahead of the head seq {self.store.head_seq}",
                head_seq=self.store.head_seq,
            )
        sub = Subscription(
            connection, sub_id, flt, principal.read_check(), self.settings.ws_queue_limit
        )
        # No await from here to the reply: the reply is queued before any change.
        return self._subscribed(sub_id, self.hub.subscribe(sub, since=since, snapshot=snapshot))

    def _one_more(self, connection: Connection) -> None:
        """The per-connection cap, shared by subscriptions, channel subscriptions and joins."""
        if connection.held >= self.max_subscriptions:
            raise TooManySubscriptions

    def _subscribed(self, sub_id: str, head: int) -> bytes:
        return b',"sub":%s,"seq":%d,"epoch":"%s"' % (
            orjson.dumps(sub_id),
            head,
            self.store.epoch.encode("ascii"),
        )

    def _filter(self, frame: dict[str, Any]) -> ChangeFilter:
        collection = frame.get("collection")
        if not isinstance(collection, str):
            raise ValidationFailed("subscribe needs a collection (or * for all) or a channel")
        bounds = {}
        for name in ("key", "prefix", "gt", "gte", "lt", "lte"):
            value = frame.get(name)
            if value is not None and not isinstance(value, str):
                raise ValidationFailed(f"{name} must be a string")
            bounds[name] = value
        where = frame.get("where")
        return build_filter(
            self.connection.principal,
            collection,
            **bounds,
            rules=self.rules.current,
            where=where,
        )

    async def op_unsubscribe(self, frame: dict[str, Any]) -> bytes:
        sub_id = frame.get("sub")
        if not isinstance(sub_id, str):
            raise ValidationFailed("sub must be a string")
        if not (
            self.hub.unsubscribe(self.connection, sub_id)
            or self.bus.unsubscribe(self.connection, sub_id)
        ):
            raise NotFound(f"no subscription {sub_id!r} on this connection")
        return b',"sub":%s' % orjson.dumps(sub_id)

    async def op_get(self, frame: dict[str, Any]) -> bytes:
        # The REST GET's steps (`doc_ops.read_doc`); the reply carries the envelope.
        principal, collection, key = (
            self.connection.principal,
            frame.get("collection"),
            frame.get("key"),
        )
        record = await read_doc(self.store, self.rules.current, principal, collection, key)
        return b',"result":' + record.envelope

    async def op_write(self, frame: dict[str, Any]) -> bytes:
        fields = {k: v for k, v in frame.items() if k not in ("id", "idempotency_key")}
        principal = self.connection.principal
        idem = self._idempotent(frame)
        # A single write, not a batch of one: its errors name no op index.
        ops = [parse_op(fields, principal, self.settings)]

        def render(result: TxResult) -> bytes:
            return b',"result":' + shown_result(principal, result.results[0])

        rules = self.rules.current
        return _replied(await commit_answer(self.store, rules, principal, ops, render, idem))

    async def op_batch(self, frame: dict[str, Any]) -> bytes:
        principal = self.connection.principal
        idem = self._idempotent(frame)
        ops = parse_ops({"ops": frame.get("ops")}, principal, self.settings)
        answered = await write_ops(self.store, self.rules.current, principal, ops, idem)
        return _replied(Answered(b',"result":' + answered.answer, answered.replayed))

    def _idempotent(self, frame: dict[str, Any]) -> idempotency.Idempotent | None:
        return idempotency.requested(
            frame.get("idempotency_key"),
            "idempotency_key",
            f"ws {frame.get('op')}",
            self.settings.idempotency_ttl_s,
            self.in_flight,
        )

    def _channel(self, frame: dict[str, Any]) -> str:
        return validate_name(frame.get("channel"), "channel")  # type: ignore[arg-type]

    async def op_publish(self, frame: dict[str, Any]) -> bytes:
        connection = self.connection
        channel = channel_for(connection.principal, frame.get("channel"), "write")
        if "data" not in frame:
            raise ValidationFailed("publish needs data")
        as_self = frame.get("as_self", False)
        if not isinstance(as_self, bool):
            raise ValidationFailed("as_self must be true or false")
        principal, client_id = connection.principal, connection.client_id
        delivered = publish(self.bus, principal, channel, frame["data"], client_id, as_self=as_self)
        return b',"delivered":%d' % delivered

    async def op_join(self, frame: dict[str, Any]) -> bytes:
        channel = self._channel(frame)
        connection = self.connection
        connection.principal.require_channel("read", channel)
        state = frame.get("state")
        limit = self.settings.presence_state_bytes
        if len(orjson.dumps(state)) > limit:
            raise PayloadTooLarge(f"presence state over the limit of {limit} bytes (encoded)")
        if channel not in connection.joined:  # joining again only updates the state
            self._one_more(connection)
        self.bus.join(connection, channel, state)
        return b',"client_id":%s' % orjson.dumps(self.connection.client_id)

    async def op_leave(self, frame: dict[str, Any]) -> bytes:
        channel = self._channel(frame)
        if not self.bus.leave(self.connection, channel):
            raise NotFound(f"not joined to channel {channel!r}")
        return b""

    async def op_presence(self, frame: dict[str, Any]) -> bytes:
        members = presence(self.bus, self.connection.principal, frame.get("channel"))
        return b',"items":' + orjson.dumps(members)


def _replied(answered: Answered) -> bytes:
    """A write's reply members; a replayed answer says so (`"replayed":true`)."""
    return answered.answer + b',"replayed":true' if answered.replayed else answered.answer


def _plain(extra: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in extra.items() if isinstance(v, str | int | float | bool | None)}
