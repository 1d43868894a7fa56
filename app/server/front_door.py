"""The fast lane: single-document GET/PUT/PATCH/DELETE, range reads and SSE
streams served without FastAPI's routing and dependency injection.

These are the hottest routes (and `/v1/stream` the one whose every idle
connection keeps its call stack alive), and FastAPI's per-request dependency
solving costs several times what the store does. This pure-ASGI layer
recognises `/v1/collections/{collection}/docs/{key}`, `GET .../{collection}/docs`
and `GET /v1/stream`, extracts the same parameters the FastAPI routes declare,
is admitted by the same gate (`app/auth/gate.py`), and calls the same operations
(`doc_ops`, `stream.open_stream`). Everything else, including these routes'
OpenAPI description, stays with FastAPI; so does a request whose query this
lane does not plainly understand (a malformed `limit`, a boolean spelled
`yes`), so that FastAPI's own validation answers it. The end-to-end suite
exercises this path, since it is the one a real server takes.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, NamedTuple
from urllib.parse import parse_qsl

from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from app.api import doc_ops, stream
from app.api.bodies import MAX_TTL_S
from app.api.deps import admit_scope
from app.api.problems import error_response
from app.api.services import Services, services_of
from app.api.sse import EventStream
from app.api.ws import websocket_endpoint
from app.auth.authenticator import token_from_headers
from app.auth.principal import Principal
from app.errors import LevelstreamError, ValidationFailed
from app.server.context import BodyTooLarge, RequestContext, send_problem

log = logging.getLogger("levelstream.api")

PREFIX = "/v1/collections/"
WS_PATH = "/v1/ws"
ROUTE_PATH = "/v1/collections/{collection}/docs/{key:path}"
_METHODS = frozenset({"GET", "PUT", "PATCH", "DELETE"})
RANGE_ROUTE_PATH = "/v1/collections/{collection}/docs"
_RANGE_STRINGS = frozenset({"gt", "gte", "lt", "lte", "prefix", "cursor"})
_LIMIT_RE = re.compile(r"[1-9][0-9]{0,3}")
MAX_CURSOR = 2048  # as `documents.list_documents` declares
# What Starlette's CORS middleware adds to a response to a request without an Origin.
_VARY_ORIGIN = (b"vary", b"Origin")


class _Route:
    """What the metrics middleware reads from `scope["route"]`."""

    def __init__(self, path: str) -> None:
        self.path = path


_ROUTE = _Route(ROUTE_PATH)
_RANGE_ROUTE = _Route(RANGE_ROUTE_PATH)
STREAM_PATH = "/v1/stream"
_STREAM_ROUTE = _Route(STREAM_PATH)


def split_doc_path(path: str) -> tuple[str, str] | None:
    """`/v1/collections/{collection}/docs/{key}` → (collection, key), else None."""
    if not path.startswith(PREFIX):
        return None
    collection, sep, rest = path[len(PREFIX) :].partition("/docs/")
    if not sep or not collection or "/" in collection or not rest:
        return None
    return collection, rest


def split_range_path(path: str) -> str | None:
    """`/v1/collections/{collection}/docs` → collection, else None."""
    if not path.startswith(PREFIX) or not path.endswith("/docs"):
        return None
    collection = path[len(PREFIX) : -len("/docs")]
    return collection if collection and "/" not in collection else None


def range_params(query: bytes) -> doc_ops.RangeParams | None:
    """The range read's parameters, or None for anything FastAPI should judge.

    Parsed as Starlette parses a query (the last value of a repeated name wins,
    unknown names are ignored), accepting only plainly valid values.
    """
    values: dict[str, Any] = {}
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if name in _RANGE_STRINGS:
            values[name] = value
        elif name in ("reverse", "keys_only"):
            flag = stream.PLAIN_BOOLS.get(value)
            if flag is None:
                return None
            values[name] = flag
        elif name == "limit":
            if _LIMIT_RE.fullmatch(value) is None or int(value) > 1000:
                return None
            values[name] = int(value)
    if len(values.get("cursor") or "") > MAX_CURSOR:
        return None
    return doc_ops.RangeParams(**values)


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
    if not 0 < ttl <= MAX_TTL_S:  # also refuses nan
        raise ValidationFailed(
            f"invalid query.ttl_s: a number of seconds > 0 and <= {MAX_TTL_S}",
            errors=[{"loc": ["query", "ttl_s"], "msg": "out of range", "type": "value_error"}],
        )
    return ttl


class Match(NamedTuple):
    """A request of this lane: a document (`key`) or a range read (`params`)."""

    route: _Route
    collection: str
    key: str | None
    params: doc_ops.RangeParams | None


def match(scope: Scope) -> Match | None:
    """The lane's reading of an HTTP request, or None when it is not one of its own."""
    method = scope["method"]
    if method not in _METHODS:
        return None
    parts = split_doc_path(scope["path"])
    if parts is not None:
        return Match(_ROUTE, parts[0], parts[1], None)
    if method != "GET":
        return None
    collection = split_range_path(scope["path"])
    params = range_params(scope["query_string"]) if collection is not None else None
    if collection is None or params is None:
        return None
    return Match(_RANGE_ROUTE, collection, None, params)


