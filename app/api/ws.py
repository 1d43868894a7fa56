"""`/v1/ws`: the WebSocket transport (handshake checks, receive loop, sender task)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import orjson
from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect, WebSocketState

from app.api.bodies import parse_json
from app.api.ws_ops import TooManySubscriptions, WsSession
from app.auth.authenticator import Authenticator, Caller, token_from_headers
from app.auth.principal import Principal
from app.errors import BadRequest, Forbidden, LevelstreamError, Unauthorized
from app.realtime.connection import Connection
from app.realtime.hub import Hub
from app.server_ext import SEND_MANY

log = logging.getLogger("levelstream.ws")
router = APIRouter()

AUTH_TIMEOUT_S = 5.0


def origin_allowed(websocket: WebSocket, allowed: set[str]) -> bool:
    """No Origin (a non-browser client), the same origin, or a configured one.

    CORS does not apply to WebSockets, so this is the only thing that stops a
    page on another site from opening a socket with a user's credential.
    """
    origin = websocket.headers.get("origin")
    if origin is None:
        return True
    host = websocket.headers.get("host", "")
    scheme = "https" if websocket.url.scheme == "wss" else "http"
    return origin == f"{scheme}://{host}" or origin.lower() in allowed


def caller_of(websocket: WebSocket) -> Caller:
    return Caller(
        client_ip=websocket.scope.get("state", {}).get("client_ip"),
        origin=websocket.headers.get("origin"),
        stream=True,
    )


async def _first_frame_auth(websocket: WebSocket, authenticator: Authenticator) -> Principal:
    # receive(), not receive_text(): a binary first frame must be refused (4001), not
    # crash the endpoint with a KeyError.
    message = await asyncio.wait_for(websocket.receive(), AUTH_TIMEOUT_S)
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))
    text = message.get("text")
    data = text.encode("utf-8") if text is not None else message.get("bytes") or b""
    frame = parse_json(data, 8, "the auth frame")
    if not isinstance(frame, dict) or frame.get("op") != "auth":
        raise BadRequest("the first frame must be {op: auth, token}")
    token = frame.get("token")
    principal = authenticator.authenticate(
        token if isinstance(token, str) else None, caller_of(websocket)
    )
    # Echo the frame's id in the reply, as for every other op.
    frame_id = frame.get("id")
    if isinstance(frame_id, str | int | float) and not isinstance(frame_id, bool):
        websocket.scope["state"]["auth_frame_id"] = frame_id
    return principal


@router.websocket("/v1/ws")
async def websocket_endpoint(websocket: WebSocket) -> None:
    state = websocket.app.state
    settings = state.settings
    hub: Hub = state.hub
    authenticator: Authenticator = state.authenticator
    allowed = set(settings.allowed_origin_list) | state.keys.all_origins()
    if not origin_allowed(websocket, allowed):
        log.warning("websocket refused: origin not allowed")
        websocket.scope["state"]["auth_error"] = "forbidden_origin"
        await websocket.close(code=1008)  # before accept: the handshake gets a 403
        return
    token = (
        websocket.query_params.get("ticket")
        or websocket.query_params.get("token")
        or token_from_headers(
            websocket.headers.get("authorization"), websocket.headers.get("x-api-key")
        )
    )
    principal: Principal | None = None
    if token:
        try:
            principal = authenticator.authenticate(token, caller_of(websocket))
        except Forbidden:
            # The key's own Origin or IP rules: refuse the handshake itself.
            websocket.scope["state"]["auth_error"] = "forbidden"
            await websocket.close(code=1008)
            return
        except LevelstreamError:
            principal = None
    await websocket.accept()
    if state.draining:
        await websocket.close(1001, "server shutting down")
        return
    if len(hub.connections) >= settings.ws_max_connections:
        await websocket.close(4009, "too many connections")
        return
    if principal is None:
        try:
            if token:
                raise Unauthorized("invalid credential")
            principal = await _first_frame_auth(websocket, authenticator)
        except Forbidden:
            websocket.scope["state"]["auth_error"] = "forbidden"
            await websocket.close(4003, "forbidden")
            return
        except (LevelstreamError, TimeoutError, ValueError):
            websocket.scope["state"]["auth_error"] = "unauthorized"
            await websocket.close(4001, "unauthorized")
            return
        except WebSocketDisconnect:
            return
    websocket.scope["state"]["principal_id"] = principal.log_id
    connection = Connection(principal, "ws", settings.ws_queue_limit)
    session = WsSession(
        connection,
        store=state.store,
        hub=hub,
        bus=state.bus,
        authenticator=authenticator,
        caller=caller_of(websocket),
        limiter=state.rate_limiter,
        settings=settings,
        max_subscriptions=settings.ws_max_subscriptions,
    )
    hub.connect(connection)
    if not token:
        auth_id = websocket.scope["state"].get("auth_frame_id")
        connection.outbox.push(
            orjson.dumps(
                {"type": "reply", "id": auth_id, "ok": True, "client_id": connection.client_id}
            ).decode()
        )
    sender = asyncio.create_task(_send_loop(websocket, connection))
    try:
        await _receive_loop(websocket, session, settings.max_json_depth)
    finally:
        hub.disconnect(connection)
        state.bus.disconnect(connection)
        connection.outbox.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(sender, 2)


async def _receive_loop(websocket: WebSocket, session: WsSession, max_depth: int) -> None:
    connection = session.connection
    while connection.close_code is None:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
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
            continue
        try:
            reply = await session.handle(frame)
        except TooManySubscriptions:
            connection.request_close(4009, "too many subscriptions")
            return
        if not connection.outbox.push(reply) and connection.close_code is None:
            connection.request_close(4008, connection.resume_hint)


async def _send_loop(websocket: WebSocket, connection: Connection) -> None:
    outbox = connection.outbox
    # Our uvicorn protocol offers an ASGI extension to send many text frames in one
    # write; Starlette's WebSocket only passes the standard messages, so the
    # connection's own ASGI `send` is used for it.
    batched = SEND_MANY in websocket.scope.get("extensions", {})
    raw_send = websocket._send
    try:
        while True:
            frames = await outbox.take()
            if not frames:
                break
            if batched:
                # One socket write for everything queued (see app/server.py).
                texts = [f if isinstance(f, str) else f.decode() for f in frames]
                await raw_send({"type": SEND_MANY, "texts": texts})
                continue
            for frame in frames:
                if isinstance(frame, str):
                    await websocket.send_text(frame)
                else:
                    await websocket.send_bytes(frame)
    except (WebSocketDisconnect, RuntimeError, OSError):
        return
    code = connection.close_code
    if code is None:
        code = 4008 if outbox.overflowed else 1000
    if websocket.application_state == WebSocketState.CONNECTED:
        with contextlib.suppress(Exception):
            await websocket.close(code, connection.close_reason[:120])
