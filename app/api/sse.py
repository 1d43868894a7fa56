"""Server-Sent Events on the wire: the response that streams a connection's outbox.

sse-starlette's `EventSourceResponse` runs four tasks per stream (data, ping
timer, shutdown watcher, disconnect listener) in an anyio task group, and a
cancel scope around every send: about 26 KiB per idle stream, and most of the
CPU of an SSE fan-out. Here a stream is one coroutine, and what those tasks
did is done once for all streams. On our server (the `write` of the
`HTTP_STREAM` extension) that coroutine only starts and ends the response:
events go to the socket from a `DirectOutbox`, written by the hub as the
WebSocket ones are, with no task woken per event.

- heartbeats: one timer (`StreamKeeper.run`) queues a comment on every stream;
- a reader that stopped reading: the same timer finds a send pending for
  longer than the send timeout and drops that connection;
- a client that went away: our uvicorn protocol calls back (the
  `HTTP_STREAM` extension); under another server, a task reads `receive`;
- shutdown: the hub closes every connection, which ends its stream.

The control lines are encoded by sse-starlette's `ServerSentEvent`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol

from sse_starlette import ServerSentEvent
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from app.asgi_extensions import HTTP_STREAM
from app.realtime.connection import Connection
from app.realtime.outbox import DirectOutbox, Flusher, Frame, Outbox

RETRY_MS = 2000
_SEP = "\n"  # as the change events' own framing
RETRY = ServerSentEvent(retry=RETRY_MS, sep=_SEP).encode()
PING = ServerSentEvent(comment="ping", sep=_SEP).encode()
# No cache-control here: RequestContext gives every /v1/ response its one `no-store`.
HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"x-accel-buffering", b"no"),
]


class HttpStream(Protocol):
    """What our HTTP protocol offers a streamed response as `HTTP_STREAM`
    (app/asgi_extensions.py): the request's cycle itself, no object more per request."""

    waiting_since: float  # loop time a `write_body` waits for a paused socket since; 0: none

    def start_stream(self, status: int, headers: list[tuple[bytes, bytes]], first: bytes) -> bool:
        """The head and `first` in one socket write; False: not started so."""

    def write_body(self, pieces: list[Frame], on_writable: Callable[[], None]) -> bool:
        """The body's next piece, written at once; False: not now."""

    def write_piece(self, piece: Frame, on_writable: Callable[[], None]) -> bool:
        """`write_body` of one piece (a delivery), with no list built."""

    def on_disconnect(self, callback: Callable[[], None] | None) -> None:
        """What to call once the client has gone."""

    def abort(self) -> None:
        """Drop the connection at once, unsent data included."""

    def sent_directly(self) -> int:
        """Body bytes written by `start_stream` and `write_body`."""


def http_stream(scope: Scope) -> HttpStream | None:
    """The server's `HTTP_STREAM` of this request, if it offers one."""
    stream: HttpStream | None = (scope.get("extensions") or {}).get(HTTP_STREAM)
    return stream


def stream_outbox(scope: Scope, limit: int, flusher: Flusher) -> Outbox:
    """The outbox of a new SSE connection: written straight to the socket where the
    server offers it (our HTTP protocol), else by `EventStream`. `retry` is the stream's
    first frame: queued here for `EventStream`, or written by it with the head."""
    stream = http_stream(scope)
    if stream is not None:
        return DirectOutbox(limit, stream.write_body, flusher, stream.write_piece)
    outbox = Outbox(limit)
    outbox.push(RETRY)
    return outbox


def closed_comment(code: int, reason: str) -> bytes:
    return ServerSentEvent(comment=f"closed {code} {reason}", sep=_SEP).encode()


