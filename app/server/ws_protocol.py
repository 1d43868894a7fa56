"""uvicorn's WebSocket protocol, with a direct write path and a smaller footprint.

- Direct writes: `scope["extensions"][SEND_MANY].write_frames(frames, on_writable)`
  (`.write_frame(frame, on_writable)` for one frame, with no list per call)
  frames texts and writes them all with one `transport.write`, synchronously,
  so the hub can hand a committed group to every subscriber's socket without
  waking a task, building an ASGI message or awaiting per connection. It
  returns False when it cannot write now: the transport is paused (the peer
  reads slowly; `on_writable` is then called once it drains) or the
  connection is closing or gone. Everything else (accept, close) stays on the
  ASGI `send`, so middleware still sees the handshake and the close code;
  `"sent"` tells it how many payload bytes went the direct way.
- A peer that stopped reading is dropped: uvicorn ends a connection whose ping
  went unanswered, or whose closing handshake timed out, with
  `transport.close()`, which first flushes what is buffered; for a peer that
  stopped reading, with changes still queued for it, that never happens, and
  the connection, its subscriptions and presence would outlive it for good.
  `abort()` drops it at once.
- Idle connections are the common case, so each costs less (28.6 -> 14.4 KiB
  of RSS for an idle subscriber, with the app's share): uvicorn's
  `asyncio.Queue` of receive events (three deques and an Event, ~3 KiB) is
  the protocol itself (a list made only while events wait to be read), its
  `asyncio.Event` for backpressure (a deque) one shared object until the
  socket is paused, its ~37 attributes are slotted rather than in a dict,
  and the handshake's request and response are let go once answered. Every
  accepted socket survives, so each object it keeps is traced by the
  garbage collector's young and middle collections: fewer objects per
  socket is less of the collector's work per accept. A socket of the
  parsed-upgrade way is built by `for_parsed_upgrade`, not uvicorn's
  `__init__`, whose queue, Event and logger look-ups would be thrown away.
- Keep-alive pings come from one shared timer (`_PingWheel`), not a timer per
  connection: uvicorn's `call_later` per socket (a libuv timer, its handle, a
  bound method and a context, ~0.6 KiB, and objects the garbage collector
  traces) is replaced by an entry in a set of the ~0.1 s slot it falls in. A
  ping goes out up to one slot later than uvicorn would send it; the pong
  deadline (`ping_timeout`) is uvicorn's own timer, made only while a ping is
  in flight.
- Its per-connection INFO lines (uvicorn's `"WebSocket /v1/ws" [accepted]`,
  websockets' `connection open` and `connection closed`) are DEBUG lines here:
  our access log already writes one line per socket session, buffered, and
  these three were written to stderr one syscall each, about 15 % of the CPU
  an accept costs (docs/performance.md). Warnings and errors are unchanged.
- The opening handshake is judged and answered from the request httptools
  already parsed (`upgrade_parsed`, called by app/server/http_protocol.py;
  app/server/ws_handshake.py), not written back out for websockets to parse
  again; the 101 is written in one piece when the app accepts. The
  connection's address, peer and scheme come from the HTTP protocol too
  (uvicorn looked them up again per socket). websockets still frames and
  parses frames. With permessage-deflate configured, the upgrade goes
  through websockets as uvicorn has it (its negotiation is websockets').
- A handshake refused by the protocol itself (no Sec-WebSocket-Key, not a
  GET, ...; uvicorn: a 500) is answered as a problem (RFC 9457) with an
  X-Request-ID, as every answer of the app is, rather than plain text.
"""

from __future__ import annotations

import asyncio
import logging
import math
import struct
import weakref
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote

from uvicorn.protocols.http.httptools_impl import HEADER_RE, HEADER_VALUE_RE, STATUS_LINE
from uvicorn.protocols.utils import ClientDisconnected
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.exceptions import InvalidState
from websockets.http11 import Request, Response
from websockets.protocol import CONNECTING, OPEN, SERVER, Protocol
from websockets.server import ServerProtocol
from websockets.streams import StreamReader

from app.asgi_extensions import SEND_MANY
from app.server import ws_handshake
from app.server.context import valid_request_id
from app.server.http_protocol import constants_of, problem_parts
from app.server.internals import missing_internals, stored_attributes

