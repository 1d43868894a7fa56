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
import bisect
import socket
import struct
import time
from collections import Counter
from typing import Any

from picows import WSFrame, WSListener, WSMsgType, WSTransport

from bench.payload import T_OFFSET

_T_KEY = b'"t":'
_WN_KEY = b'"wn":"'
# What starts a change frame, per flavour (Levelstream, socket.io's event, the ceiling's
# value as published); nothing starts with `_NOTHING` (a subscriber not ready yet).
_CHANGE_PREFIX = {"ls": b'{"type":"change"', "sio": b"42", "raw": b'{"t":'}
_NOTHING = b"\xff"
_LINGER_RST = struct.pack("ii", 1, 0)  # close with RST: no TIME_WAIT for the generator's ports


def now_us() -> int:
    return time.monotonic_ns() // 1000


def make_socket(source: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RST)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if source != "127.0.0.1":  # the address `connect` takes for loopback by itself
        # A source of its own (`hold_max`'s 127.0.0.x, for more ports than one address
        # has): bound first. Not otherwise: a bind to port 0 searches the ports in use,
        # a system call per connect that `connect`'s own port choice does not need.
        sock.bind((source, 0))
    sock.setblocking(False)
    return sock


class Stray:
    """A subscriber that left the common order after `at` changes: what it took since."""

    def __init__(self, at: int, before: list[int]) -> None:
        self.at = at
        self.wns: list[int] = []
        self.seen = bytearray(max(before, default=0) + 1)
        for wn in before:
            self.seen[wn] = 1

    def add(self, wn: int) -> bool:
        """False for a number this subscriber took before (a duplicate)."""
        seen = self.seen
        if wn >= len(seen):
            seen.extend(bytes(wn + 1 - len(seen)))
        if seen[wn]:
            return False
        seen[wn] = 1
        self.wns.append(wn)
        return True


