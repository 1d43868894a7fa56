"""Pure ASGI middleware (so it covers plain requests, streams and WebSockets alike).

`RequestContext` gives every request an id, stamps every response with
`X-Request-ID` and `X-Levelstream-Epoch`, enforces the request-body limit
before the body is read (Starlette has none), and turns anything unhandled
into a generic 500 problem, so no stack trace ever reaches a client.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.problems import PROBLEM_TYPE, problem_body

log = logging.getLogger("levelstream.api")

_REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._:-]{1,128}")


class BodyTooLarge(Exception):
    pass


class RequestContext:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int, epoch: Callable[[], str]) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.epoch = epoch

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope) or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
        extra_headers = [
            (b"x-request-id", request_id.encode("ascii")),
            (b"x-levelstream-epoch", self.epoch().encode("ascii")),
            (b"x-content-type-options", b"nosniff"),
        ]
        if scope["path"].startswith("/v1/"):
            extra_headers.append((b"cache-control", b"no-store"))

        declared = _content_length(scope)
        if declared == -1:
            await self._problem(send, 400, "bad_request", "invalid Content-Length", extra_headers)
            return
        if declared is not None and declared > self.max_body_bytes:
            await self._too_large(send, extra_headers)
            return

        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise BodyTooLarge
            return message

        async def stamped_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = list(message.get("headers", [])) + extra_headers
            await send(message)

        try:
            await self.app(scope, limited_receive, stamped_send)
        except BodyTooLarge:
            if not started:
                await self._too_large(send, extra_headers)
        except Exception:
            log.exception("unhandled error (request %s)", request_id)
            if not started:
                await self._problem(
                    send, 500, "internal", "an internal error occurred", extra_headers
                )

    async def _too_large(self, send: Send, extra_headers: list[tuple[bytes, bytes]]) -> None:
        detail = f"request body over the limit of {self.max_body_bytes} bytes"
        await self._problem(send, 413, "payload_too_large", detail, extra_headers)

    async def _problem(
        self,
        send: Send,
        status: int,
        code: str,
        detail: str,
        extra_headers: list[tuple[bytes, bytes]],
    ) -> None:
        """Answer directly; the connection is closed since the body may be unread."""
        request_id = extra_headers[0][1].decode("ascii")
        body = problem_body(code, detail, request_id, status)
        headers = [
            (b"content-type", PROBLEM_TYPE.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
            *extra_headers,
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            return text if _REQUEST_ID_RE.fullmatch(text) else None
    return None


def _content_length(scope: Scope) -> int | None:
    """The declared body length; None if absent, -1 if malformed."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            return int(value) if value.isdigit() and len(value) < 19 else -1
    return None