# What each refusal of a handshake says (websockets' own text can repeat header values).
_REFUSALS = {
    400: "not a valid WebSocket handshake",
    403: "the WebSocket handshake was refused",
    405: "a WebSocket handshake is a GET request",
    426: "a WebSocket handshake needs Upgrade: websocket",
    500: "an internal error occurred",
    505: "a WebSocket handshake needs HTTP/1.1",
}

# The header of an unmasked, final text frame (RFC 6455 §5.2) of each short size.
_SHORT_HEADS = tuple(bytes((0x81, size)) for size in range(126))
_MEDIUM_HEAD = struct.Struct("!BBH").pack


def text_frame_head(size: int) -> bytes:
    if size < 126:
        return _SHORT_HEADS[size]
    if size < 65536:
        return _MEDIUM_HEAD(0x81, 126, size)
    return b"\x81\x7f" + size.to_bytes(8, "big")


class _LastFrame:
    """The last text sent alone and its bytes on the wire. A change's frame is one object
    shared by its subscribers, sent to each in turn (one write in flight: each alone),
    so it is framed once for all of them rather than once per socket."""

    __slots__ = ("size", "text", "wire")

    def __init__(self) -> None:
        self.text: str | bytes = b""
        self.wire = _SHORT_HEADS[0]
        self.size = 0


_LAST_FRAME = _LastFrame()


class _SessionLog:
    """The logger uvicorn's protocol and websockets' connection log to, with their
    per-connection INFO lines demoted to DEBUG; anything else as the logger has it."""

    __slots__ = ("_logger",)

    def __init__(self, logger: logging.Logger) -> None:
        self._logger = logger

    def info(self, msg: object, *args: object, **kwargs: Any) -> None:
        self._logger.debug(msg, *args, **kwargs)

    def isEnabledFor(self, level: int) -> bool:
        # Asked once per socket (websockets' `debug`): not through `__getattr__`, which
        # runs only after a failed look-up has raised and caught an AttributeError.
        return self._logger.isEnabledFor(level)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._logger, name)


_SESSION_LOG = _SessionLog(logging.getLogger("uvicorn.error"))


class _Writable:
    """What uvicorn uses of an `asyncio.Event` for write backpressure."""

    __slots__ = ("_waiters", "value")

    def __init__(self) -> None:
        self.value = True
        self._waiters: list[asyncio.Future[None]] | None = None

    def is_set(self) -> bool:
        return self.value

    def set(self) -> None:
        self.value = True
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        self.value = False

    async def wait(self) -> bool:
        if self.value:
            return True
        waiter = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        try:
            await waiter
        finally:
            if self._waiters is not None and waiter in self._waiters:
                self._waiters.remove(waiter)
        return True


# The `writable` of every socket that is not paused: shared (`pause_writing` gives a
# paused socket one of its own), so an idle socket keeps no object for it.
_WRITABLE = _Writable()


class _PingWheel:
    """The keep-alive pings of one event loop's sockets, due by slot of `SLOT_S`.

    One timer for the earliest slot with sockets in it; when it fires, every
    socket due by then is pinged (uvicorn's `send_keepalive_ping`, which arms
    the pong deadline). A socket is in at most one slot (`_ping_slot`).
    """

    SLOT_S = 0.1

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.slots: dict[int, set[WebSocketProtocol]] = {}
        self.timer: asyncio.TimerHandle | None = None
        self.timer_slot: int | None = None

    def add(self, protocol: WebSocketProtocol, delay: float) -> None:
        self.discard(protocol)
        slot = math.ceil((self.loop.time() + delay) / self.SLOT_S)
        due = self.slots.get(slot)
        if due is None:
            due = self.slots[slot] = set()
        due.add(protocol)
        protocol._ping_slot = slot
        if self.timer_slot is None or slot < self.timer_slot:
            self._arm(slot)

    def discard(self, protocol: WebSocketProtocol) -> None:
        slot = protocol._ping_slot
        if slot is None:
            return
        protocol._ping_slot = None
        due = self.slots.get(slot)
        if due is not None:
            due.discard(protocol)
            if not due:
                del self.slots[slot]

    def _arm(self, slot: int) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.timer_slot = slot
        self.timer = self.loop.call_at(slot * self.SLOT_S, self._fire)

    def _fire(self) -> None:
        self.timer = self.timer_slot = None
        # Timers may fire a little early (libuv counts milliseconds): due is due within 2 ms.
        now = (self.loop.time() + 0.002) / self.SLOT_S
        for slot in sorted(s for s in self.slots if s <= now):
            for protocol in self.slots.pop(slot):
                protocol._ping_slot = None
                try:
                    protocol.send_keepalive_ping()
                except Exception:  # one broken socket must not stop the others' pings
                    _SESSION_LOG.exception("keep-alive ping failed")
        if self.slots:
            self._arm(min(self.slots))