class Tracker:
    """Deliveries of the current step, over every subscriber, checked one by one.

    Every write carries its number in the step (`"wn":"00000042"`, fixed width).
    The first subscriber to take its c-th change fixes `order[c]`, the common
    order (a server has one order of changes; with one write in flight it is
    the order sent); every other subscriber's c-th change must be the same
    number: one int compare per delivery. A number already fixed at another
    position is never fixed again, so the common order has no repeats. A
    subscriber that disagrees once (a change missing, repeated or reordered)
    leaves that fast path for good: from then on `stray` keeps every number
    it takes, a repeat is a duplicate (an error, not a delivery), and `check()`
    rebuilds its whole sequence (the common order up to where it left, then
    its own) to find the writes it never got and whether its order differs
    from the common one. A count of deliveries alone would let a duplicate
    hide a missing change.
    """

    __slots__ = (
        "all_done",
        "completed",
        "disconnects",
        "duplicates",
        "expect",
        "fixed",
        "lat",
        "n",
        "order",
        "reached",
        "subs",
        "unexpected",
        "window",
    )

    def __init__(self) -> None:
        self.subs: list[Any] = []
        self.disconnects = 0
        self.unexpected = 0
        self.reset()

    def reset(self, *, latency: bool = False, window: asyncio.Semaphore | None = None) -> None:
        self.n = sum(1 for s in self.subs if s.ready and not s.gone)
        self.order = [-1] * 4096  # order[c]: the number of every subscriber's c-th change
        self.fixed = bytearray(4096)  # fixed[wn]: wn has its place in `order`
        self.reached = [0] * 4097  # reached[c]: subscribers with at least c changes
        self.completed = 0  # writes that reached every subscriber
        self.duplicates = 0
        self.lat: list[int] | None = [] if latency else None
        self.window = window
        self.all_done = asyncio.Event()
        self.expect = 0  # completed writes that set `all_done`
        for sub in self.subs:
            sub.count = 0
            sub.stray = None

    @property
    def delivered(self) -> int:
        """Distinct changes taken so far this step, over every subscriber."""
        return sum(s.count for s in self.subs)

    def reach(self, c: int) -> None:
        """One more subscriber has taken `c` changes."""
        r = self.reached[c] = self.reached[c] + 1
        if r == self.n:
            self.complete(c)

    def complete(self, c: int) -> None:
        """Write number c (counting from 1) has reached every subscriber."""
        self.completed = c
        if self.window is not None:
            self.window.release()
        if c == self.expect:
            self.all_done.set()

    def take(self, sub: Any, wn: int) -> None:
        """A change off the fast path (`order[sub.count] != wn`, or `sub` has left it)."""
        c = sub.count
        stray: Stray | None = sub.stray
        if stray is None:
            order, fixed = self.order, self.fixed
            if wn >= len(fixed):
                fixed.extend(bytes(wn + 1))
            if order[c] < 0 and not fixed[wn]:  # the first to take a c-th change
                order[c] = wn
                fixed[wn] = 1
                if c + 2 >= len(order):
                    order.extend([-1] * len(order))
                    self.reached.extend([0] * len(order))
                sub.count = c + 1
                self.reach(c + 1)
                return
            stray = sub.stray = Stray(c, order[:c])
        if not stray.add(wn):
            self.duplicates += 1
            return
        sub.count = c + 1
        if c + 2 >= len(self.reached):
            self.reached.extend([0] * len(self.reached))
        self.reach(c + 1)

    def note_latency(self, payload: bytes, at: int) -> None:
        """The write's send time, `"t":` near its number at `at` (latency steps only)."""
        assert self.lat is not None
        t = payload.rfind(_T_KEY, max(0, at - 80), at)
        if t < 0:
            t = payload.find(_T_KEY, at, at + 80)
        if t >= 0 and t + 20 <= len(payload):
            self.lat.append(now_us() - int(payload[t + 4 : t + 20]) + T_OFFSET)

    def deliver(self, sub: Any, payload: bytes, at: int = -1) -> None:
        """One change frame (or a buffer with its write number at `at`): the per-delivery
        work of the generator, kept to a search, an int parse and an int compare."""
        if at < 0:
            at = payload.find(_WN_KEY)
            if at < 0:
                self.unexpected += 1
                return
        wn = int(payload[at + 6 : at + 14])
        c = sub.count
        if sub.stray is None and self.order[c] == wn:
            sub.count = c = c + 1
            reached = self.reached
            r = reached[c] = reached[c] + 1
            if r == self.n:
                self.complete(c)
        else:
            self.take(sub, wn)
        if self.lat is not None:
            self.note_latency(payload, at)

    def deliver_events(self, sub: Any, buf: bytes) -> int:
        """Every change in `buf` (an SSE read, a partial event kept from the last one
        ahead of it): `deliver`'s work per change, the lookups made once per read.
        Returns where the bytes a later read may still need begin: a change cut short,
        or (latency steps) the send time that may precede the next one's number."""
        find, size, pos = buf.find, len(buf), 0
        order, reached, n, lat = self.order, self.reached, self.n, self.lat
        keep = 96 if lat is not None else 13  # 13: the most of `"wn":"` + 8 digits cut off
        while True:
            at = find(_WN_KEY, pos)
            if at < 0:
                return max(pos, size - keep)
            if at + 14 > size:
                return max(pos, at - keep)
            wn = int(buf[at + 6 : at + 14])
            c = sub.count
            if sub.stray is None and order[c] == wn:  # `order`, `reached` only grow in place
                sub.count = c = c + 1
                r = reached[c] = reached[c] + 1
                if r == n:
                    self.complete(c)
            else:
                self.take(sub, wn)
            if lat is not None:
                self.note_latency(buf, at)
            pos = at + 14

    def sequence(self, sub: Any) -> list[int]:
        """The distinct numbers `sub` took this step, in the order it took them."""
        if sub.stray is None:
            return self.order[: sub.count]
        return self.order[: sub.stray.at] + sub.stray.wns

    def check(self, writes: int) -> dict[str, int]:
        """After a step of `writes` writes: what is missing, repeated or out of order.

        Subscribers whose sequence is a prefix of the common order are keyed by its
        length (cheap at 10,000 subscribers); the rest by their whole sequence.
        """
        live = [s for s in self.subs if s.ready and not s.gone]
        order = self.order
        beyond = [c for c, wn in enumerate(order) if wn >= writes]  # numbers never issued
        missing = 0
        orders: Counter[int | tuple[int, ...]] = Counter()
        for sub in live:
            if sub.stray is None:
                n = sub.count
                got = n - bisect.bisect_left(beyond, n)
                key: int | tuple[int, ...] = n
            else:
                seq = self.sequence(sub)
                got = len({wn for wn in seq if wn < writes})
                n = len(seq)
                key = n if seq == order[:n] else tuple(seq)
            missing += max(0, writes - got)
            orders[key] += 1
        common = orders.most_common(1)[0][1] if orders else 0
        return {
            "missing": missing,
            "duplicates": self.duplicates,
            "out_of_order_subs": len(live) - common,
        }


