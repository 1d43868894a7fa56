"""Pure ASGI middleware (so it covers plain requests, streams and WebSockets alike).

`RequestContext` gives every request an id and its real client address
(trusted proxies only), refuses addresses outside the server-wide allow-list,
answers CORS preflights and stamps every response with the CORS headers
(`app/server/cors.py`), `X-Request-ID` and `X-Levelstream-Epoch`, enforces
the request-body limit before the body is read (Starlette has none), turns
anything unhandled into a generic 500 problem (no stack trace reaches a
client), and writes one access-log line per request or socket session.
"""

from __future__ import annotations

import functools
import logging
import random
import re
import time
from collections.abc import Callable
from urllib.parse import unquote_to_bytes

from fastapi.routing import iter_route_contexts
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.metrics import Metrics
from app.api.problems import PROBLEM_TYPE, STATUS_BY_CODE, problem_body
from app.asgi_extensions import SEND_MANY, DirectWrites
from app.auth.network import Network, client_address, in_networks, parse_address
from app.errors import as_outage
from app.logs import bind_request
from app.server.access_log import AccessLog, close_code_of
from app.server.cors import CorsPolicy, origin_of

log = logging.getLogger("levelstream.api")

_REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
# Probes stay reachable whatever the IP rules, so orchestrators can check health.
_OPEN_PATHS = ("/healthz", "/readyz")


class BodyTooLarge(Exception):
    pass


