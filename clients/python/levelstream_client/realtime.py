"""Real-time Levelstream: subscriptions, channels and presence (hand-written; `make sdk` keeps it).

    async with RealtimeClient("http://127.0.0.1:8000", token="lsk_...") as rt:
        sub = await rt.subscribe(collection="tickets", prefix="t-")
        # live from here on: a write made now is delivered below
        async for change in sub:
            print(change.seq, change.op, change.key, change.value)

`subscribe()` and `channel()` return once the server has confirmed the
subscription (its `subscribe` reply, or the SSE response), so nothing written
after they return can be missed; a refusal raises there (`ForbiddenError`, ...).

One WebSocket (`/v1/ws`) carries every subscription, channel and presence of a
client. When it drops (network, server restart, slow-consumer close) the client
reconnects with exponential backoff and resubscribes each subscription from
the last seq it received, with the database `epoch`: the server replays what
was missed, and changes are deduplicated by seq, so each change is yielded
exactly once, in seq order. A resume point the server no longer has ends the
subscription with `HistoryCompactedError` (resnapshot), never a silent gap.

Tokens: pass `token_provider` (a callable, sync or async, returning a fresh
token) for short-lived JWTs. It is asked on every (re)connect, and a JWT is
re-sent with the `auth` op shortly before it expires.

Fallback: when WebSockets are unavailable (the handshake is answered by
something that is not Levelstream's WebSocket endpoint, e.g. a proxy) or when
`transport="sse"`, subscriptions use Server-Sent Events (`/v1/stream`,
resuming with `Last-Event-ID`) and channel publish/presence use REST.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from types import TracebackType
from typing import Any, Literal
from urllib.parse import quote, urlsplit, urlunsplit

import httpx
from httpx_sse import aconnect_sse
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.client import process_exception
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from levelstream_client.exceptions import (
    ForbiddenError,
    LevelstreamError,
    UnauthorizedError,
    error_from_close,
    error_from_problem,
    error_from_response,
)
from levelstream_client.realtime_streams import ChannelSubscription, Subscription, _Stream
from levelstream_client.realtime_types import (
    Backoff,
    Change,
    ConnectionLostError,
    Member,
    Message,
    PresenceEvent,
    _FellBack,
    jwt_expiry,
)

__all__ = [
    "Change",
    "ChannelSubscription",
    "ConnectionLostError",
    "Member",
    "Message",
    "PresenceEvent",
    "RealtimeClient",
    "Subscription",
    "TokenProvider",
    "Transport",
]

log = logging.getLogger("levelstream_client.realtime")

TokenProvider = Callable[[], str | Awaitable[str]]
Transport = Literal["auto", "websocket", "sse"]

# Statuses that mean "this is Levelstream, and it said no" rather than "no WebSocket here".
_AUTH_STATUSES = {401, 403}
_RETRY_STATUSES = {429, 500, 502, 503, 504}


class RealtimeClient:
    """A real-time connection to one Levelstream server; see the module docstring."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        token_provider: TokenProvider | None = None,
        transport: Transport = "auto",
        reconnect: bool = True,
        backoff_initial: float = 0.1,
        backoff_max: float = 5.0,
        request_timeout: float = 30.0,
        refresh_margin: float = 30.0,
        headers: dict[str, str] | None = None,
    ) -> None:
        if token is None and token_provider is None:
            raise ValueError("give a token or a token_provider")
        self.base_url = base_url.rstrip("/")
        parts = urlsplit(self.base_url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        self.ws_url = urlunsplit((scheme, parts.netloc, parts.path + "/v1/ws", "", ""))
        self._token = token
        self._token_provider = token_provider
        self.transport: Literal["websocket", "sse"] = "sse" if transport == "sse" else "websocket"
        self._fallback_allowed = transport == "auto"
        self._reconnect = reconnect
        self._backoff = Backoff(backoff_initial, backoff_max)
        self._backoff_args = (backoff_initial, backoff_max)
        self.request_timeout = request_timeout
        self.refresh_margin = refresh_margin
        self._headers = dict(headers or {})
        self.client_id: str | None = None
        self._ids = itertools.count(1)
        self._ws: ClientConnection | None = None
        self._connected = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._streams: dict[str, Subscription | ChannelSubscription] = {}
        self._joined: dict[str, Any] = {}
        self._sync_lock = asyncio.Lock()
        self._fatal: BaseException | None = None
        self._closed = False
        self._http: httpx.AsyncClient | None = None
        self.connections = 0  # successful WebSocket handshakes, for the curious
        self._sse_open: set[str] = set()  # streams whose event stream is open (SSE fallback)
        self._told_connected = False
        self._connection_listeners: list[Callable[[bool], None]] = []
        self._background: set[asyncio.Task[None]] = set()
        # `connect()` was called: the link is kept (and judged) with nothing subscribed too;
        # on SSE with no stream open, whether the last `/healthz` check was answered.
        self._keep_up = False
        self._probe_ok = False
        self._probe: asyncio.Task[None] | None = None

    # --- lifecycle ---------------------------------------------------------------

    async def __aenter__(self) -> RealtimeClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the connection and end every subscription."""
        self._closed = True
        ws = self._ws
        if self._probe is not None:
            self._probe.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._probe
            self._probe = None
        for stream in list(self._streams.values()):
            await stream.close()
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._runner
            self._runner = None
        if ws is not None:
            with contextlib.suppress(Exception):
                await ws.close()
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    @property
    def connected(self) -> bool:
        """Whether the WebSocket is up and every subscription has been (re)made on it; on
        the SSE fallback, whether every subscription's event stream is open (with none,
        after `connect()`, whether `/healthz` last answered; else there is no connection to
        lose: True until the client is closed or has failed)."""
        if self.transport == "sse":
            alive = not self._closed and self._fatal is None
            if not self._streams:
                return alive and (self._probe_ok or not self._keep_up)
            return alive and all(sid in self._sse_open for sid in self._streams)
        return self._connected.is_set() and self._ws is not None

    def on_connection_change(self, listener: Callable[[bool], None]) -> Callable[[], None]:
        """Call `listener(connected)` on every connect and disconnect; returns an undo."""
        self._connection_listeners.append(listener)
        return lambda: self._connection_listeners.remove(listener)

    def _tell_connection(self, connected: bool) -> None:
        self._told_connected = connected
        for listener in list(self._connection_listeners):
            try:
                listener(connected)
            except Exception:  # a listener's bug must not take the connection down
                log.exception("connection listener failed")

    async def token(self) -> str:
        """A current token: a fresh one from the provider, if there is one."""
        if self._token_provider is not None:
            fresh = self._token_provider()
            self._token = await fresh if inspect.isawaitable(fresh) else fresh
        assert self._token is not None
        return self._token

    # --- subscriptions -----------------------------------------------------------------

    async def subscribe(
        self,
        collection: str,
        *,
        key: str | None = None,
        prefix: str | None = None,
        gt: str | None = None,
        gte: str | None = None,
        lt: str | None = None,
        lte: str | None = None,
        where: str | None = None,
        since: int | None = None,
        snapshot: bool = False,
        epoch: str | None = None,
    ) -> Subscription:
        """Changes in `collection` (`*` for all) matching at most one key filter.

        `where`: a CEL filter (docs/queries.md); the subscription then delivers what
        each change does to the matching set: a put with `match` `"enter"` or
        `"update"`, `op == "leave"` when a document stops matching, the delete of a
        matching one (`Change.kind` names it). A read rule filters the same way.

        `since`: every change after that seq, then live; `snapshot=True`: every
        matching document first (as `Change(snapshot=True)` items), then every
        change after the snapshot; neither: every change after the moment this
        returns. Returns once the server has the subscription (live: a write made
        after it returns is delivered), so `await` it before writing; iterate the
        result with `async for`. Raises the server's refusal (`ForbiddenError`, ...),
        or `TimeoutError` when no connection confirmed it within `request_timeout`.
        """
        given = {
            "key": key,
            "prefix": prefix,
            "gt": gt,
            "gte": gte,
            "lt": lt,
            "lte": lte,
            "where": where,
        }
        filters = {name: value for name, value in given.items() if value is not None}
        sub = Subscription(self, f"s{next(self._ids)}", collection, filters, since, snapshot, epoch)
        await sub._begin()
        return sub

    async def channel(self, channel: str) -> ChannelSubscription:
        """A channel's messages and presence events, as an async iterator; live on return."""
        stream = ChannelSubscription(self, f"c{next(self._ids)}", channel)
        await stream._begin()
        return stream

    async def publish(self, channel: str, data: Any) -> int:
        """Send an ephemeral message; returns how many subscribers got it."""
        if self.transport == "websocket":
            with contextlib.suppress(_FellBack):
                reply = await self.request("publish", channel=channel, data=data)
                return int(reply.get("delivered", 0))
        response = await self._rest("POST", f"/v1/channels/{quote(channel)}/messages", json=data)
        return int(response.json().get("delivered", 0))

    async def join(self, channel: str, state: Any = None) -> str:
        """Appear in a channel's presence with `state` (again after each reconnect)."""
        if self.transport != "websocket":
            raise NotImplementedError("presence join needs the WebSocket transport")
        reply = await self.request("join", channel=channel, state=state)
        self._joined[channel] = state
        self.client_id = reply.get("client_id", self.client_id)
        return str(self.client_id)

    async def leave(self, channel: str) -> None:
        self._joined.pop(channel, None)
        if self.transport == "websocket":
            await self.request("leave", channel=channel)

    async def presence(self, channel: str) -> list[Member]:
        """Who is joined to `channel` now."""
        items: list[dict[str, Any]] | None = None
        if self.transport == "websocket":
            with contextlib.suppress(_FellBack):
                items = (await self.request("presence", channel=channel)).get("items", [])
        if items is None:
            response = await self._rest("GET", f"/v1/channels/{quote(channel)}/presence")
            items = response.json().get("items", [])
        return [Member(m["client_id"], m.get("state"), m.get("joined_at", "")) for m in items]

    # --- ops over the WebSocket ------------------------------------------------------------

    async def request(self, op: str, **fields: Any) -> dict[str, Any]:
        """Send one op and return its reply; `ok: false` raises the typed exception."""
        if self.transport != "websocket":
            raise NotImplementedError(f"op {op!r} needs the WebSocket transport")
        ws = await self._wait_connected()
        return await self._send_op(ws, op, fields)

    async def get(self, collection: str, key: str) -> dict[str, Any]:
        result: dict[str, Any] = (await self.request("get", collection=collection, key=key))[
            "result"
        ]
        return result

    async def put(
        self, collection: str, key: str, value: Any, *, if_rev: int | None = None
    ) -> dict[str, Any]:
        fields: dict[str, Any] = {"collection": collection, "key": key, "value": value}
        if if_rev is not None:
            fields["if_rev"] = if_rev
        result: dict[str, Any] = (await self.request("put", **fields))["result"]
        return result

    async def ping(self) -> float:
        """Round-trip time in seconds."""
        started = time.monotonic()
        await self.request("ping")
        return time.monotonic() - started

    async def _send_op(
        self, ws: ClientConnection, op: str, fields: dict[str, Any]
    ) -> dict[str, Any]:
        request_id = f"r{next(self._ids)}"
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            await ws.send(json.dumps({"op": op, "id": request_id, **fields}))
            reply = await asyncio.wait_for(future, self.request_timeout)
        except ConnectionClosed as exc:
            raise ConnectionLostError(f"connection closed during {op!r}") from exc
        finally:
            self._pending.pop(request_id, None)
        if reply.get("type") == "reply" and not reply.get("ok"):
            raise error_from_problem(reply.get("error") or {})
        return reply

    async def _wait_connected(self) -> ClientConnection:
        self._ensure_running()
        deadline = time.monotonic() + self.request_timeout
        while True:
            if self._fatal is not None:
                raise self._fatal
            if self._closed:
                raise ConnectionLostError("the client is closed")
            if self.transport != "websocket":
                raise _FellBack("switched to Server-Sent Events")
            ws = self._ws
            if self._connected.is_set() and ws is not None:
                return ws
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("not connected to the server")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._connected.wait(), min(remaining, 0.5))

    # --- the connection loop --------------------------------------------------------

    def connect(self) -> None:
        """Keep the connection up while the client is open, with nothing subscribed too, so
        that `connected` (and the connection listeners) say whether the server is reachable
        at any time: the WebSocket reconnects as it does for subscriptions; on SSE, which has
        no connection without a stream, `/healthz` is asked every `backoff_max` seconds
        while no stream is open."""
        self._keep_up = True
        self._ensure_running()
        self._start_probe()

    def _start_probe(self) -> None:
        if self._keep_up and not self._closed and self.transport == "sse" and self._probe is None:
            self._probe = asyncio.create_task(self._probe_loop(), name="levelstream-sse-probe")

    async def _probe_loop(self) -> None:
        while not self._closed:
            if not self._streams:
                try:
                    response = await self._client().get("/healthz", timeout=self._backoff_args[1])
                    self._probe_ok = response.is_success
                except httpx.HTTPError:
                    self._probe_ok = False
                self._sse_changed()
            await asyncio.sleep(self._backoff_args[1])

    def _ensure_running(self) -> None:
        if self._runner is None and not self._closed and self.transport == "websocket":
            self._runner = asyncio.create_task(self._run(), name="levelstream-ws")

    async def _run(self) -> None:
        try:
            while not self._closed:
                if not await self._connect_once():
                    return
                if not self._reconnect:
                    self._set_fatal(ConnectionLostError("connection closed"))
                    return
                await self._backoff.sleep()
        except Exception as exc:  # a bug here must not hang every consumer
            log.exception("levelstream connection loop failed")
            self._set_fatal(exc)

    async def _connect_once(self) -> bool:
        """One connection's life; False when the client must stop reconnecting."""
        try:
            token = await self.token()
            ws = await ws_connect(
                self.ws_url,
                additional_headers={**self._headers, "Authorization": f"Bearer {token}"},
                open_timeout=10,
                max_size=None,  # the server bounds its frames (snapshot pages)
            )
        except InvalidStatus as exc:
            status = exc.response.status_code
            if status in _AUTH_STATUSES:
                if status == 401 and self._token_provider is not None:
                    return True  # a fresh token on the next try
                cls = UnauthorizedError if status == 401 else ForbiddenError
                self._set_fatal(cls("the server refused the WebSocket handshake", status=status))
                return False
            if status in _RETRY_STATUSES:
                return True
            return self._fall_back(f"WebSocket handshake answered {status}")
        except InvalidHandshake as exc:
            if process_exception(exc) is None:
                # The connection dropped mid-handshake (websockets' own rule: an
                # InvalidMessage from an EOF): a network error, not a missing endpoint.
                log.debug("handshake cut: %s", exc)
                return True
            return self._fall_back(f"no WebSocket endpoint: {exc}")
        except (OSError, TimeoutError) as exc:
            log.debug("connect failed: %s", exc)
            return True
        self._ws = ws
        self.connections += 1
        self._backoff.reset()
        for stream in self._streams.values():
            if isinstance(stream, Subscription) and stream.snapshot_pending:
                stream._restart_snapshot()
        reader = asyncio.create_task(self._read(ws), name="levelstream-ws-read")
        setup = asyncio.create_task(self._on_open(ws), name="levelstream-ws-setup")
        refresher = asyncio.create_task(self._refresh_tokens(ws), name="levelstream-ws-auth")
        try:
            await reader
        finally:
            for task in (setup, refresher):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            self._ws = None
            if self._connected.is_set():
                self._connected.clear()
                self._tell_connection(False)
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(ConnectionLostError("connection closed"))
        code = ws.close_code
        log.debug("connection closed with %s", code)
        if self._closed:
            return False
        # Reconnecting cannot help after these (4001 can, with a fresh token).
        if code == 4003 or (code == 4001 and self._token_provider is None):
            self._set_fatal(error_from_close(code, ws.close_reason))
            return False
        return True

    def _sse_changed(self) -> None:
        """On the SSE fallback, tell listeners when `connected` changes."""
        if self.transport == "sse" and self.connected != self._told_connected:
            self._tell_connection(self.connected)

    def _fall_back(self, why: str) -> bool:
        if not self._fallback_allowed:
            self._set_fatal(ConnectionError(why))
            return False
        log.info("falling back to Server-Sent Events: %s", why)
        self.transport = "sse"
        self._runner = None
        for stream in list(self._streams.values()):
            stream._bound = None
            stream._task = asyncio.create_task(self._sse_loop(stream))
        self._connected.set()  # wake waiters: they see the new transport
        self._sse_changed()
        self._start_probe()
        return False

    def _set_fatal(self, error: BaseException) -> None:
        self._fatal = error
        for future in self._pending.values():
            if not future.done():
                future.set_exception(error)
        for stream in list(self._streams.values()):
            stream._fail(error)
        self._connected.set()  # wake waiters: they see _fatal

    async def _on_open(self, ws: ClientConnection) -> None:
        try:
            for channel, state in list(self._joined.items()):
                reply = await self._send_op(ws, "join", {"channel": channel, "state": state})
                self.client_id = reply.get("client_id", self.client_id)
            await self._sync_streams(ws)
        except (ConnectionLostError, ConnectionClosed, TimeoutError):
            return
        self._connected.set()
        self._tell_connection(True)

    async def _sync_streams(self, ws: ClientConnection) -> None:
        """(Re)subscribe every stream not yet subscribed on this connection."""
        async with self._sync_lock:
            for stream in list(self._streams.values()):
                if stream._bound is ws or stream._ended:
                    continue
                try:
                    reply = await self._send_op(ws, "subscribe", stream.frame())
                except LevelstreamError as exc:
                    stream._fail(exc)
                    continue
                stream._bound = ws
                stream._subscribed(reply)
                stream._live.set()

    async def _read(self, ws: ClientConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for raw in ws:
                try:
                    frame = json.loads(raw)
                except ValueError:
                    continue
                if isinstance(frame, dict):
                    self._dispatch(frame)

    def _dispatch(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind in ("reply", "pong"):
            future = self._pending.get(str(frame.get("id")))
            if future is not None and not future.done():
                future.set_result(frame)
            elif kind == "reply" and frame.get("client_id"):
                self.client_id = frame["client_id"]
            return
        if kind == "presence":
            event = PresenceEvent(
                frame["channel"], frame["action"], frame["client_id"], frame.get("state")
            )
            for stream in self._streams.values():
                if isinstance(stream, ChannelSubscription) and stream.channel == event.channel:
                    stream._push(event)
            return
        target = self._streams.get(str(frame.get("sub")))
        if target is None:
            return
        if isinstance(target, ChannelSubscription):
            if kind == "message":
                target._push(Message(frame["channel"], frame.get("data"), frame.get("from")))
            return
        if kind == "change":
            target._on_change(frame["change"])
        elif kind == "snapshot":
            target._on_snapshot(frame.get("items", []), int(frame["seq"]), bool(frame["done"]))
        elif kind == "reset":
            target._on_reset(frame.get("oldest_seq"), frame.get("reason"))
        elif kind == "error":
            target._fail(error_from_problem(frame.get("error") or {}))

    async def _refresh_tokens(self, ws: ClientConnection) -> None:
        """Re-authenticate with a fresh token shortly before the current JWT expires."""
        if self._token_provider is None:
            return
        previous: float | None = None
        while True:
            expiry = jwt_expiry(self._token or "")
            if expiry is None or expiry == previous:
                return  # not a JWT, or the provider gave no newer one: 4001 will tell
            previous = expiry
            remaining = expiry - time.time()
            await asyncio.sleep(max(remaining - min(self.refresh_margin, remaining / 2), 0.05))
            try:
                await self._send_op(ws, "auth", {"token": await self.token()})
            except LevelstreamError as exc:
                log.warning("token refresh refused (%s): reconnecting", exc.code)
                await ws.close(4001, "token refresh refused")
                return

    # --- streams ----------------------------------------------------------------------

    async def _start_stream(self, stream: Subscription | ChannelSubscription) -> None:
        """Register `stream` and return once the server has it (or raise why not)."""
        if self._fatal is not None:
            raise self._fatal
        self._streams[stream.id] = stream
        try:
            async with asyncio.timeout(self.request_timeout):
                if self.transport == "sse":
                    stream._task = asyncio.create_task(self._sse_loop(stream))
                else:
                    with contextlib.suppress(ConnectionLostError, _FellBack):
                        # else: subscribed by the next connection's setup, or the SSE fallback
                        await self._sync_streams(await self._wait_connected())
                await stream._live.wait()  # set on the subscribe reply, or on failure
        except TimeoutError:
            await stream.close()
            raise TimeoutError(
                f"the server did not confirm the subscription within {self.request_timeout} s"
            ) from None
        if stream._ended and stream._error is not None and not stream._items:
            raise stream._error

    def _forget(self, stream: _Stream) -> None:
        sub_id = getattr(stream, "id", None)
        if self._streams.get(str(sub_id)) is stream:
            del self._streams[str(sub_id)]
            ws = self._ws
            bound = getattr(stream, "_bound", None)
            if ws is not None and bound is not None and bound is ws and not self._closed:
                frame = json.dumps({"op": "unsubscribe", "id": None, "sub": sub_id})
                task = asyncio.get_running_loop().create_task(self._send_quietly(ws, frame))
                self._background.add(task)
                task.add_done_callback(self._background.discard)
        self._sse_changed()

    @staticmethod
    async def _send_quietly(ws: ClientConnection, frame: str) -> None:
        with contextlib.suppress(ConnectionClosed):
            await ws.send(frame)

    async def _resync(self, sub: Subscription) -> None:
        """The consumer fell too far behind: drop the subscription and resume from the log."""
        sub._overflowed = False
        if self.transport == "sse":
            if sub._task is not None:
                sub._task.cancel()
            sub._task = asyncio.create_task(self._sse_loop(sub))
            return
        ws = self._ws
        if ws is not None and sub._bound is ws:
            with contextlib.suppress(LevelstreamError, ConnectionLostError, TimeoutError):
                await self._send_op(ws, "unsubscribe", {"sub": sub.id})
            sub._bound = None
            with contextlib.suppress(ConnectionLostError, ConnectionClosed, TimeoutError):
                await self._sync_streams(ws)

    # --- Server-Sent Events fallback ------------------------------------------------------

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(
                base_url=self.base_url,
                headers=self._headers,
                timeout=httpx.Timeout(30.0, read=60.0),
            )
        return self._http

    async def _rest(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {await self.token()}"}
        response = await self._client().request(method, path, headers=headers, **kwargs)
        if response.status_code >= 400:
            raise error_from_response(response)
        return response

    async def _sse_loop(self, stream: Subscription | ChannelSubscription) -> None:
        backoff = Backoff(*self._backoff_args)
        while not stream._ended and not self._closed:
            params: dict[str, Any] = {}
            headers = {"Accept": "text/event-stream"}
            if isinstance(stream, Subscription):
                params = {"collection": stream.collection, **stream.filters}
                if stream.snapshot_pending:
                    stream._restart_snapshot()
                    params["snapshot"] = "true"
                elif stream.last_seq is not None:
                    headers["Last-Event-ID"] = str(stream.last_seq)
                if stream.epoch is not None:
                    params["epoch"] = stream.epoch
            else:
                params = {"channel": stream.channel}
            headers["Authorization"] = f"Bearer {await self.token()}"
            try:
                async with aconnect_sse(
                    self._client(), "GET", "/v1/stream", params=params, headers=headers
                ) as source:
                    response = source.response
                    if response.status_code >= 400:
                        await response.aread()
                        error = error_from_response(response)
                        retry = response.status_code in _RETRY_STATUSES or (
                            response.status_code == 401 and self._token_provider is not None
                        )
                        if not retry:
                            stream._fail(error)
                            return
                    else:
                        backoff.reset()
                        stream._live.set()  # the server registers it before it answers
                        self._sse_open.add(stream.id)
                        self._probe_ok = True  # the server answered (what a check would say)
                        self._sse_changed()
                        if await self._read_sse(stream, source.aiter_sse()):
                            return
            except (httpx.TransportError, httpx.StreamError) as exc:
                log.debug("stream dropped: %s", exc)
            finally:
                self._sse_open.discard(stream.id)
                self._sse_changed()
            if not self._reconnect:
                stream._fail(ConnectionLostError("stream closed"))
                return
            await backoff.sleep()

    async def _read_sse(self, stream: _Stream, events: AsyncIterator[Any]) -> bool:
        """Feed one SSE response to `stream`; True when the stream has ended for good."""
        async for event in events:
            try:
                data = json.loads(event.data) if event.data else None
            except ValueError:
                continue
            if isinstance(stream, ChannelSubscription):
                if event.event == "message" and isinstance(data, dict):
                    stream._push(Message(data["channel"], data.get("data"), data.get("from")))
                elif event.event == "presence" and isinstance(data, dict):
                    stream._push(
                        PresenceEvent(
                            data["channel"], data["action"], data["client_id"], data.get("state")
                        )
                    )
                continue
            assert isinstance(stream, Subscription)
            if event.event == "change" and isinstance(data, dict):
                stream._on_change(data)
            elif event.event == "snapshot" and isinstance(data, dict):
                stream._on_snapshot(data.get("items", []), int(data["seq"]), bool(data["done"]))
            elif event.event == "reset":
                fields = data if isinstance(data, dict) else {}
                stream._on_reset(fields.get("oldest_seq"), fields.get("reason"))
                return True
            elif event.event == "error":
                stream._fail(error_from_problem(data if isinstance(data, dict) else {}))
                return True
        return False