class WsSub(WSListener):  # type: ignore[misc]
    """One WebSocket subscriber; `ready` once the server has registered it."""

    # Slots: the per-delivery attribute reads and writes (count, stray, prefix, tracker)
    # skip an instance dict.
    __slots__ = (
        "close_code",
        "count",
        "flavor",
        "gone",
        "prefix",
        "ready",
        "ready_future",
        "sock",
        "stray",
        "subscribe",
        "tracker",
        "transport",
    )

    def __init__(self, tracker: Tracker, flavor: str, subscribe: bytes | None) -> None:
        super().__init__()
        self.tracker = tracker
        self.flavor = flavor
        self.subscribe = subscribe
        self.ready = False
        self.gone = False
        self.count = 0
        self.stray: Stray | None = None
        self.prefix = _NOTHING  # what starts a change frame, once ready
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
        self.prefix = _CHANGE_PREFIX[self.flavor]
        if not self.ready_future.done():
            self.ready_future.set_result(None)

    def _fail(self, why: str) -> None:
        if not self.ready_future.done():
            self.ready_future.set_exception(ConnectionError(why))

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        # The hot path: a change (no other frame, close frames included, starts so).
        payload = frame.get_payload_as_bytes()
        if payload.startswith(self.prefix):
            self.tracker.deliver(self, payload)
            return
        if frame.msg_type is not WSMsgType.TEXT:
            if frame.msg_type is WSMsgType.CLOSE:
                # Answer the close and drop the connection: the server waits for the
                # answer before it closes (a refused credential would otherwise hold a
                # connection that never subscribes until the ramp's deadline).
                self.close_code = code = int(frame.get_close_code())
                self._fail(f"closed by the server (close code {code})")
                transport.send_close(frame.get_close_code())
                transport.disconnect()
            return
        flavor = self.flavor
        if self.ready:
            if flavor == "ls" and payload.startswith(b'{"type":"reply"'):
                return  # a subscribe sent later (catch-up): the reply starts the clock
            if flavor == "sio" and payload == b"2":
                transport.send(WSMsgType.TEXT, b"3")
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

    __slots__ = (
        "body_started",
        "client_id",
        "connected",
        "count",
        "flavor",
        "gone",
        "head",
        "ready",
        "ready_future",
        "request",
        "sock",
        "stray",
        "tail",
        "tracker",
        "transport",
    )

    def __init__(self, tracker: Tracker, request: bytes, flavor: str = "ls") -> None:
        self.tracker = tracker
        self.request = request
        self.flavor = flavor
        self.ready = False
        self.gone = False
        self.count = 0
        self.stray: Stray | None = None
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
        self.tail = buf[self.tracker.deliver_events(self, buf) :]

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
