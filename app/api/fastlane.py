"""The fast lane: single-document GET/PUT/PATCH/DELETE served without FastAPI's
routing and dependency injection.

These are the hottest routes, and FastAPI's per-request dependency solving
costs several times what the store does. This pure-ASGI layer recognises
`/v1/collections/{collection}/docs/{key}`, extracts the same parameters the
FastAPI routes declare, authenticates through the same function, and calls
the same operations (`doc_ops`). Everything else, including these routes'
OpenAPI description, stays with FastAPI. The end-to-end suite exercises this
path, since it is the one a real server takes.
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from app.api import doc_ops
from app.api.deps import authenticate
from app.api.problems import error_response
from app.api.ws import websocket_endpoint
from app.auth.authenticator import token_from_headers
from app.errors import LevelstreamError, ValidationFailed

PREFIX = "/v1/collections/"
WS_PATH = "/v1/ws"
ROUTE_PATH = "/v1/collections/{collection}/docs/{key:path}"
_METHODS = frozenset({"GET", "PUT", "PATCH", "DELETE"})


class _Route:
    """What the metrics middleware reads from `scope["route"]`."""

    path = ROUTE_PATH


_ROUTE = _Route()


def split_doc_path(path: str) -> tuple[str, str] | None:
    """`/v1/collections/{collection}/docs/{key}` → (collection, key), else None."""
    if not path.startswith(PREFIX):
        return None
    collection, sep, rest = path[len(PREFIX) :].partition("/docs/")
    if not sep or not collection or "/" in collection or not rest:
        return None
    return collection, rest


def _ttl(query: bytes) -> float | None:
    if not query:
        return None
    values = [v for k, v in parse_qsl(query.decode("latin-1")) if k == "ttl_s"]
    if not values:
        return None
    try:
        ttl = float(values[-1])
    except ValueError:
        ttl = math.nan
    if not 0 < ttl <= doc_ops.MAX_TTL_S:  # also refuses nan
        raise ValidationFailed(
            f"invalid query.ttl_s: a number of seconds > 0 and <= {doc_ops.MAX_TTL_S}",
            errors=[{"loc": ["query", "ttl_s"], "msg": "out of range", "type": "value_error"}],
        )
    return ttl


class FastLane:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and scope["path"] == WS_PATH:
            # Straight to the endpoint: every idle socket keeps this call stack alive,
            # and FastAPI's routing layers would add about 10 KiB to each.
            await websocket_endpoint(WebSocket(scope, receive, send))
            return
        if scope["type"] != "http" or scope["method"] not in _METHODS:
            await self.app(scope, receive, send)
            return
        parts = split_doc_path(scope["path"])
        if parts is None:
            await self.app(scope, receive, send)
            return
        scope["route"] = _ROUTE
        request = Request(scope, receive)
        try:
            response = await self._handle(request, scope["method"], *parts)
        except LevelstreamError as exc:
            response = error_response(exc, scope.get("state", {}).get("request_id"))
        await response(scope, receive, send)

    async def _handle(self, request: Request, method: str, collection: str, key: str) -> Response:
        state: Any = request.app.state
        headers = request.headers
        principal = authenticate(
            request,
            token_from_headers(headers.get("authorization"), headers.get("x-api-key")),
            stream=False,
        )
        store = state.store
        if method == "GET":
            return await doc_ops.get_doc(
                store, principal, collection, key, headers.get("if-none-match")
            )
        if method == "DELETE":
            return await doc_ops.delete_doc(
                store, principal, collection, key, headers.get("if-match")
            )
        ttl_s = _ttl(request.scope["query_string"])
        body = await request.body()
        if method == "PUT":
            return await doc_ops.put_doc(
                store,
                state.settings,
                principal,
                collection,
                key,
                body,
                ttl_s,
                headers.get("if-match"),
                headers.get("if-none-match"),
            )
        return await doc_ops.patch_doc(
            store, state.settings, principal, collection, key, body, ttl_s, headers.get("if-match")
        )
