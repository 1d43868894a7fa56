"""Subscribers (WebSocket on picows, SSE on a bare asyncio protocol) and the delivery tracker.

Every subscriber counts the change deliveries it gets since the step began;
the `Tracker` keeps, per count c, how many subscribers have reached c, so
"write number c has reached every subscriber" is one comparison per delivery
(subscribers see writes in order). Latency steps also read the writer's send
time out of the frame: the value carries `"t":<10**15 + monotonic µs>`.

Flavours: `ls` (Levelstream `/v1/ws` and `/v1/stream`), `sio` (socket.io's
Engine.IO v4 protocol over a plain WebSocket: open `0{..}`, connect `40`,
events `42[..]`, ping `2` -> pong `3`), `raw` (the ceilings).
"""

from __future__ import annotations

import asyncio
import socket
import struct
import time
from collections import Counter
from typing import Any

from picows import WSFrame, WSListener, WSMsgType, WSTransport

from bench.payload import T_OFFSET

_T_KEY = b'"t":'
_WN_KEY = b'"wn":"'
_LINGER_RST = struct.pack("ii", 1, 0)  # close with RST: no TIME_WAIT for the generator's ports


def now_us() -> int:
    return time.monotonic_ns() // 1000


def make_socket(source: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RST)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((source, 0))
    sock.setblocking(False)
    return sock


class Tracker:
    """Deliveries of the current step, over every subscriber, checked one by one.

    Every write carries its number in the step (`"wn":"00000042"`, fixed width).
    A subscriber counts a number once: a repeat is a duplicate (an error, not a
    delivery). `check()` then finds, per subscriber, the writes it never got and
    whether it got them in the same order as every other subscriber (an
    order-sensitive hash of its sequence against the most common one): a server
    has one order of changes, and with one write in flight that is the order
    they were sent. A count of deliveries alone would let a duplicate hide a
    missing change.
    """

    def __init__(self) -> None:
        self.subs: list[Any] = []
        self.disconnects = 0
        self.unexpected = 0
        self.reset()

    def reset(self, *, latency: bool = False, window: asyncio.Semaphore | None = None) -> None:
        self.n = sum(1 for s in self.subs if s.ready and not s.gone)
        self.reached = [0] * 4096  # reached[c]: subscribers with at least c deliveries
        self.completed = 0  # writes that reached every subscriber
        self.delivered = 0
        self.duplicates = 0
        self.lat: list[int] | None = [] if latency else None
        self.window = window
        self.all_done = asyncio.Event()
        self.expect = 0  # completed writes that set `all_done`
        for sub in self.subs:
            sub.count = 0
            sub.seen = bytearray(4096)
            sub.order = 0

    def deliver(self, sub: Any, payload: bytes, at: int = -1) -> None:
        """One change frame (or the SSE buffer with its write number at `at`)."""
        if at < 0:
            at = payload.find(_WN_KEY)
            if at < 0:
                self.unexpected += 1
                return
        wn = int(payload[at + 6 : at + 14])
        seen = sub.seen
        if wn >= len(seen):
            seen.extend(bytes(max(len(seen), wn + 1 - len(seen))))
        if seen[wn]:
            self.duplicates += 1
            return
        seen[wn] = 1
        sub.order = (sub.order * 1_000_003 + wn + 1) & 0xFFFFFFFFFFFF
        c = sub.count = sub.count + 1
        self.delivered += 1
        reached = self.reached
        if c >= len(reached):
            reached.extend([0] * len(reached))
        r = reached[c] = reached[c] + 1
        if r == self.n:
            self.completed = c
            if self.window is not None:
                self.window.release()
            if c == self.expect:
                self.all_done.set()
        lat = self.lat
        if lat is not None:
            t = payload.rfind(_T_KEY, max(0, at - 80), at)
            if t < 0:
                t = payload.find(_T_KEY, at, at + 80)
            if t >= 0 and t + 20 <= len(payload):
                lat.append(now_us() - int(payload[t + 4 : t + 20]) + T_OFFSET)

    def check(self, writes: int) -> dict[str, int]:
        """After a step of `writes` writes: what is missing, repeated or out of order."""
        live = [s for s in self.subs if s.ready and not s.gone]
        missing = sum(max(0, writes - s.seen.count(1, 0, writes)) for s in live)
        orders = Counter(s.order for s in live)
        common = orders.most_common(1)[0][1] if orders else 0
        return {
            "missing": missing,
            "duplicates": self.duplicates,
            "out_of_order_subs": len(live) - common,
        }