class RequestContext:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        unlimited_body_paths: tuple[str, ...],
        epoch: Callable[[], str],
        trusted_proxies: tuple[Network, ...],
        allowed_ips: tuple[Network, ...],
        access_log: AccessLog,
        metrics: Metrics,
        cors: CorsPolicy,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        # Streamed, admin-only uploads (imports) that bound their memory themselves.
        self.unlimited_body_paths = unlimited_body_paths
        self.epoch = epoch
        self.trusted_proxies = trusted_proxies
        self.allowed_ips = allowed_ips
        self.access_log = access_log
        self.metrics = metrics
        self.cors = cors

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await self.websocket(scope, receive, send, self.app)
            return
        request_id, started_at = self.begin(scope)
        result = {"status": 0, "bytes": 0}
        try:
            await self._http(scope, receive, send, request_id, result)
        finally:
            self.finish(scope, result["status"], result["bytes"], started_at)

    # --- the steps, shared with the fast lane's front door (app/server/front_door.py) ---

    def begin(self, scope: Scope) -> tuple[str, float]:
        """Give the request its id and client address; returns (request id, start time)."""
        started_at = time.perf_counter()
        # Request ids need to be unique, not secret: no syscall (and GIL handoff) per request.
        request_id = _incoming_request_id(scope) or new_request_id()
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        bind_request(request_id)
        peer = scope["client"][0] if scope.get("client") else None
        forwarded = [v.decode("latin-1") for k, v in scope["headers"] if k == b"x-forwarded-for"]
        if forwarded:
            state["client_ip"] = client_address(peer, forwarded, self.trusted_proxies)
        else:
            state["client_ip"] = self._peer_address(peer)
        return request_id, started_at

    def response_headers(self, scope: Scope, request_id: str) -> list[tuple[bytes, bytes]]:
        """The headers every HTTP response gets."""
        extra_headers = [
            (b"x-request-id", request_id.encode("ascii")),
            (b"x-levelstream-epoch", self.epoch().encode("ascii")),
            (b"x-content-type-options", b"nosniff"),
        ]
        if scope["path"].startswith("/v1/"):
            extra_headers.append((b"cache-control", b"no-store"))
        return extra_headers

    def refusal(self, scope: Scope) -> tuple[int, str, str] | None:
        """(status, code, detail) of a request refused before it is read, or None."""
        if self._ip_refused(scope):
            return 403, "forbidden", "this address may not use the service"
        if scope["path"] in self.unlimited_body_paths:
            return None
        declared = _content_length(scope)
        if declared == -1:
            return 400, "bad_request", "invalid Content-Length"
        if declared is not None and declared > self.max_body_bytes:
            return 413, "payload_too_large", self.too_large_detail
        url_problem = _url_problem(scope)
        if url_problem is not None:
            return 422, "validation_failed", url_problem
        return None

    @property
    def too_large_detail(self) -> str:
        return f"request body over the limit of {self.max_body_bytes} bytes"

    def finish(self, scope: Scope, status: int, sent: int, started_at: float) -> None:
        """The access-log line and the metrics of a finished request or socket session."""
        self.access_log.write(scope, status, sent, started_at)
        self._observe(scope, status, started_at)

    def _observe(self, scope: Scope, status: int, started_at: float) -> None:
        if scope["type"] == "websocket":
            code = close_code_of(scope["state"])
            if code is not None:
                self.metrics.ws_closes.labels(str(code)).inc()
            return
        route = scope.get("route")
        path = getattr(route, "path", None) or "unmatched"
        elapsed = time.perf_counter() - started_at
        self.metrics.observe_request(path, scope["method"], status, elapsed)

    @functools.lru_cache(maxsize=4096)  # noqa: B019 - one middleware per app, bounded
    def _peer_address(self, peer: str | None) -> str | None:
        return client_address(peer, [], self.trusted_proxies)

    def _ip_refused(self, scope: Scope) -> bool:
        if not self.allowed_ips or scope["path"] in _OPEN_PATHS:
            return False
        address = parse_address(scope["state"]["client_ip"] or "")
        return not in_networks(address, self.allowed_ips)

    async def websocket(self, scope: Scope, receive: Receive, send: Send, app: ASGIApp) -> None:
        """One WebSocket session run by `app`, with this context's steps (id, address,
        refusal, access log, metrics): for the middleware and the front door alike.

        One coroutine: every idle socket keeps its frame for the connection's life.
        """
        _, started_at = self.begin(scope)
        recorder = _SessionSend(scope, send)
        try:
            if self._ip_refused(scope):
                refusal = {"type": "websocket.close", "code": 1008}
                recorder.status = await _refuse_handshake(scope, send, refusal)
                if not recorder.status:
                    recorder.status = 403
                    await send(refusal)
                return
            await app(scope, receive, recorder)
        finally:
            # What our server wrote straight to the socket (server/ws_protocol.py) bypassed `send`.
            direct: DirectWrites | None = (scope.get("extensions") or {}).get(SEND_MANY)
            if direct is not None:
                recorder.sent += direct.sent_directly()
            self.finish(scope, recorder.status, recorder.sent, started_at)

    async def _http(
        self, scope: Scope, receive: Receive, send: Send, request_id: str, result: dict[str, int]
    ) -> None:
        extra_headers = self.response_headers(scope, request_id)
        origin = origin_of(scope)

        plain_error: list[Message] = []  # a text/plain error's start and body, until whole

        async def stamped_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                result["status"] = status = message["status"]
                headers = list(message.get("headers", []))
                if status == 405:
                    headers = _with_full_allow(scope, headers)
                if preflight is None:  # a preflight's answer has its own CORS headers
                    headers = self.cors.stamp(scope, origin, headers)
                message["headers"] = headers + extra_headers
                if status >= 400 and _is_plain_text(headers):
                    plain_error.append(message)
                    return
            elif message["type"] == "http.response.body":
                if plain_error:
                    plain_error.append(message)
                    if message.get("more_body", False):
                        return
                    start, message = as_problem(plain_error, request_id)
                    await send(start)
                result["bytes"] += len(message.get("body", b""))
            await send(message)

        preflight: Response | None = None
        refused = self.refusal(scope)
        if refused is not None:
            await send_problem(stamped_send, *refused, request_id)
            return
        preflight = self.cors.preflight(scope, origin)
        if preflight is not None:
            await preflight(scope, receive, stamped_send)
            return
        if scope["path"] in self.unlimited_body_paths:
            await self._run(scope, receive, stamped_send, request_id, result)
            return

        await self._run(scope, self.limited(receive), stamped_send, request_id, result)

    def limited(self, receive: Receive) -> Receive:
        """`receive`, raising BodyTooLarge once the body passes the limit (a chunked
        body declares no length, so the refusal before reading cannot catch it)."""
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise BodyTooLarge
            return message

        return limited_receive

    async def _run(
        self, scope: Scope, receive: Receive, send: Send, request_id: str, result: dict[str, int]
    ) -> None:
        try:
            await self.app(scope, receive, send)
        except BodyTooLarge:
            if not result["status"]:
                await self._too_large(send, request_id)
        except Exception as exc:
            if (outage := as_outage(exc)) is not None:
                log.warning("request %s: %s", request_id, exc)
                if not result["status"]:
                    await send_problem(send, 503, outage.code, outage.detail, request_id)
                return
            log.exception("unhandled error (request %s)", request_id)
            if not result["status"]:
                await send_problem(send, 500, "internal", "an internal error occurred", request_id)

    async def _too_large(self, send: Send, request_id: str) -> None:
        await send_problem(send, 413, "payload_too_large", self.too_large_detail, request_id)


