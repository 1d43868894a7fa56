"""The front door: the hottest operations dispatched without FastAPI, and `/v1/ws`.

Single-document GET/PUT/PATCH/DELETE, create, range reads and `GET /v1/stream`
are the hottest routes (and `/v1/stream` the one whose every idle connection
keeps its call stack alive), and FastAPI's per-request routing and dependency
solving cost several times what the store does. `FrontDoor` recognises their
paths and calls their operations (`app/api/doc_ops.py`, `stream.open_stream`)
directly: the same functions the FastAPI routes call, which parse, admit,
validate, authorize and render. It decides only which operation a path and
method name; it reads no parameter itself. A browser's request (one with an
Origin header) is served here too, with the same CORS answer as FastAPI's
stack gives (`RequestContext.cors`, app/server/cors.py), and so is every CORS
preflight.

`/v1/ws` sockets go from the app's `__call__` straight to `websocket_app`
(`app.api.ws.websocket_session`) inside `RequestContext.websocket` (id,
address rule, access log, metrics): none of FastAPI's layers, whose coroutine
frames every idle socket would keep alive, and the same gate admission as
every other way in (the endpoint's `_open`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Protocol

from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api import doc_ops, ranges, stream
from app.api.problems import error_response
from app.api.requests import HttpRequest
from app.api.sse import EventStream
from app.api.ws import websocket_session
from app.errors import LevelstreamError, as_outage
from app.server.context import BodyTooLarge, RequestContext, as_problem, send_problem
from app.server.cors import origin_of

log = logging.getLogger("levelstream.api")

PREFIX = "/v1/collections/"
WS_PATH = "/v1/ws"
STREAM_PATH = "/v1/stream"
Answer = Callable[[HttpRequest], Awaitable[Response]]


class _Route:
    """What the metrics middleware reads from `scope["route"]`: the route's template."""

    def __init__(self, path: str) -> None:
        self.path = path


_DOC_ROUTE = _Route("/v1/collections/{collection}/docs/{key:path}")
_COLLECTION_ROUTE = _Route("/v1/collections/{collection}/docs")
_STREAM_ROUTE = _Route(STREAM_PATH)


class DocOp(Protocol):
    def __call__(self, request: HttpRequest, collection: str, key: str) -> Awaitable[Response]: ...


class CollectionOp(Protocol):
    def __call__(self, request: HttpRequest, collection: str) -> Awaitable[Response]: ...


_DOC_OPS: dict[str, DocOp] = {
    "GET": doc_ops.get,
    "PUT": doc_ops.put,
    "PATCH": doc_ops.patch,
    "DELETE": doc_ops.delete,
}
_COLLECTION_OPS: dict[str, CollectionOp] = {
    "GET": ranges.list_range,
    "POST": doc_ops.create,
}


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


def dispatch(scope: Scope) -> tuple[_Route, Answer] | None:
    """The route and the operation of a request the front door serves, else None.

    The paths are the FastAPI routes' (`documents`, `stream`); anything else (an
    empty key, another method) is left to FastAPI's routing.
    """
    method, path = scope["method"], scope["path"]
    if path == STREAM_PATH:
        return (_STREAM_ROUTE, stream.open_stream) if method == "GET" else None
    parts = split_doc_path(path)
    if parts is not None:
        doc_op = _DOC_OPS.get(method)
        if doc_op is None:
            return None
        return _DOC_ROUTE, partial(doc_op, collection=parts[0], key=parts[1])
    collection = split_range_path(path)
    collection_op = _COLLECTION_OPS.get(method) if collection is not None else None
    if collection_op is None or collection is None:
        return None
    return _COLLECTION_ROUTE, partial(collection_op, collection=collection)


class FrontDoor:
    """The front door's requests served in front of FastAPI's whole middleware stack.

    Seven ASGI layers (FastAPI's error and telemetry middleware, ours, CORS) each
    wrap every request and every message it sends; for a document read that
    cost more than the read. Here the same steps run inline: `RequestContext`'s
    own id, address, refusal, CORS, header and log steps, then the operation.
    """

    def __init__(self, context: RequestContext) -> None:
        self.context = context
        self.websocket_app: ASGIApp = websocket_session

    async def serve(self, scope: Scope, receive: Receive, send: Send) -> bool:
        """Answer the request if it is the lane's; False (nothing done) otherwise."""
        if scope["type"] != "http":
            return False
        context = self.context
        origin = origin_of(scope)
        preflight = context.cors.preflight(scope, origin)
        found = dispatch(scope) if preflight is None else None
        if found is None and preflight is None:
            return False
        request_id, started_at = context.begin(scope)
        status = sent = 0

        async def problem(refused: tuple[int, str, str]) -> None:
            nonlocal status, sent
            headers = context.cors.stamp(scope, origin, [])
            headers += context.response_headers(scope, request_id)
            sent = await send_problem(send, *refused, request_id, headers)
            status = refused[0]

        try:
            refused = context.refusal(scope)
            if refused is not None:
                await problem(refused)
                return True
            if preflight is not None:
                status, sent = await _answer_preflight(preflight, scope, send, request_id, context)
                return True
            assert found is not None
            route, answer = found
            scope["route"] = route
            try:
                response = await answer(HttpRequest(scope, context.limited(receive)))
            except LevelstreamError as exc:
                response = error_response(exc, request_id)
            headers = context.cors.stamp(scope, origin, response.raw_headers)
            headers += context.response_headers(scope, request_id)
            response.raw_headers = headers
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
        except Exception as exc:
            if (outage := as_outage(exc)) is not None:
                log.warning("request %s: %s", request_id, exc)
                if not status:
                    await problem((503, outage.code, outage.detail))
                return True
            log.exception("unhandled error (request %s)", request_id)
            if not status:
                await problem((500, "internal", "an internal error occurred"))
        finally:
            context.finish(scope, status, sent, started_at)
        return True


async def _answer_preflight(
    preflight: Response, scope: Scope, send: Send, request_id: str, context: RequestContext
) -> tuple[int, int]:
    """Send a preflight's answer as FastAPI's stack would (a refusal as a problem);
    returns (status, body bytes)."""
    headers = preflight.raw_headers + context.response_headers(scope, request_id)
    start: Message = {"type": "http.response.start", "status": preflight.status_code}
    start["headers"] = headers
    body: Message = {"type": "http.response.body", "body": preflight.body}
    if preflight.status_code >= 400:
        start, body = as_problem([start, body], request_id)
    await send(start)
    await send(body)
    return preflight.status_code, len(body["body"])