_PING_WHEELS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _PingWheel] = (
    weakref.WeakKeyDictionary()
)


_last_wheel: _PingWheel | None = None  # the one of the loop that asked last (one per server)


def _ping_wheel(loop: asyncio.AbstractEventLoop) -> _PingWheel:
    global _last_wheel
    wheel = _last_wheel
    if wheel is not None and wheel.loop is loop:
        return wheel  # no weak reference made and dropped per look-up
    wheel = _PING_WHEELS.get(loop)
    if wheel is None:
        wheel = _PING_WHEELS[loop] = _PingWheel(loop)
    _last_wheel = wheel
    return wheel


# What uvicorn (0.54) sets on its WebSocket protocol: slots rather than a dict of 37.
_UVICORN_ATTRIBUTES = (
    "app",
    "app_state",
    "asgi_version",
    "client",
    "close_sent",
    "close_timeout",
    "close_timer",
    "config",
    "conn",
    "connections",
    "curr_msg_data_type",
    "default_headers",
    "disconnected",
    "frames",
    "handshake_complete",
    "handshake_initiated",
    "initial_response",
    "last_ping_rtt",
    "logger",
    "loop",
    "pending_ping_payload",
    "ping_interval",
    "ping_sent_at",
    "ping_timeout",
    "ping_timer",
    "pong_timer",
    "queue",
    "read_paused",
    "request",
    "response",
    "root_path",
    "scheme",
    "scope",
    "server",
    "tasks",
    "transport",
    "writable",
)


class ProblemRefusals(ServerProtocol):
    """websockets' server side, refusing a handshake with a problem, not plain text."""

    request_id: str | None = None

    def accept(self, request: Request) -> Response:
        self.request_id = valid_request_id(request.headers.get("X-Request-ID"))
        return super().accept(request)

    @classmethod
    def judged_elsewhere(cls, max_size: int | None) -> ProblemRefusals:
        """The connection of a handshake judged from httptools' parse (`upgrade_parsed`):
        the fields websockets' `__init__` sets (`internals_missing` checks that none is
        left out), as it sets them, but for what that way never uses: no handshake parser
        (frames that come before the 101 are parsed as websockets would: its frame parser,
        from the start, while the connection stays CONNECTING until the app accepts), no
        extension factories (none is negotiated, so no list of them), and no `id` made
        from `os.urandom` per socket (it names a connection in websockets' own logs only,
        where nothing here reads it)."""
        conn = cls.__new__(cls)
        conn.id = None  # type: ignore[assignment]
        conn.logger = _SESSION_LOG  # type: ignore[assignment]
        conn.debug = _SESSION_LOG.isEnabledFor(logging.DEBUG)
        conn.side = SERVER
        conn.state = CONNECTING
        conn.max_message_size, conn.max_fragment_size = max_size, None
        conn.current_size = None
        conn.expect_continuation_frame = False
        conn.origin = None
        conn.extensions = ()  # type: ignore[assignment]
        conn.subprotocol = None
        conn.close_rcvd = conn.close_sent = conn.close_rcvd_then_sent = None
        conn.handshake_exc = None
        conn.eof_sent = False
        conn.reader = StreamReader()
        conn.events = []
        conn.writes = []
        conn.parser = Protocol.parse(conn)
        next(conn.parser)
        conn.parser_exc = None
        conn.origins = conn.available_extensions = conn.available_subprotocols = None
        conn.accept_called = False
        return conn

    def reject(self, status: Any, text: str) -> Response:
        response = super().reject(status, text)
        detail = _REFUSALS.get(response.status_code, "the WebSocket handshake was refused")
        headers, body = problem_parts(response.status_code, detail, self.request_id)
        for name, value in headers:
            if name.decode() in response.headers:
                del response.headers[name.decode()]
            response.headers[name.decode()] = value.decode()
        response.body = body
        return response


