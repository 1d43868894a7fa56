"""uvicorn's HTTP protocol (httptools), writing a small response in one piece.

uvicorn writes a response's head when the app sends `http.response.start`
and its body when the app sends `http.response.body`: two socket writes, two
syscalls and, on a busy loopback, two TCP segments for every document read.
For a response that declares its Content-Length (every JSON answer here),
this holds the head back and writes it together with the body. Anything
else (streamed responses such as SSE, HEAD, a closing connection) is left to
uvicorn as it is.

A sized response's head is also formatted here rather than by uvicorn, which
runs two regular expressions per header (about 20 a response): the names,
joined, are checked with one search and the values with another. A search for
a character class over a concatenation finds what a search over each part
would, so the same headers are refused. uvicorn is pinned (pyproject.toml)
because this mirrors its cycle's fields; tests/test_http_protocol.py checks
the two agree.

It also offers long-lived streams the `HTTP_STREAM` extension (see
app/asgi_extensions.py; the cycle itself): `start_stream`, the head and the
first piece of the body in one write (an SSE stream's head and `retry`: one
syscall and one TCP segment per accept, not two), a callback when the client
goes away, `abort`, and `write_body`: the body's next pieces written to the
socket at once, synchronously (one chunk), so an SSE fan-out wakes no task per
stream and builds no ASGI message per event, as the WebSocket one
(`ws_protocol.write_frames`).

And it keeps the bytes that arrive with a WebSocket handshake: uvicorn hands
the WebSocket protocol the handshake alone, so a frame sent in the same TCP
segment (a client that does not wait for the 101) was lost and its request
never answered.

HTTP/1.0 has no chunked encoding (RFC 9112 §6.1): uvicorn sends an unsized
response (a stream, an export) chunked whatever the request's version, so
here such a response to an HTTP/1.0 client is close-delimited instead. And
what the server answers by itself, before any app runs (a request the
parser refuses), is a problem (RFC 9457) with an X-Request-ID, as every
answer of the app is.

And its keep-alive timeout closes only a connection that is idle. uvicorn
arms a timer when a response is done and closes the connection when it
fires; after the loop was held up past that timeout (SIGSTOP, a VM pause, a
long blocking call) the timer runs before the loop has read a request that
arrived meanwhile, and closing a socket with unread bytes resets it: the
client got no answer and cannot tell whether its write was applied (the
stall fault test saw it, tests/test_fault_stall.py). Bytes waiting in the
socket mean a request is there: the timer is armed again instead.
"""

from __future__ import annotations

import array
import asyncio
import fcntl
import logging
import termios
from asyncio import BaseTransport
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, Literal, Protocol

import httptools
from uvicorn.logging import TRACE_LOG_LEVEL
from uvicorn.protocols.http.flow_control import FlowControl
from uvicorn.protocols.http.httptools_impl import (
    HEADER_RE,
    HEADER_VALUE_RE,
    STATUS_LINE,
    HttpToolsProtocol,
    RequestResponseCycle,
)

from app.api.problems import PROBLEM_TYPE, problem_body
from app.asgi_extensions import HTTP_STREAM
from app.server.context import new_request_id, problem_code
from app.server.internals import missing_internals, stored_attributes


def problem_parts(
    status: int, detail: str, request_id: str | None = None
) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """The headers and body of a problem the server writes itself, with no app to ask."""
    request_id = request_id or new_request_id()
    body = problem_body(problem_code(status), detail, request_id, status)
    headers = [
        (b"content-type", PROBLEM_TYPE.encode()),
        (b"content-length", b"%d" % len(body)),
        (b"connection", b"close"),
        (b"x-request-id", request_id.encode()),
        (b"x-content-type-options", b"nosniff"),
    ]
    return headers, body


class _LastChunk:
    """The last body written alone by `write_body`, its chunk and its size: an SSE event
    is one object shared by its streams, written to each in turn, so it is framed (and
    measured: a size above 256 is a new int object each time) once."""

    __slots__ = ("body", "chunk", "size")

    def __init__(self) -> None:
        self.body = b""
        self.chunk = b""
        self.size = 0