class WsSub(WSListener):  # type: ignore[misc]
    """One WebSocket subscriber; `ready` once the server has registered it."""

    def __init__(self, tracker: Tracker, flavor: str, subscribe: bytes | None) -> None:
        super().__init__()
        self.tracker = tracker
        self.flavor = flavor
        self.subscribe = subscribe
        self.ready = False
        self.gone = False
        self.count = 0
        self.seen = bytearray()
        self.order = 0
        self.close_code = 0
        self.transport: WSTransport | None = None
        self.ready_future: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport
        if self.flavor == "ls":
            if self.subscribe is None:
                self._set_ready()
            else:
                transport.send(WSMsgType.TEXT, self.subscribe)

    def send_text(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.send(WSMsgType.TEXT, data)

    def _set_ready(self) -> None:
        self.ready = True
        if not self.ready_future.done():
            self.ready_future.set_result(None)

    def _fail(self, why: str) -> None:
        if not self.ready_future.done():
            self.ready_future.set_exception(ConnectionError(why))

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is not WSMsgType.TEXT:
            if frame.msg_type is WSMsgType.CLOSE:
                self.close_code = int(frame.get_close_code())
            return
        payload = frame.get_payload_as_bytes()
        flavor = self.flavor
        if self.ready:
            if flavor == "ls":
                if payload.startswith(b'{"type":"change"'):
                    self.tracker.deliver(self, payload)
                    return
                if payload.startswith(b'{"type":"reply"'):
                    # A subscribe sent later (catch-up): the reply starts the clock.
                    return
            elif flavor == "sio":
                if payload.startswith(b"42"):
                    self.tracker.deliver(self, payload)
                    return
                if payload == b"2":
                    transport.send(WSMsgType.TEXT, b"3")
                    return
            else:
                self.tracker.deliver(self, payload)
                return
            self.tracker.unexpected += 1
            return
        if flavor == "ls":
            if payload.startswith(b'{"type":"reply"') and b'"ok":true' in payload:
                self._set_ready()
            else:
                self._fail(f"subscribe refused: {payload[:200]!r}")
        elif flavor == "sio":
            if payload.startswith(b"0{"):
                transport.send(WSMsgType.TEXT, b"40")
            elif payload.startswith(b"40"):
                self._set_ready()
            elif payload == b"2":
                transport.send(WSMsgType.TEXT, b"3")
            else:
                self._fail(f"socket.io handshake: {payload[:200]!r}")
        elif payload == b"ready":
            self._set_ready()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        if not self.gone:
            self.gone = True
            if self.ready:
                self.tracker.disconnects += 1
        self._fail(f"disconnected (close code {self.close_code})")

    def abort(self) -> None:
        self.gone = True
        transport = self.transport
        underlying = transport.underlying_transport if transport is not None else None
        if underlying is not None:
            underlying.abort()


class SseSub(asyncio.Protocol):
    """One SSE subscriber over HTTP/1.1: every event's write number, read out of the body.

    Each change carries `"wn":"<8 digits>"` (and `"t":` near it); events never
    straddle a chunk of the chunked body (every server here writes an event in
    one piece), so the body is scanned as is, a partial event kept for the next
    read. Ready on `retry:` (Levelstream, the ceiling) or, for PocketBase, once
    `PB_CONNECT` named the clientId and the generator subscribed it.
    """

    def __init__(self, tracker: Tracker, request: bytes, flavor: str = "ls") -> None:
        self.tracker = tracker
        self.request = request
        self.flavor = flavor
        self.ready = False
        self.gone = False
        self.count = 0
        self.seen = bytearray()
        self.order = 0
        self.head = b""
        self.tail = b""
        self.body_started = False
        self.client_id = ""
        self.transport: asyncio.Transport | None = None
        loop = asyncio.get_running_loop()
        self.ready_future: asyncio.Future[None] = loop.create_future()
        self.connected: asyncio.Future[str] = loop.create_future()  # PocketBase's clientId

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        transport.write(self.request)

    def set_ready(self) -> None:
        self.ready = True
        if not self.ready_future.done():
            self.ready_future.set_result(None)

    def data_received(self, data: bytes) -> None:
        if not self.body_started:
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                return
            status = self.head[:12]
            if not status.startswith(b"HTTP/1.1 200"):
                self._fail(f"stream refused: {self.head[:300]!r}")
                return
            self.body_started = True
            data, self.head = self.head[end + 4 :], b""
        buf = self.tail + data if self.tail else data
        if not self.ready:
            if self.flavor == "pb":
                if not self.connected.done():
                    at = buf.find(b'{"clientId":"')
                    close = buf.find(b'"}', at + 13) if at >= 0 else -1
                    if close < 0:
                        self.tail = buf[-512:]
                        return
                    self.connected.set_result(buf[at + 13 : close].decode())
                self.tail = buf[-512:]
                return
            if b"retry:" not in buf:
                self.tail = buf[-64:]
                return
            self.set_ready()
        find, deliver, size, pos = buf.find, self.tracker.deliver, len(buf), 0
        while True:
            at = find(_WN_KEY, pos)
            if at < 0:
                self.tail = buf[max(pos, size - 96) :]
                return
            if at + 14 > size:
                self.tail = buf[max(pos, at - 96) :]
                return
            deliver(self, buf, at)
            pos = at + 14

    def _fail(self, why: str) -> None:
        for future in (self.ready_future, self.connected):
            if not future.done():
                future.set_exception(ConnectionError(why))

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.gone:
            self.gone = True
            if self.ready:
                self.tracker.disconnects += 1
        self._fail(f"connection lost: {exc}")

    def abort(self) -> None:
        self.gone = True
        if self.transport is not None:
            self.transport.abort()