class FastLane:
    """Middleware inside FastAPI's stack: the lane's requests that the front door
    left to the stack (those with an Origin, for CORS), and `/v1/ws`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and scope["path"] == WS_PATH:
            # Straight to the endpoint: every idle socket keeps this call stack alive,
            # and FastAPI's routing layers would add about 10 KiB to each.
            await websocket_endpoint(WebSocket(scope, receive, send))
            return
        found = match(scope) if scope["type"] == "http" else None
        if found is None:
            await self.app(scope, receive, send)
            return
        scope["route"] = found.route
        try:
            response = await respond(LaneRequest(scope, receive), found=found)
        except LevelstreamError as exc:
            response = error_response(exc, scope.get("state", {}).get("request_id"))
        await response(scope, receive, send)


class FrontDoor:
    """The lane's requests served in front of FastAPI's whole middleware stack.

    Seven ASGI layers (FastAPI's error and telemetry middleware, ours, CORS) each
    wrap every request and every message it sends; for a document read that
    cost more than the read. Here the same steps run inline: `RequestContext`'s
    own id, address, refusal, header and log steps, then `respond`. A request
    with an Origin header takes the stack, so CORS stays Starlette's.
    """

    def __init__(self, context: RequestContext) -> None:
        self.context = context

    async def serve(self, scope: Scope, receive: Receive, send: Send) -> bool:
        """Answer the request if it is the lane's; False (nothing done) otherwise."""
        if scope["type"] != "http":
            return False
        lane = _lane(scope)
        if lane is None or any(name == b"origin" for name, _ in scope["headers"]):
            return False
        route, answer = lane
        context = self.context
        request_id, started_at = context.begin(scope)
        status = sent = 0

        async def problem(refused: tuple[int, str, str]) -> None:
            nonlocal status, sent
            headers = context.response_headers(scope, request_id)
            sent = await send_problem(send, *refused, request_id, headers)
            status = refused[0]

        try:
            refused = context.refusal(scope)
            if refused is not None:
                await problem(refused)
                return True
            scope["route"] = route
            try:
                response = await answer(LaneRequest(scope, context.limited(receive)))
            except LevelstreamError as exc:
                response = error_response(exc, request_id)
            headers = response.raw_headers
            headers.append(_VARY_ORIGIN)
            headers += context.response_headers(scope, request_id)
            status = response.status_code
            if isinstance(response, EventStream):
                await response(scope, receive, send)
                sent = response.sent
                return True
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": response.body})
            sent = len(response.body)
        except BodyTooLarge:
            if not status:
                await problem((413, "payload_too_large", context.too_large_detail))
        except ClientDisconnect:
            pass  # gone while sending its body: no one to answer
        except Exception:
            log.exception("unhandled error (request %s)", request_id)
            if not status:
                await problem((500, "internal", "an internal error occurred"))
        finally:
            context.finish(scope, status, sent, started_at)
        return True


class LaneRequest:
    """What the lane reads of a request: cheaper than Starlette's `Request`, whose
    header parsing alone cost more than a document read."""

    __slots__ = ("_headers", "receive", "scope")

    def __init__(self, scope: Scope, receive: Receive) -> None:
        self.scope = scope
        self.receive = receive
        # The first of repeated headers wins, as in Starlette's `Headers.get`.
        self._headers: dict[bytes, bytes] = dict(reversed(scope["headers"]))

    def header(self, name: bytes) -> str | None:
        value = self._headers.get(name)
        return None if value is None else value.decode("latin-1")

    @property
    def services(self) -> Services:
        return services_of(self.scope["app"])

    async def principal(self, token: str | None = None, *, stream: bool = False) -> Principal:
        if token is None:
            token = token_from_headers(self.header(b"authorization"), self.header(b"x-api-key"))
        state = self.scope.setdefault("state", {})
        origin = self.header(b"origin")
        return await admit_scope(
            self.services.gate, state, "sse" if stream else "http", token, origin
        )

    async def body(self) -> bytes:
        chunks = []
        while True:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                raise ClientDisconnect
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                return b"".join(chunks)


Answer = Callable[[LaneRequest], Awaitable[Response]]


def _lane(scope: Scope) -> tuple[_Route, Answer] | None:
    """The route and the answering function of a request the front door serves."""
    found = match(scope)
    if found is not None:
        return found.route, partial(respond, found=found)
    if scope["path"] == STREAM_PATH and scope["method"] == "GET":
        query = stream.plain_stream_query(scope["query_string"])
        if query is not None:
            return _STREAM_ROUTE, partial(respond_stream, query=query)
    return None


async def respond_stream(request: LaneRequest, query: dict[str, Any]) -> Response:
    """`GET /v1/stream`, as `stream.stream` would answer it."""
    ticket, token = query.pop("ticket", None), query.pop("token", None)
    principal = await request.principal(ticket or token or None, stream=True)
    params = stream.StreamParams(**query, last_event_id=request.header(b"last-event-id"))
    client_ip = request.scope["state"].get("client_ip")
    return await stream.open_stream(request.services, principal, params, client_ip)


async def respond(request: LaneRequest, *, found: Match) -> Response:
    """Run the lane's request through `doc_ops`, as the FastAPI routes would."""
    state = request.services
    principal = await request.principal()
    store = state.store
    if found.key is None:
        assert found.params is not None
        return await doc_ops.list_docs(store, principal, found.collection, found.params)
    method, collection, key = request.scope["method"], found.collection, found.key
    if_match = request.header(b"if-match")
    if method == "GET":
        if_none_match = request.header(b"if-none-match")
        return await doc_ops.get_doc(store, principal, collection, key, if_none_match)
    if method == "DELETE":
        return await doc_ops.delete_doc(store, principal, collection, key, if_match)
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
            if_match,
            request.header(b"if-none-match"),
        )
    return await doc_ops.patch_doc(
        store, state.settings, principal, collection, key, body, ttl_s, if_match
    )