_LAST_CHUNK = _LastChunk()


class OneWriteCycle(RequestResponseCycle):
    """uvicorn's request/response cycle, holding a sized response's head for its body."""

    _head: bytes = b""
    _on_disconnect: Callable[[], None] | None = None
    _close_delimited = False
    _on_writable: Callable[[], None] | None = None
    waiting_since = 0.0  # loop time a `write_body` found the socket paused; 0: not waiting
    direct_bytes = 0  # body bytes written by `write_body`

    def on_disconnect(self, callback: Callable[[], None] | None) -> None:
        self._on_disconnect = callback

    def write_body(self, pieces: list[str | bytes], on_writable: Callable[[], None]) -> bool:
        """Write `pieces` as the streamed body's next part, at once; False if not now: the
        response has not started (or is complete), the client is gone, or the socket is
        paused (then `on_writable()` is called once it drains)."""
        if (
            self.disconnected
            or not self.response_started
            or self.response_complete
            or self._head
            or self.transport.is_closing()
        ):
            return False
        if self.flow.write_paused:
            self._on_writable = on_writable
            if not self.waiting_since:
                self.waiting_since = _now()
            return False
        last = _LAST_CHUNK
        if len(pieces) == 1 and pieces[0] is last.body:
            size, chunk = last.size, last.chunk
        else:
            body = b"".join([p if isinstance(p, bytes) else p.encode() for p in pieces])
            size = len(body)
            if not size:
                return True
            if self._close_delimited:
                chunk = body
            elif self.chunked_encoding:
                chunk = b"%x\r\n%s\r\n" % (size, body)
            else:
                return False  # a sized body is not streamed
            if len(pieces) == 1:
                last.body, last.chunk, last.size = body, chunk, size
        self.direct_bytes += size
        self.transport.write(chunk)
        return True

    def start_stream(self, status: int, headers: list[tuple[bytes, bytes]], first: bytes) -> bool:
        """Start a streamed (chunked) response: its head and `first`, the body's first
        piece, in one socket write, synchronously. False (nothing done) leaves the start
        to `http.response.start`: a HEAD, a connection that will close (HTTP/1.0 among
        them), a paused or gone client, uvicorn's own access log, a header that declares
        a length or an encoding, or one uvicorn would refuse."""
        if (
            self.response_started
            or self.access_log
            or self.flow.write_paused
            or self.disconnected
            or not self.keep_alive
            or self.scope["method"] == "HEAD"
        ):
            return False
        status_line = STATUS_LINE.get(status)
        if status_line is None or status in (204, 304):
            return False
        headers = [*self.default_headers, *headers]
        for name, _value in headers:
            if name.lower() in (b"content-length", b"transfer-encoding", b"connection"):
                return False
        if not _uvicorn_accepts(headers):
            return False  # uvicorn refuses it, as it would have
        self.response_started = True
        self.waiting_for_100_continue = False
        self.chunked_encoding = True
        self.expected_content_length = 0
        parts = _head_parts(status_line, headers, b"transfer-encoding: chunked\r\n\r\n")
        if first:
            parts.append(b"%x\r\n%s\r\n" % (len(first), first))
            self.direct_bytes += len(first)
        self.transport.write(b"".join(parts))
        return True

    def write_piece(self, piece: str | bytes, on_writable: Callable[[], None]) -> bool:
        """`write_body` of one piece; runs once per delivery, so an SSE event already
        chunked for another stream is written with no more than the checks."""
        last = _LAST_CHUNK
        if (
            piece is not last.body
            or self.disconnected
            or not self.response_started
            or self.response_complete
            or self._head
            or self.transport.is_closing()
            or self.flow.write_paused
        ):
            return self.write_body([piece], on_writable)
        self.direct_bytes += last.size
        self.transport.write(last.chunk)
        return True

    def writable_again(self) -> None:
        """The socket drained (the protocol's `resume_writing`)."""
        self.waiting_since = 0.0
        on_writable, self._on_writable = self._on_writable, None
        if on_writable is not None:
            on_writable()

    def sent_directly(self) -> int:
        return self.direct_bytes

    def abort(self) -> None:
        self.transport.abort()

    def disconnected_now(self) -> None:
        callback, self._on_disconnect = self._on_disconnect, None
        if callback is not None:
            callback()

    async def run_asgi(self, app: Any) -> None:
        try:
            await super().run_asgi(app)
        finally:
            # The scope offers this cycle as the stream extension: a cycle of the two that
            # left every request (and every closed SSE stream) to the cyclic collector with
            # its transport's flow control and buffers; the app is done with both now
            # (decisions.md, "Nothing of a closed socket waits for the collector").
            self.scope["extensions"].pop(HTTP_STREAM, None)

    async def send(self, message: Any) -> None:
        kind = message["type"]
        if kind == "http.response.start" and not self.response_started:
            head = self._sized_head(message)
            if head is not None:
                self._head = head  # sent with the body
                return
            if self.scope["http_version"] == "1.0" and self.scope["method"] != "HEAD":
                self._close_delimited = _unsized(message)
                if self._close_delimited:
                    self.chunked_encoding = False  # uvicorn writes no transfer-encoding then
        elif kind == "http.response.body" and self._close_delimited:
            await self._send_until_close(message)
            return
        elif kind == "http.response.body" and self._head:
            if self.flow.write_paused and not self.disconnected:
                await self.flow.drain()  # as uvicorn does before each write
            if self._send_whole(message):
                return
            # A body in pieces (or one uvicorn will refuse): the head goes first.
            head, self._head = self._head, b""
            if not self.disconnected:
                self.transport.write(head)
        await super().send(message)

    def _sized_head(self, message: Any) -> bytes | None:
        """The head of a response with a Content-Length and keep-alive, or None.

        None leaves the message to uvicorn: anything else (chunked, closing,
        HEAD, uvicorn's own access log, a paused or gone client) is rare.
        """
        if self.access_log or self.flow.write_paused or self.disconnected:
            return None
        status_line = STATUS_LINE.get(message["status"])
        if status_line is None or self.scope["method"] == "HEAD" or not self.keep_alive:
            return None
        headers = [*self.default_headers, *message.get("headers", ())]
        length = -1
        for name, value in headers:
            name = name.lower()
            if name == b"content-length":
                if length >= 0 or not value.isdigit():
                    return None
                length = int(value)
            elif name == b"transfer-encoding" or name == b"connection":
                return None
        if length < 0:
            return None
        if not _uvicorn_accepts(headers):
            return None  # uvicorn refuses it, as it would have
        self.response_started = True
        self.waiting_for_100_continue = False
        self.expected_content_length = length
        self.chunked_encoding = False
        return b"".join(_head_parts(status_line, headers, b"\r\n"))

    async def _send_until_close(self, message: Any) -> None:
        """A body for HTTP/1.0 without a length: as it comes; closing the connection ends it."""
        if self.flow.write_paused and not self.disconnected:
            await self.flow.drain()
        if self.disconnected or self.response_complete:
            return
        body = message.get("body", b"")
        if body:
            self.transport.write(body)
        if not message.get("more_body", False):
            self.response_complete = True
            self.message_event.set()
            self.transport.close()
            self.on_response()

    def _send_whole(self, message: Any) -> bool:
        """Write the held head and a whole body in one piece, as uvicorn would finish."""
        body = message.get("body", b"")
        if message.get("more_body", False) or len(body) != self.expected_content_length:
            return False  # more to come, or a wrong length uvicorn will refuse
        if self.disconnected:
            self._head = b""
            return True
        head, self._head = self._head, b""
        self.transport.write(head + body)
        self.expected_content_length = 0
        self.response_complete = True
        self.message_event.set()
        self.on_response()
        return True


