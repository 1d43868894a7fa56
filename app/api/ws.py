"""`/v1/ws`: the WebSocket transport (handshake checks, receive loop, frames out).

On our server, frames go straight to the socket (`DirectOutbox`, through the
protocol's write extension): the hub writes each committed group to every
subscriber with no task per connection, and a task is made only to send the
close frame. Elsewhere (a server without the extension) a sender task per
connection waits for frames. Idle connections are most of them, so what one
keeps alive while it waits is kept small: the handshake's locals, parsed
query and last message are let go.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any
from urllib.parse import parse_qsl

import orjson
from fastapi import APIRouter, WebSocket
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocketDisconnect, WebSocketState

from app.api.bodies import parse_json
from app.api.services import services_of
from app.api.ws_ops import TooManySubscriptions, WsSession
from app.asgi_extensions import SEND_MANY, DirectWrites
from app.auth.authenticator import token_from_headers
from app.auth.gate import Entry, Gate, Slot, close_frame
from app.auth.principal import Principal
from app.errors import (
    BadRequest,
    Forbidden,
    LevelstreamError,
    RateLimited,
    Unauthorized,
    Unavailable,
)
from app.realtime.connection import Connection
from app.realtime.outbox import DirectOutbox

log = logging.getLogger("levelstream.ws")
router = APIRouter()

AUTH_TIMEOUT_S = 5.0


def _query_credential(scope: Scope) -> str | None:
    """The last `ticket` in the query, else the last `token` (one parse: Starlette's
    `query_params` would keep a parsed copy of the query for the connection's life)."""
    query: bytes = scope.get("query_string", b"")
    if not query:
        return None
    found: dict[str, str] = {}
    if b"%" in query or b"+" in query:  # escapes to decode: as `parse_qsl` has it
        for key, item in parse_qsl(query.decode("latin-1")):
            if key == "ticket" or key == "token":
                found[key] = item
    else:  # the common case (`?token=<key>`): what `parse_qsl` would find, split directly
        for field in query.split(b"&"):
            name, _, value = field.partition(b"=")
            if value and (name == b"ticket" or name == b"token"):
                found[name.decode()] = value.decode("latin-1")
    return found.get("ticket") or found.get("token")


# The handshake's headers the gate reads (Starlette's `headers` would keep a parsed copy
# for the connection's life): read from the scope in one pass.
_GATE_HEADERS = frozenset((b"host", b"origin", b"authorization", b"x-api-key"))


def _gate_headers(scope: Scope) -> dict[bytes, str]:
    """The first value of each of `_GATE_HEADERS` the handshake has."""
    found: dict[bytes, str] = {}
    for key, value in scope["headers"]:
        if key in _GATE_HEADERS and key not in found:
            found[key] = value.decode("latin-1")
    return found


def entry_of(scope: Scope, headers: dict[bytes, str], token: str | None) -> Entry:
    """The handshake as the gate sees it."""
    scheme = "https" if scope.get("scheme") == "wss" else "http"
    return Entry(
        "ws",
        token,
        scope.get("state", {}).get("client_ip"),
        headers.get(b"origin"),
        own_origin=f"{scheme}://{headers.get(b'host', '')}",
    )


async def _first_frame_auth(websocket: WebSocket, gate: Gate, entry: Entry) -> Principal:
    # receive(), not receive_text(): a binary first frame must be refused (4001), not
    # crash the endpoint with a KeyError.
    message = await asyncio.wait_for(websocket.receive(), AUTH_TIMEOUT_S)
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))
    text = message.get("text")
    data = text.encode("utf-8") if text is not None else message.get("bytes") or b""
    frame = parse_json(data, 8, "the auth frame")
    if not isinstance(frame, dict) or frame.get("op") != "auth":
        raise Unauthorized("the first frame must be {op: auth, token}")
    token = frame.get("token")
    principal = await gate.admit(entry._replace(token=token if isinstance(token, str) else None))
    # Echo the frame's id in the reply, as for every other op.
    frame_id = frame.get("id")
    if isinstance(frame_id, str | int | float) and not isinstance(frame_id, bool):
        websocket.scope["state"]["auth_frame_id"] = frame_id
    return principal