class WebSocketProtocol(WebSocketsSansIOProtocol):
    __slots__ = (
        *_UVICORN_ATTRIBUTES,
        "_accept_key",
        "_app_running",
        "_getter",
        "_on_writable",
        "_ping_slot",
        "_plain",
        "_received",
        "direct_bytes",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # uvicorn's way in: the upgrade through websockets (permessage-deflate configured).
        super().__init__(*args, **kwargs)
        self.conn.__class__ = ProblemRefusals  # uvicorn builds it: its class is what changes
        self.conn.logger = _SESSION_LOG  # type: ignore[assignment]
        self._init_own()

    @classmethod
    def for_parsed_upgrade(
        cls,
        config: Any,
        server_state: Any,
        app_state: dict[str, Any],
        loop: asyncio.AbstractEventLoop,
    ) -> WebSocketProtocol:
        """A protocol for `upgrade_parsed`, with uvicorn's fields set as its `__init__`
        sets them (`internals_missing` checks that none is left out), minus what this class
        replaces anyway: its receive queue and write Event, two logger look-ups, and a
        websockets connection whose class is changed afterwards (which gives the
        connection a dict of its own)."""
        self = cls.__new__(cls)
        self.config = config
        self.app = config.loaded_app
        self.loop = loop
        self.root_path = config.root_path
        self.asgi_version = constants_of(config).asgi_version  # a property building a dict
        self.app_state = app_state
        self.connections = server_state.connections
        self.tasks = server_state.tasks
        self.default_headers = server_state.default_headers
        self.transport = None  # type: ignore[assignment]
        self.server = self.client = None
        self.scheme = None  # type: ignore[assignment]
        self.handshake_initiated = self.handshake_complete = False
        self.close_sent = self.disconnected = False
        self.close_timer = None
        self.close_timeout = 10.0
        self.initial_response = None
        self.conn = ProblemRefusals.judged_elsewhere(config.ws_max_size)
        self.read_paused = False
        self.ping_interval = config.ws_ping_interval
        self.ping_timeout = config.ws_ping_timeout
        self.ping_timer = self.pong_timer = None
        self.pending_ping_payload = None
        self.ping_sent_at = self.last_ping_rtt = 0.0
        self.frames = []
        self.curr_msg_data_type = "bytes"
        self._init_own()
        return self

    def _init_own(self) -> None:
        self.logger = _SESSION_LOG  # type: ignore[assignment]
        # The protocol is its own receive queue (`put_nowait`, `receive`): uvicorn's
        # `asyncio.Queue` is three deques and an Event per socket.
        self.queue = self  # type: ignore[assignment]
        self._received: list[Any] | None = None  # made when an event comes, let go when read
        self._getter: asyncio.Future[None] | None = None  # while the app waits in `receive`
        self.writable = _WRITABLE  # type: ignore[assignment]
        self._on_writable: Callable[[], None] | None = None
        self._plain = False  # accepted with no extension transforming frames
        self._ping_slot: int | None = None  # its slot in the loop's `_PingWheel`
        self.direct_bytes = 0  # payload bytes written by `write_frames`
        # `Sec-WebSocket-Accept` of a handshake judged by `upgrade_parsed`, until the 101.
        self._accept_key: bytes | None = None
        self._app_running = False  # from the app's task made to its `on_task_complete`

    def put_nowait(self, event: Any) -> None:
        """uvicorn's `self.queue.put_nowait`: an event for the app's `receive`."""
        received = self._received
        if received is None:
            self._received = [event]
        else:
            received.append(event)
        getter = self._getter
        if getter is not None and not getter.done():
            getter.set_result(None)

    def empty(self) -> bool:
        return not self._received

    def upgrade_parsed(
        self,
        transport: asyncio.Transport,
        addresses: tuple[Any, Any, Any],
        request: Mapping[str, Any],
        target: bytes,
    ) -> None:
        """Take the connection over from the HTTP protocol whose parser read the upgrade
        `request` (its scope, header names in lower case) for `target`; judge the handshake
        and refuse it, or start the app (uvicorn's `connection_made` + `handle_connect`).
        `addresses` are the HTTP protocol's (server, client, scheme)."""
        self.connections.add(self)
        self.transport = transport
        server, self.client, scheme = addresses
        self.server = server
        self.scheme = "wss" if scheme == "https" else "ws"
        self.handshake_initiated = True
        self.request = self.response = None  # type: ignore[assignment]
        headers: list[tuple[bytes, bytes]] = request["headers"]
        judged = ws_handshake.check(request["method"], request["http_version"], headers)
        raw_path, _, query = target.partition(b"?")
        try:
            path = raw_path.decode("ascii")
        except UnicodeDecodeError:
            judged = ws_handshake.Refusal(400, "the request is not valid HTTP/1.1")
        if isinstance(judged, ws_handshake.Refusal):
            self._refuse(judged, headers)
            return
        self._accept_key = judged.accept
        root_path = self.root_path
        self.scope = {  # as uvicorn's `handle_connect` builds it
            "type": "websocket",
            "asgi": {"version": self.asgi_version, "spec_version": "2.4"},
            "http_version": "1.1",
            "scheme": self.scheme,
            "server": self.server,
            "client": self.client,
            "root_path": root_path,
            "path": root_path + (unquote(path) if "%" in path else path),
            "raw_path": root_path.encode("ascii") + raw_path,
            "query_string": query,
            "headers": headers,
            # A sequence, as ASGI has it; none offered (the common case) keeps no list.
            "subprotocols": judged.subprotocols or (),
            "state": request["state"],  # the HTTP protocol's copy of the app's state
            "extensions": {"websocket.http.response": {}},
        }
        self.queue.put_nowait({"type": "websocket.connect"})
        task = self.loop.create_task(self.run_asgi())
        task.add_done_callback(self.on_task_complete)
        self.tasks.add(task)
        self._app_running = True
        self._offer_direct_writes()

    def _refuse(self, refusal: ws_handshake.Refusal, headers: list[tuple[bytes, bytes]]) -> None:
        """Answer a handshake judged invalid with a problem, in one write, and close."""
        request_id = None
        for name, value in headers:
            if name == b"x-request-id":
                request_id = valid_request_id(value.decode("latin-1"))
        extra, body = problem_parts(refusal.status, refusal.detail, request_id)
        parts = [STATUS_LINE[refusal.status]]
        for name, value in (*self.default_headers, *refusal.headers, *extra):
            parts += (name, b": ", value, b"\r\n")
        parts += (b"\r\n", body)
        self.handshake_complete = self.close_sent = True
        self.transport.write(b"".join(parts))
        self.transport.close()

    def handle_connect(self, event: Any) -> None:
        # The upgrade through websockets (permessage-deflate configured).
        super().handle_connect(event)
        if self.close_sent:
            return  # a refused handshake: answered, and no app runs
        self._app_running = True
        self._offer_direct_writes()
        self.request = None  # type: ignore[assignment]
        self._drop_handshake_parser()

    def _offer_direct_writes(self) -> None:
        # The app's task is created but has not run yet: it sees the extension.
        extensions: dict[str, Any] = self.scope["extensions"]
        extensions[SEND_MANY] = self  # `DirectWrites`: no dict, no bound methods

    def _drop_handshake_parser(self) -> None:
        """Let websockets' parsed request (~2 KiB of headers, copied into the scope) go.

        Its handshake parser keeps the request in its frame while it delegates
        to the frame parser, for the connection's life. When that frame parser
        waits at the start of a frame with nothing consumed (it always does
        right after the handshake, unless a frame came in the same read), a
        fresh frame parser is in exactly its state: use one instead.
        """
        conn = self.conn
        frames = getattr(conn.parser, "gi_yieldfrom", None)
        waiting = getattr(frames, "gi_yieldfrom", None)
        if (
            getattr(frames, "__qualname__", "") == "Protocol.parse"
            and getattr(waiting, "__qualname__", "") == "StreamReader.at_eof"
            and conn.current_size is None
            and not conn.reader.buffer
        ):
            parser = Protocol.parse(conn)
            next(parser)
            conn.parser = parser

    def write_frame(self, frame: str | bytes, on_writable: Callable[[], None]) -> bool:
        """`write_frames` of one frame (runs once per delivery: the hub's groups of one
        change are written to each socket as they are offered)."""
        transport = self.transport
        # `disconnected` is not read: a transport whose connection was lost is closing.
        if self.close_sent or not self.handshake_complete or transport.is_closing():
            return False
        if not self.writable.value:  # type: ignore[attr-defined]
            self._on_writable = on_writable
            return False
        if not self._plain:
            return self._write_extended([frame])
        # Server frames are unmasked and unfragmented here, so framing is just a header.
        last = _LAST_FRAME
        if frame is not last.text:
            data = frame.encode() if isinstance(frame, str) else frame
            last.size = size = len(data)
            last.wire = (_SHORT_HEADS[size] if size < 126 else text_frame_head(size)) + data
            last.text = frame
        self.direct_bytes += last.size
        transport.write(last.wire)
        return True

    def write_frames(self, frames: list[str | bytes], on_writable: Callable[[], None]) -> bool:
        """Frame `frames` (texts, str or UTF-8 bytes) and write them at once, or return False."""
        if len(frames) == 1:
            return self.write_frame(frames[0], on_writable)
        if (
            self.close_sent
            or self.disconnected
            or not self.handshake_complete
            or self.transport.is_closing()
        ):
            return False
        writable: _Writable = self.writable  # type: ignore[assignment]
        if not writable.value:
            self._on_writable = on_writable
            return False
        if not self._plain:
            return self._write_extended(frames)
        # Server frames are unmasked and unfragmented here, so framing is just a header.
        parts = []
        sent = 0
        for frame in frames:
            data = frame.encode() if isinstance(frame, str) else frame
            size = len(data)
            sent += size
            parts.append(_SHORT_HEADS[size] if size < 126 else text_frame_head(size))
            parts.append(data)
        self.direct_bytes += sent
        self.transport.write(b"".join(parts))
        return True

    def _write_extended(self, frames: list[str | bytes]) -> bool:
        """A negotiated extension (compression) transforms frames: websockets frames them."""
        try:
            for frame in frames:
                data = frame.encode() if isinstance(frame, str) else frame
                self.direct_bytes += len(data)
                self.conn.send_text(data)
        except InvalidState:
            return False
        self.transport.write(b"".join(self.conn.data_to_send()))
        return True

    def sent_directly(self) -> int:
        return self.direct_bytes

    def pause_writing(self) -> None:
        if self.writable is _WRITABLE:  # type: ignore[comparison-overlap]
            # The shared one stays set: a paused socket gets its own.
            self.writable = _Writable()  # type: ignore[assignment]
        self.writable.clear()

    def resume_writing(self) -> None:
        writable: _Writable = self.writable  # type: ignore[assignment]
        self.writable = _WRITABLE  # type: ignore[assignment]
        writable.set()
        on_writable, self._on_writable = self._on_writable, None
        if on_writable is not None:
            on_writable()

    def connection_lost(self, exc: Exception | None) -> None:
        self._on_writable = None
        super().connection_lost(exc)
        if not self._app_running:
            self._let_go()

    def on_task_complete(self, task: asyncio.Task[None]) -> None:
        super().on_task_complete(task)
        self._app_running = False
        if self.disconnected:
            self._let_go()

    def _let_go(self) -> None:
        """Break this protocol's cycles once the connection is lost and its app is done
        (nothing calls it again): it is its own receive queue, its scope offers it as the
        write extension, and its websockets connection's frame parser is a suspended
        generator holding the connection. Left in place, every closed socket waited for
        the cyclic collector with its transport, its websockets connection and their
        buffers, which a reconnect storm piles up by the thousand (decisions.md,
        "Nothing of a closed socket waits for the collector")."""
        self.queue = None  # type: ignore[assignment]
        self.scope = None  # type: ignore[assignment]
        conn = self.conn
        conn.parser = None  # type: ignore[assignment]  # a generator holding `conn`
        refused = conn.handshake_exc  # websockets' way (permessage-deflate) keeps it:
        if refused is not None:  # its traceback's frames hold the connection
            refused.__traceback__ = None

    async def send(self, message: Any) -> None:
        kind = message["type"]
        if (
            kind == "websocket.accept"
            and self._accept_key is not None
            and not self.handshake_complete
            and self.initial_response is None
        ):
            await self._switch_protocols(message)
            return
        await super().send(message)
        if kind == "websocket.accept":
            self._plain = not self.conn.extensions
            # The handshake is answered: its response (headers) is not needed again.
            self.response = None  # type: ignore[assignment]
        elif kind == "websocket.close" and self.close_timer is not None:
            self.close_timer.cancel()
            self.close_timer = self.loop.call_later(self.close_timeout, self._cut_stalled)

    async def _switch_protocols(self, message: Any) -> None:
        """Accept a handshake judged by `upgrade_parsed`: the 101 in one write (uvicorn's
        accept, with no `Headers` object; its INFO line is left to our access log)."""
        if not self.writable.is_set():
            await self.writable.wait()
        if self.disconnected:
            raise ClientDisconnected()
        accept, self._accept_key = self._accept_key, None
        assert accept is not None
        headers = list(message.get("headers", ()))
        subprotocol = message.get("subprotocol")
        if subprotocol:
            headers.append((b"sec-websocket-protocol", subprotocol.encode("latin-1")))
        if headers:  # the app's; the server's own (`default_headers`, its Date) go as they are
            names = b"".join([name for name, _ in headers])
            values = b"".join([value for _, value in headers])
            if HEADER_RE.search(names) or HEADER_VALUE_RE.search(values):
                raise RuntimeError("invalid header in websocket.accept")  # answered 500
        headers[:0] = self.default_headers
        if self.transport.is_closing():
            return
        self.handshake_complete = True
        self.conn.state = OPEN
        self._plain = not self.conn.extensions
        self.transport.write(ws_handshake.switching_protocols(accept, headers))
        self.start_keepalive()

    async def receive(self) -> Any:
        # uvicorn's, with the queue's `get` inlined (one coroutine frame less per idle
        # connection); one reader at a time, as ASGI has it.
        while not self._received:
            getter = self._getter = self.loop.create_future()
            try:
                await getter
            finally:
                self._getter = None
        received = self._received
        message = received.pop(0)
        if not received:
            self._received = None
            if self.read_paused:
                self.read_paused = False
                self.transport.resume_reading()
        return message

    def schedule_ping(self) -> None:
        # uvicorn's delay, on the shared wheel instead of a timer of this socket's own.
        assert self.ping_interval is not None
        delay = max(0.0, self.ping_interval - self.last_ping_rtt)
        _ping_wheel(self.loop).add(self, delay)

    def stop_keepalive(self) -> None:
        if self._ping_slot is not None:
            _ping_wheel(self.loop).discard(self)
        super().stop_keepalive()

    def keepalive_timeout(self) -> None:
        super().keepalive_timeout()
        self._cut_stalled()

    def _cut_stalled(self) -> None:
        """Drop a peer that reads nothing (no pong, no answer to our close frame). It
        cannot read a close frame either, so none is pretended: the access log says
        `stalled` whatever close code the app asked for, and the client resumes from
        the last seq it processed."""
        self.scope.setdefault("state", {})["stalled"] = True
        self.transport.abort()


def internals_missing() -> list[str]:
    """uvicorn's and websockets' private names this module relies on that they lack."""
    # What uvicorn's `__init__` sets and `for_parsed_upgrade` (which replaces it) does not.
    unset = (
        stored_attributes(WebSocketsSansIOProtocol.__init__)
        - stored_attributes(WebSocketProtocol.for_parsed_upgrade)
        - stored_attributes(WebSocketProtocol._init_own)
    )
    # What websockets' `__init__`s set and `judged_elsewhere` (which replaces them) does not.
    unset_conn = (
        stored_attributes(Protocol.__init__) | stored_attributes(ServerProtocol.__init__)
    ) - stored_attributes(ProblemRefusals.judged_elsewhere)
    return (
        [f"WebSocketsSansIOProtocol.__init__ sets {name}" for name in sorted(unset)]
        + [f"ServerProtocol.__init__ sets {name}" for name in sorted(unset_conn)]
        + missing_internals(
            WebSocketsSansIOProtocol,
            (
                "handle_connect",
                "send",
                "receive",
                "keepalive_timeout",
                "schedule_ping",
                "stop_keepalive",
                "send_keepalive_ping",
                "pause_writing",
                "resume_writing",
                "connection_lost",
                "run_asgi",
                "on_task_complete",
                "start_keepalive",
            ),
            _UVICORN_ATTRIBUTES,
            ("__init__", "handle_connect"),
        )
        + missing_internals(ServerProtocol, ("accept", "reject"), (), ())
        + missing_internals(
            Protocol,
            ("parse", "send_text", "data_to_send"),
            ("parser", "current_size", "reader", "state", "extensions"),
            ("__init__",),
        )
    )