class _SessionSend:
    """`send` of a WebSocket session, recording its status, close code and bytes (and
    answering a handshake the app refused as a problem). One slotted object, where a
    closure and a dict of results were five the collector traced per socket."""

    __slots__ = ("scope", "send", "sent", "status")

    def __init__(self, scope: Scope, send: Send) -> None:
        self.scope = scope
        self.send = send
        self.status = 0
        self.sent = 0

    async def __call__(self, message: Message) -> None:
        kind = message["type"]
        if kind == "websocket.accept":
            self.status = 101
        elif kind == "websocket.close":
            scope = self.scope
            scope["state"]["close_code"] = message.get("code", 1000)
            if not self.status:
                # Closed before accept: the handshake is refused.
                self.status = await _refuse_handshake(scope, self.send, message)
                if self.status:
                    return
                self.status = 403
        elif kind == "websocket.send":
            data = message.get("text") or message.get("bytes") or ""
            self.sent += len(data)
        await self.send(message)


async def send_problem(
    send: Send,
    status: int,
    code: str,
    detail: str,
    request_id: str,
    extra_headers: list[tuple[bytes, bytes]] | None = None,
) -> int:
    """Answer with a problem directly, closing the connection (the body may be unread);
    returns the bytes of body sent."""
    body = problem_body(code, detail, request_id, status)
    headers = [
        (b"content-type", PROBLEM_TYPE.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
        *(extra_headers or ()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
    return len(body)


_CODE_BY_STATUS = {status: code for code, status in STATUS_BY_CODE.items()}


def problem_code(status: int) -> str:
    """The contract's problem code for an HTTP status. A 505 (HTTP version not
    supported) is the client's request at fault, not the server: `bad_request`."""
    client_at_fault = status < 500 or status == 505
    return _CODE_BY_STATUS.get(status, "bad_request" if client_at_fault else "internal")


# A handshake refused by the app (before `accept`): close code -> (HTTP status, problem code).
_HANDSHAKE_REFUSALS = {
    4001: (401, "unauthorized"),
    4008: (429, "rate_limited"),
    4009: (503, "unavailable"),
}
_HANDSHAKE_DETAILS = {
    "unauthorized": "the WebSocket handshake needs a valid credential",
    "rate_limited": "too many requests",
    "unavailable": "too many connections",
    "forbidden": "the WebSocket handshake was refused (address, origin or credential rules)",
}


async def _refuse_handshake(scope: Scope, send: Send, close: Message) -> int:
    """Answer a handshake the app refused with a problem, where the server offers an
    HTTP answer to a WebSocket request (ASGI's `websocket.http.response`): its status,
    or 0 when it cannot."""
    if "websocket.http.response" not in (scope.get("extensions") or {}):
        return 0
    status, code = _HANDSHAKE_REFUSALS.get(close.get("code", 1008), (403, "forbidden"))
    request_id = scope["state"]["request_id"]
    body = problem_body(code, _HANDSHAKE_DETAILS[code], request_id, status)
    headers = [
        (b"content-type", PROBLEM_TYPE.encode()),
        (b"content-length", b"%d" % len(body)),
        (b"x-request-id", request_id.encode("ascii")),
        (b"x-content-type-options", b"nosniff"),
    ]
    await send({"type": "websocket.http.response.start", "status": status, "headers": headers})
    await send({"type": "websocket.http.response.body", "body": body})
    return status


def _with_full_allow(scope: Scope, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """A 405's `Allow`: every method of every route on this path (Starlette names the one
    route it tried, and FastAPI has one route per method)."""
    router = getattr(scope.get("app"), "router", None)
    methods: set[str] = set()
    for route in iter_route_contexts(getattr(router, "routes", ())):
        if route.methods and route.matches(scope)[0] != Match.NONE:
            methods |= route.methods
    if not methods:
        return headers
    allow = ", ".join(sorted(methods)).encode()
    return [(n, v) for n, v in headers if n.lower() != b"allow"] + [(b"allow", allow)]


def _is_plain_text(headers: list[tuple[bytes, bytes]]) -> bool:
    for name, value in headers:
        if name.lower() == b"content-type":
            return value.startswith(b"text/plain")
    return False


def as_problem(parts: list[Message], request_id: str) -> tuple[Message, Message]:
    """A framework's plain-text error (Starlette's refused CORS preflight) as a problem."""
    start, *bodies = parts
    text = b"".join(m.get("body", b"") for m in bodies).decode("utf-8", "replace").strip()
    status = start["status"]
    body = problem_body(problem_code(status), text[:200] or "refused", request_id, status)
    headers = [
        (name, value)
        for name, value in start["headers"]
        if name.lower() not in (b"content-type", b"content-length")
    ]
    headers += [(b"content-type", PROBLEM_TYPE.encode()), (b"content-length", b"%d" % len(body))]
    return {**start, "headers": headers}, {"type": "http.response.body", "body": body}


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            return valid_request_id(value.decode("latin-1"))
    return None


def new_request_id() -> str:
    return f"{random.getrandbits(128):032x}"


def valid_request_id(text: str | None) -> str | None:
    """A client's X-Request-ID if it is one we echo, else None."""
    return text if text is not None and _REQUEST_ID_RE.fullmatch(text) else None


def _url_problem(scope: Scope) -> str | None:
    """Why the URL can address nothing, or None when it is fine.

    uvicorn percent-decodes the path, and Starlette the query, with
    errors="replace": invalid UTF-8 (`%FF`, a lone surrogate `%ED%A0%80`, an
    overlong `%C0%AF`) would silently become U+FFFD and address another key.
    And Starlette's `{key:path}` does not match a newline, so such a key got a
    404 rather than the contract's 422. No name or key may hold a control
    character, so no path may.
    """
    raw_path: bytes = scope.get("raw_path") or b""
    query: bytes = scope.get("query_string") or b""
    try:
        if b"%" in raw_path:
            unquote_to_bytes(raw_path).decode("utf-8")
        if b"%" in query:
            unquote_to_bytes(query.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        return "the URL is not valid UTF-8 once percent-decoded"
    if _CONTROL_RE.search(scope["path"]):
        return "the URL path must not contain control characters"
    return None


def _content_length(scope: Scope) -> int | None:
    """The declared body length; None if absent, -1 if malformed."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            return int(value) if value.isdigit() and len(value) < 19 else -1
    return None