def _now() -> float:
    return asyncio.get_running_loop().time()


def _uvicorn_accepts(headers: list[tuple[bytes, bytes]]) -> bool:
    """Whether uvicorn would send these header names and values (its own check)."""
    names = b"".join([name for name, _ in headers])
    values = b"".join([value for _, value in headers])
    return not (HEADER_RE.search(names) or HEADER_VALUE_RE.search(values))


def _head_parts(status_line: bytes, headers: list[tuple[bytes, bytes]], end: bytes) -> list[bytes]:
    """A response head's pieces: the status line, each header (name in lower case, as
    uvicorn writes it), then `end`."""
    parts = [status_line]
    for name, value in headers:
        parts += (name.lower(), b": ", value, b"\r\n")
    parts.append(end)
    return parts


def stream_extension(cycle: OneWriteCycle) -> OneWriteCycle:
    """The `HTTP_STREAM` extension of one request (app/asgi_extensions.py): the cycle
    itself, where a dict of its bound methods was seven objects more per request."""
    return cycle


def _unsized(message: Any) -> bool:
    """A response start that declares neither a length nor a transfer encoding."""
    for name, _value in message.get("headers", ()):
        if name.lower() in (b"content-length", b"transfer-encoding"):
            return False
    return message["status"] not in (204, 304)


