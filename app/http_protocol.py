"""uvicorn's HTTP protocol (httptools), writing a small response in one piece.

uvicorn writes a response's head when the app sends `http.response.start`
and its body when the app sends `http.response.body`: two socket writes, two
syscalls and, on a busy loopback, two TCP segments for every document read.
For a response that declares its Content-Length (every JSON answer here),
this holds the head back and writes it together with the body. Streamed
responses (SSE, exports: chunked) still get their head at once.

It also offers long-lived streams the `HTTP_STREAM` extension (see
app/server_ext.py): a callback when the client goes away, and `abort`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from app.server_ext import HTTP_STREAM


class _Collect:
    """Stands in for the transport while uvicorn formats a message: keeps what it writes."""

    def __init__(self) -> None:
        self.data: list[bytes] = []
        self.close_requested = False

    def write(self, data: bytes) -> None:
        self.data.append(data)

    def close(self) -> None:
        self.close_requested = True


class OneWriteCycle(RequestResponseCycle):
    """uvicorn's request/response cycle, holding a sized response's head for its body."""

    _head: bytes = b""
    _on_disconnect: Callable[[], None] | None = None

    def on_disconnect(self, callback: Callable[[], None] | None) -> None:
        self._on_disconnect = callback

    def abort(self) -> None:
        self.transport.abort()

    def disconnected_now(self) -> None:
        callback, self._on_disconnect = self._on_disconnect, None
        if callback is not None:
            callback()

    async def send(self, message: Any) -> None:
        kind = message["type"]
        if kind == "http.response.start" and not self.response_started:
            written = await self._collect(message)
            if self.chunked_encoding is False and not written.close_requested:
                self._head = b"".join(written.data)  # sent with the body
            else:
                self._flush(b"".join(written.data), written.close_requested)
            return
        if kind == "http.response.body" and self._head:
            head, self._head = self._head, b""
            written = await self._collect(message)
            self._flush(head + b"".join(written.data), written.close_requested)
            return
        await super().send(message)

    async def _collect(self, message: Any) -> _Collect:
        transport, collect = self.transport, _Collect()
        self.transport = collect  # type: ignore[assignment]
        try:
            await super().send(message)
        finally:
            self.transport = transport
        return collect

    def _flush(self, data: bytes, close: bool) -> None:
        if data:
            self.transport.write(data)
        if close:
            self.transport.close()


class HttpProtocol(HttpToolsProtocol):
    def _start_asgi_task(self, cycle: RequestResponseCycle, app: Any) -> None:
        # uvicorn builds the cycle itself; its class is the one thing changed.
        cycle.__class__ = OneWriteCycle
        assert isinstance(cycle, OneWriteCycle)
        extensions = cycle.scope.setdefault("extensions", {})
        extensions[HTTP_STREAM] = {"on_disconnect": cycle.on_disconnect, "abort": cycle.abort}
        super()._start_asgi_task(cycle, app)

    def connection_lost(self, exc: Exception | None) -> None:
        cycle = self.cycle
        super().connection_lost(exc)
        if isinstance(cycle, OneWriteCycle):
            cycle.disconnected_now()