@router.websocket("/v1/ws")
async def websocket_endpoint(websocket: WebSocket) -> None:
    """The route, for a stack without the front door (which serves `/v1/ws` itself)."""
    await websocket_session(websocket.scope, websocket.receive, websocket.send)


async def websocket_session(scope: Scope, receive: Receive, send: Send) -> None:
    """`/v1/ws` as an ASGI app: what the front door runs for every socket.

    The handshake is a coroutine of its own, so that what it needed is not kept for
    the connection's life; the rest runs in this one frame, for the same reason, and
    waits on the server's `receive` itself (no Starlette frame above it per socket).
    """
    websocket = WebSocket(scope, receive, send)
    opened = await _open(websocket)
    if opened is None:
        return
    # The handshake's headers were read (gate, Origin, credential); the access log and
    # the session need none of them again: let them go rather than keep them per socket.
    scope["headers"] = ()
    session, closer, slot = opened
    del opened  # the tuple, kept by this frame for the connection's life otherwise
    connection = session.connection
    sender = None
    if closer is None:
        sender = asyncio.create_task(_send_loop(websocket, connection))
    max_depth = session.settings.max_json_depth
    try:
        while connection.close_code is None:
            # The message lives in `_on_message`'s frame only: an idle connection keeps none.
            if not await _on_message(session, await receive(), max_depth):
                break
    finally:
        session.hub.disconnect(connection)
        session.bus.disconnect(connection)
        slot.release()
        if closer is not None:
            closer.disarm()  # a close not yet under way is sent from here, with no task
        connection.outbox.close()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(2):
                if sender is not None:
                    await sender
                elif closer is not None and closer.task is not None:
                    await closer.task
                else:
                    await _send_close(websocket, connection)


async def _open(websocket: WebSocket) -> tuple[WsSession, _Closer | None, Slot] | None:
    """Admission (the gate), accept, a connection slot; the session, or None once refused."""
    services = services_of(websocket.app)
    settings, hub, gate = services.settings, services.hub, services.gate
    headers = _gate_headers(websocket.scope)
    token = _query_credential(websocket.scope) or token_from_headers(
        headers.get(b"authorization"), headers.get(b"x-api-key")
    )
    entry = entry_of(websocket.scope, headers, token)
    principal: Principal | None = None
    refusal: LevelstreamError | None = None
    try:
        if token:
            principal = await gate.admit(entry)
        else:
            await gate.screen(entry)  # the `auth` frame is admitted once it comes
    except Forbidden:
        # The Origin, or the credential's own Origin or IP rules: refuse the handshake
        # itself (before accept: an HTTP 403).
        websocket.scope["state"]["auth_error"] = "forbidden"
        await websocket.close(code=1008)
        return None
    except LevelstreamError as exc:
        refusal = exc  # answered with a close code, which needs an accepted socket
    await websocket.accept()
    if services.draining:
        await websocket.close(1001, "server shutting down")
        return None
    try:
        if refusal is not None:
            raise refusal
        if principal is None:
            principal = await _first_frame_auth(websocket, gate, entry)
        slot = gate.open_connection(principal, entry.client_ip, "ws")
    except WebSocketDisconnect:
        return None
    except (LevelstreamError, TimeoutError, ValueError) as exc:
        if isinstance(exc, TimeoutError):
            exc = Unauthorized(
                f"no credential: send {{op: auth, token}} within {AUTH_TIMEOUT_S:g} s"
            )
        elif not isinstance(exc, Unauthorized | Forbidden | RateLimited | Unavailable):
            exc = Unauthorized("the auth frame is not valid")  # malformed
        websocket.scope["state"]["auth_error"] = exc.code
        await websocket.close(*close_frame(exc))
        return None
    websocket.scope["state"]["principal_id"] = principal.log_id
    # Our server's protocol offers a synchronous write to the socket (app/server/ws_protocol.py).
    direct: DirectWrites | None = (websocket.scope.get("extensions") or {}).get(SEND_MANY)
    limit = settings.ws_queue_limit
    outbox = None
    if direct is not None:
        outbox = DirectOutbox(limit, direct.write_frames, hub.flusher, direct.write_frame)
    connection = Connection(principal, "ws", limit, outbox)
    closer = None
    if outbox is not None:
        closer = outbox.on_close = _Closer(websocket, connection)
    session = WsSession(
        connection,
        store=services.store,
        hub=hub,
        bus=services.bus,
        gate=gate,
        rules=services.rules,
        # The handshake's entry without its token (`_replace`, spelled out: cheaper).
        entry=Entry(entry.transport, None, entry.client_ip, entry.origin, entry.own_origin),
        settings=settings,
        max_subscriptions=settings.ws_max_subscriptions,
        in_flight=services.in_flight,
    )
    hub.connect(connection)
    if not token:
        auth_id = websocket.scope["state"].get("auth_frame_id")
        connection.outbox.push(
            orjson.dumps(
                {"type": "reply", "id": auth_id, "ok": True, "client_id": connection.client_id}
            ).decode()
        )
    return session, closer, slot