class _TakesParsedUpgrade(Protocol):
    """A WebSocket protocol that takes an upgrade over from what httptools parsed."""

    @classmethod
    def for_parsed_upgrade(
        cls, config: Any, server_state: Any, app_state: dict[str, Any], loop: Any
    ) -> _TakesParsedUpgrade: ...

    def upgrade_parsed(
        self,
        transport: asyncio.Transport,
        addresses: tuple[Any, Any, Any],
        request: Mapping[str, Any],
        target: bytes,
    ) -> None: ...


class _ServerConstants:
    """What uvicorn's `HttpToolsProtocol.__init__` derives from the server's config for
    every connection, derived once per config: two logger look-ups (each under the
    logging module's lock) and `Config.asgi_version`, a property that builds a dict; and
    the scheme, which uvicorn's `connection_made` asks each transport for (`is_ssl`): the
    server's sockets are TLS ones exactly when its config has an SSL context (uvicorn's
    server passes `config.ssl` to `create_server`, and names its scheme by it too)."""

    __slots__ = ("access_logger", "asgi_version", "config", "logger", "scheme")

    def __init__(self, config: Any) -> None:
        self.config = config
        self.logger = logging.getLogger("uvicorn.error")
        self.access_logger = logging.getLogger("uvicorn.access")
        self.asgi_version = config.asgi_version
        self.scheme: Literal["http", "https"] = "https" if config.ssl else "http"


_last_constants: _ServerConstants | None = None  # of the config that asked last (one per server)


def constants_of(config: Any) -> _ServerConstants:
    global _last_constants
    constants = _last_constants
    if constants is None or constants.config is not config:
        constants = _last_constants = _ServerConstants(config)
    return constants