class EventStream(Response):
    """The ASGI response of one SSE connection: its outbox, written as it fills.

    A `Response` only so that FastAPI hands it over as it is; Starlette's
    constructor is not used (it would declare an empty body).
    """

    def __init__(
        self, connection: Connection, keeper: StreamKeeper, on_end: Callable[[], None]
    ) -> None:
        self.status_code = 200
        self.background = None
        self.raw_headers = list(HEADERS)
        self.connection = connection
        self.keeper = keeper
        self.on_end = on_end
        self._sending_since = 0.0  # loop time a pending send started; 0: none pending
        self.sent = 0  # body bytes, for the access log
        self._server: HttpStream | None = None  # our server's, once the stream started
        self._task: asyncio.Task[Any] | None = None
        self._state: dict[str, Any] = {}  # the request's, for the access log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self._state = scope.setdefault("state", {})
        try:
            server = http_stream(scope)
            direct = isinstance(self.connection.outbox, DirectOutbox)
            # Our server writes the head and `retry` in one piece (one syscall, one segment).
            if not (direct and server and server.start_stream(200, self.raw_headers, RETRY)):
                start = {"type": "http.response.start", "status": 200, "headers": self.raw_headers}
                await send(start)
                if scope["method"] == "HEAD":
                    await send({"type": "http.response.body", "body": b""})
                    return
                if direct:  # the direct outbox holds no `retry`: it goes first here
                    await send({"type": "http.response.body", "body": RETRY, "more_body": True})
                    self.sent += len(RETRY)
            watcher = self._watch_disconnect(scope, receive)
            self.keeper.streams.add(self)
            try:
                await self._stream(send)
            finally:
                self.keeper.streams.discard(self)
                if watcher is not None:
                    watcher.cancel()
        finally:
            self.on_end()

    @property
    def sending_since(self) -> float:
        """Loop time since which the stream waits for the client to read; 0: it does not."""
        server = self._server
        return (server.waiting_since if server is not None else 0.0) or self._sending_since

    async def _stream(self, send: Send) -> None:
        connection, outbox = self.connection, self.connection.outbox
        loop = asyncio.get_running_loop()
        if isinstance(outbox, DirectOutbox):
            await self._direct(outbox)
        else:
            while True:
                frames = await outbox.take()
                if not frames:
                    break
                # One write for everything queued: fewer syscalls under load.
                chunk = b"".join(f if isinstance(f, bytes) else f.encode() for f in frames)
                self._sending_since = loop.time()
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                self._sending_since = 0.0
                self.sent += len(chunk)
        code = connection.close_code
        self._sending_since = loop.time()  # a reader that stopped is cut here too
        if code not in (None, 1000, 1001):
            # Slow consumer or revoked: say why before the stream ends.
            reason = closed_comment(code or 4008, connection.close_reason)
            await send({"type": "http.response.body", "body": reason, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        self._sending_since = 0.0

    async def _direct(self, outbox: DirectOutbox) -> None:
        """Wait while the hub writes the stream (what was queued before the response
        started first), until the outbox closes or has sent all after `end`."""
        done = asyncio.get_running_loop().create_future()

        def closed() -> None:
            if not done.done():
                done.set_result(None)

        outbox.on_close = closed
        if outbox.closed or outbox.overflowed or (outbox.ending and not len(outbox)):
            closed()  # it closed before this waited
        elif len(outbox):
            outbox()  # the response has started: flush what waits (a replay, say)
        await done
        if self._server is not None:
            self.sent += self._server.sent_directly()

    def _watch_disconnect(self, scope: Scope, receive: Receive) -> asyncio.Task[None] | None:
        """Close the outbox when the client goes away: through our server's extension,
        or else a task that waits for `http.disconnect`."""
        server = http_stream(scope)
        if server is not None:
            self._server = server
            server.on_disconnect(self.connection.outbox.close)
            return None

        async def wait_for_disconnect() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            self.connection.outbox.close()

        self._task = asyncio.current_task()
        return asyncio.create_task(wait_for_disconnect())

    def drop(self) -> None:
        """A reader that stopped reading: close it, dropping what it was sent. It reads
        no `: closed` comment either: the access log says `stalled`."""
        self._state["stalled"] = True
        self.connection.request_close(4008, self.connection.resume_hint)
        if self._server is not None:
            self._server.abort()  # the pending send returns once the socket is gone
        elif self._task is not None:
            self._task.cancel()


class StreamKeeper:
    """What every SSE stream needs on a timer: heartbeats, and cutting stalled readers."""

    def __init__(self, ping_s: float, send_timeout_s: float) -> None:
        self.ping_s = ping_s
        self.send_timeout_s = send_timeout_s
        self.streams: set[EventStream] = set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        check_every = min(self.send_timeout_s, 1.0)
        next_ping = next_check = loop.time()
        next_ping += self.ping_s
        while True:
            await asyncio.sleep(max(min(next_ping, next_check) - loop.time(), 0))
            now = loop.time()
            ping = now >= next_ping
            if ping:
                next_ping = now + self.ping_s
            if now >= next_check:
                next_check = now + check_every
            for stream in list(self.streams):
                pending = stream.sending_since
                if pending and now - pending > self.send_timeout_s:
                    stream.drop()
                elif ping:
                    self._ping(stream.connection)

    @staticmethod
    def _ping(connection: Connection) -> None:
        outbox = connection.outbox
        if not outbox.push(PING) and outbox.overflowed and connection.close_code is None:
            connection.request_close(4008, connection.resume_hint)