async def _on_message(session: WsSession, message: Any, max_depth: int) -> bool:
    """Handle one client message; False once the connection is done."""
    if message["type"] == "websocket.disconnect":
        return False
    connection = session.connection
    raw: Any = message.get("text")
    data = raw.encode("utf-8") if raw is not None else message.get("bytes") or b""
    try:
        frame = parse_json(data, max_depth, "the frame")
        if not isinstance(frame, dict):
            raise BadRequest("a frame must be a JSON object")
    except LevelstreamError as exc:
        error = {"code": exc.code, "message": exc.detail}
        refusal = {"type": "reply", "id": None, "ok": False, "error": error}
        connection.outbox.push(orjson.dumps(refusal).decode())
        return True
    try:
        reply = await session.handle(frame)
    except TooManySubscriptions:
        connection.request_close(4009, "too many subscriptions")
        return False
    if not connection.outbox.push(reply) and connection.close_code is None:
        connection.request_close(4008, connection.resume_hint)
    return True


class _Closer:
    """Called when a direct outbox closes: a task then sends the close frame through
    the ASGI `send` (so middleware records the code). Made only then, not per
    connection up front."""

    __slots__ = ("connection", "task", "websocket")

    def __init__(self, websocket: WebSocket, connection: Connection) -> None:
        self.websocket: WebSocket | None = websocket
        self.connection = connection
        self.task: asyncio.Task[None] | None = None

    def __call__(self) -> None:
        websocket = self.websocket
        if websocket is not None and self.task is None:
            self.task = asyncio.get_running_loop().create_task(
                _send_close(websocket, self.connection)
            )

    def disarm(self) -> None:
        self.websocket = None


async def _send_loop(websocket: WebSocket, connection: Connection) -> None:
    """The sender of a server without the write extension: one frame at a time."""
    outbox = connection.outbox
    try:
        while True:
            frames = await outbox.take()
            if not frames:
                break
            for frame in frames:  # text messages, some as UTF-8 bytes
                await websocket.send_text(frame if isinstance(frame, str) else frame.decode())
    except (WebSocketDisconnect, RuntimeError, OSError):
        return
    await _send_close(websocket, connection)


async def _send_close(websocket: WebSocket, connection: Connection) -> None:
    code = connection.close_code
    if code is None:
        code = 4008 if connection.outbox.overflowed else 1000
    if websocket.application_state == WebSocketState.CONNECTED:
        with contextlib.suppress(Exception):
            await websocket.close(code, connection.close_reason[:120])