class HttpProtocol(HttpToolsProtocol):
    # The request headers `_should_upgrade` last judged, and its answer for them.
    _upgrade_judged: list[tuple[bytes, bytes]] | None = None
    _upgrade_answer = False

    def __init__(
        self,
        config: Any,
        server_state: Any,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        # uvicorn's, every field set as it sets it (`internals_missing` checks that none is
        # left out), with what depends on the config alone taken from `constants_of`.
        if not config.loaded:
            config.load()
        constants = constants_of(config)
        self.config = config
        self.app = config.loaded_app
        self.loop = _loop or asyncio.get_event_loop()
        self.logger = constants.logger
        self.access_logger = constants.access_logger
        # Asked per connection, as uvicorn does: a handler added later still counts.
        self.access_log = self.access_logger.hasHandlers()
        self.parser = httptools.HttpRequestParser(self)
        # uvicorn's leniency: answer a pipelined request's first request whatever follows.
        self.parser.set_dangerous_leniencies(lenient_data_after_close=True)
        self.ws_protocol_class = config.ws_protocol_class
        self.root_path = config.root_path
        self.asgi_version = constants.asgi_version
        self.limit_concurrency = config.limit_concurrency
        self.app_state = app_state
        self.timeout_keep_alive_task = None
        self.timeout_keep_alive = config.timeout_keep_alive
        self.server_state = server_state
        self.connections = server_state.connections
        self.tasks = server_state.tasks
        self.transport = None  # type: ignore[assignment]
        self.flow = None  # type: ignore[assignment]
        self.server = None
        self.client = None
        self.scheme = constants.scheme  # uvicorn: None until `connection_made` asks
        self.pipeline = deque()
        self.scope = None  # type: ignore[assignment]
        self.headers = None  # type: ignore[assignment]
        self.expect_100_continue = False
        self.cycle = None  # type: ignore[assignment]

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        # uvicorn's, with the addresses the transport looked up when the connection was
        # made: uvicorn asks the socket again, and uvloop answers with a socket object
        # made for each question, five system calls per connection (every HTTP
        # connection, every WebSocket and SSE stream).
        self.connections.add(self)
        self.transport = transport
        self.flow = FlowControl(transport)
        self.server = _address(transport.get_extra_info("sockname"))
        peer = _address(transport.get_extra_info("peername"))
        self.client = None if peer is None or peer[1] is None else (peer[0], peer[1])
        # `self.scheme`: the server's, set by `__init__` (`_ServerConstants`).
        if self.logger.level <= TRACE_LOG_LEVEL:
            prefix = f"{self.client[0]}:{self.client[1]} - " if self.client else ""
            self.logger.log(TRACE_LOG_LEVEL, "%sHTTP connection made", prefix)

    def _should_upgrade(self) -> bool:
        # uvicorn asks up to three times per upgrade request (headers complete, message
        # complete, then here in `data_received`), each a scan of its headers: once here.
        headers = self.headers
        if self._upgrade_judged is not headers:
            self._upgrade_judged = headers
            self._upgrade_answer = super()._should_upgrade()
        return self._upgrade_answer

    def data_received(self, data: bytes) -> None:
        # uvicorn's, but the bytes after an upgrade request's head go to the new protocol.
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            msg = "Invalid HTTP request received."
            self.logger.warning(msg)
            self.send_400_response(msg)
        except httptools.HttpParserUpgrade as upgrade:
            if not self._should_upgrade():
                self._unsupported_upgrade_warning()
                return
            self.handle_websocket_upgrade()
            rest = data[upgrade.args[0] :] if upgrade.args else b""
            if rest and not self.transport.is_closing():  # not after a refused handshake
                self.transport.get_protocol().data_received(rest)  # type: ignore[attr-defined]
            if self.transport.get_protocol() is not self:
                # The connection is the WebSocket protocol's now; this one gets no further
                # call. Its parser holds its callbacks, bound to it: a cycle uvicorn breaks
                # in `connection_lost`, which an upgraded connection never reaches here, so
                # every WebSocket left this protocol, its parser and what they hold to the
                # cyclic collector (decisions.md, "Nothing of a closed socket waits for
                # the collector").
                self.parser = None  # type: ignore[assignment]

    def handle_websocket_upgrade(self) -> None:
        # Our WebSocket protocol judges the handshake from what httptools parsed
        # (app/server/ws_protocol.py); uvicorn writes the request out again for websockets
        # to parse, which stays the way with permessage-deflate (websockets negotiates it).
        protocol_class = self.ws_protocol_class
        if self.config.ws_per_message_deflate or not hasattr(protocol_class, "upgrade_parsed"):
            super().handle_websocket_upgrade()
            return
        self.connections.discard(self)
        taker: type[_TakesParsedUpgrade] = protocol_class  # type: ignore[assignment]
        protocol = taker.for_parsed_upgrade(
            self.config, self.server_state, self.app_state, self.loop
        )
        addresses = (self.server, self.client, self.scheme)
        protocol.upgrade_parsed(self.transport, addresses, self.scope, self.url)
        self.transport.set_protocol(protocol)  # type: ignore[arg-type]

    def send_400_response(self, msg: str) -> None:
        # uvicorn's answer to a request its parser refuses, as a problem.
        headers, body = problem_parts(400, "the request is not valid HTTP/1.1")
        head = [STATUS_LINE[400]]
        for name, value in [*self.server_state.default_headers, *headers]:
            head += (name, b": ", value, b"\r\n")
        self.transport.write(b"".join([*head, b"\r\n", body]))
        self.transport.close()

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: Any) -> None:
        # uvicorn builds the cycle itself; its class is the one thing changed.
        cycle.__class__ = OneWriteCycle
        assert isinstance(cycle, OneWriteCycle)
        extensions: dict[str, Any] = cycle.scope.setdefault("extensions", {})
        extensions[HTTP_STREAM] = stream_extension(cycle)
        super()._start_asgi_task(cycle, app)

    def resume_writing(self) -> None:
        super().resume_writing()
        cycle = self.cycle
        if isinstance(cycle, OneWriteCycle):
            cycle.writable_again()

    def connection_lost(self, exc: Exception | None) -> None:
        cycle = self.cycle
        super().connection_lost(exc)
        if isinstance(cycle, OneWriteCycle):
            cycle.disconnected_now()

    def timeout_keep_alive_handler(self) -> None:
        if _bytes_waiting(self.transport):  # a request the loop has not read yet
            self.timeout_keep_alive_task = self.loop.call_later(
                self.timeout_keep_alive, self.timeout_keep_alive_handler
            )
            return
        super().timeout_keep_alive_handler()


def _address(info: Any) -> tuple[str, int | None] | None:
    """A socket address as uvicorn's `get_local_addr` gives it: (host, port) for IP (v4 or
    v6), (path, None) for a Unix socket."""
    if isinstance(info, tuple | list) and len(info) >= 2:
        return (str(info[0]), int(info[1]))
    if isinstance(info, str):
        return (info, None)
    return None


def _bytes_waiting(transport: BaseTransport) -> int:
    """How many received bytes wait unread in the transport's socket (0 if unknown)."""
    sock = transport.get_extra_info("socket")
    if sock is None:
        return 0
    count = array.array("i", [0])
    try:
        fcntl.ioctl(sock.fileno(), termios.FIONREAD, count)
    except (OSError, ValueError):
        return 0
    return count[0]


def _init_left_out() -> list[str]:
    """What uvicorn's `__init__` sets and ours (which replaces it) does not."""
    unset = stored_attributes(HttpToolsProtocol.__init__) - stored_attributes(HttpProtocol.__init__)
    return [f"HttpToolsProtocol.__init__ sets {name}" for name in sorted(unset)]


def internals_missing() -> list[str]:
    """uvicorn's private names this module relies on that the installed uvicorn lacks."""
    return (
        _init_left_out()
        + missing_internals(
            HttpToolsProtocol,
            (
                "connection_made",
                "_start_asgi_task",
                "send_400_response",
                "_should_upgrade",
                "handle_websocket_upgrade",
                "_unsupported_upgrade_warning",
                "_unset_keepalive_if_required",
                "connection_lost",
                "timeout_keep_alive_handler",
            ),
            (
                "parser",
                "cycle",
                "flow",
                "server_state",
                "transport",
                "logger",
                "loop",
                "timeout_keep_alive",
                "timeout_keep_alive_task",
                "config",
                "ws_protocol_class",
                "app_state",
                "connections",
                "server",
                "client",
                "scheme",
                "scope",
                "url",
            ),
            ("__init__", "connection_made", "on_message_begin"),
        )
        + missing_internals(
            RequestResponseCycle,
            ("send", "run_asgi"),
            (
                "access_log",
                "chunked_encoding",
                "default_headers",
                "disconnected",
                "expected_content_length",
                "flow",
                "keep_alive",
                "message_event",
                "on_response",
                "response_complete",
                "response_started",
                "scope",
                "transport",
                "waiting_for_100_continue",
            ),
            ("__init__",),
        )
    )
