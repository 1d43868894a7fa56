"""The real-time load generator: subscribers of one target and the steps run against them.

Steps (each returns one result dict):

- `connect`  open subscribers until `total` are registered (accept rate, the
  server's RSS before and after: memory per idle connection);
- `latency`  writes at a steady `rate`; every delivery's write-to-delivery time;
- `fanout`   closed loop: at most `window` writes not yet delivered to every
  subscriber; deliveries per second over a measured window;
- `catchup`  a new subscriber resumes `since` a seq and takes `expect` changes.

Every step ends by waiting until each write reached each subscriber; what did
not arrive is `lost`, and a step with losses or writer errors is void.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import socket
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import aiofastnet
from picows import WSAutoPingStrategy
from picows.picows import WSProtocol  # type: ignore[attr-defined]

from bench.loadgen import RawHttp1
from bench.measure import cpu_seconds, machine_busy_seconds, percentile
from bench.rtgen import commits
from bench.rtgen.clients import SseSub, Tracker, WsSub, make_socket
from bench.rtgen.writers import make_writer

OPEN_TIMEOUT_S = 20.0
# A ramp's one deadline: OPEN_TIMEOUT_S, plus this long per connection it opens (a ramp
# slower than 50 connections/s on average is broken, not slow).
RAMP_S_PER_CONN = 0.02
# `connect`'s ramps at most, however short each (a `min_window_s` the server cannot fill
# in this many is reported as it is, short).
MAX_RAMPS = 8
SUBSCRIBE = b'{"op":"subscribe","id":1,"sub":"s","collection":"bench"}'
_PICOWS_LOGGER = logging.getLogger("picows.client")  # what `ws_connect` logs to
_MAX_FRAME = 10 * 1024 * 1024  # `ws_connect`'s defaults, as it passes them on
_READ_BUFFER = 16 * 1024


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():  # cancelled by the ramp's deadline in the same loop pass
        future.set_result(None)


async def connect_socket(sock: socket.socket, address: tuple[str, int]) -> None:
    """Connect a non-blocking socket to an IP address. Not `loop.sock_connect`: uvloop's
    resolves even a numeric address with getaddrinfo on its thread pool, a thread hand-off
    per connection that cost the generator a tenth of its CPU in a connect ramp. Over
    loopback the handshake has completed when `connect` returns (EINPROGRESS all the
    same), so the wait for writability is only for when it has not."""
    err = sock.connect_ex(address)
    if err == errno.EINPROGRESS:
        try:
            sock.getpeername()  # ENOTCONN until established
            return
        except OSError:
            pass
        loop = asyncio.get_running_loop()
        writable = loop.create_future()
        fd = sock.fileno()
        loop.add_writer(fd, _resolve, writable)
        try:
            await writable
        finally:
            loop.remove_writer(fd)
        err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    if err:
        raise OSError(err, os.strerror(err))


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _described(exc: BaseException) -> str:
    """An exception and where it was raised, for a step's `first_error`."""
    where = traceback.extract_tb(exc.__traceback__)[-1]
    return f"{type(exc).__name__}: {exc} (at {Path(where.filename).name}:{where.lineno})"[:300]


class Probes:
    """CPU of the server, of this generator and of the whole machine over a window."""

    def __init__(self, server_pid: int) -> None:
        self.pid = server_pid

    def start(self) -> None:
        self.t = time.perf_counter()
        self.server = cpu_seconds(self.pid)
        self.own = os.times()
        self.machine = machine_busy_seconds()

    def stop(self) -> dict[str, float]:
        elapsed = time.perf_counter() - self.t
        self.server_cpu_s = cpu_seconds(self.pid) - self.server
        server = 100 * self.server_cpu_s / elapsed
        times = os.times()
        own_user = 100 * (times.user - self.own.user) / elapsed
        own_sys = 100 * (times.system - self.own.system) / elapsed
        own = own_user + own_sys
        self.own_cpu_s = times.user + times.system - self.own.user - self.own.system
        machine = 100 * (machine_busy_seconds() - self.machine) / elapsed
        return {
            "cpu_server_pct": round(server, 1),
            "cpu_loadgen_pct": round(own, 1),
            # The generator's share in the kernel (recv, epoll) against its own Python/C code.
            "loadgen_sys_pct": round(own_sys, 1),
            "machine_cpu_pct": round(machine, 1),
            "cpu_other_pct": round(max(0.0, machine - server - own), 1),
        }


def _segs_out(sock: socket.socket) -> int:
    """Segments this subscriber socket has sent (`tcpi_segs_out`): its ACKs, once connected."""
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 144)
    except OSError:
        return 0
    return int.from_bytes(info[136:140], "little")


class Gen:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.port: int = spec["port"]
        self.proto: str = spec["proto"]  # ws | sse
        self.flavor: str = spec["flavor"]  # ls | sio | raw
        self.token: str = spec.get("token", "")
        self.headers: dict[str, str] = spec.get("headers", {})
        self.sources: list[str] = spec.get("sources", ["127.0.0.1"])
        self.tracker = Tracker()
        self.probes = Probes(spec["server_pid"])
        self.opened = 0
        self.pb_pool: asyncio.Queue[RawHttp1] | None = None
        self.address = ("127.0.0.1", self.port)
        self.url = self.ws_url()  # built once: every connection asks for the same
        self.netloc = f"127.0.0.1:{self.port}"
        self.resource = self.url.removeprefix(f"ws://{self.netloc}")
        self.sse_head = self.sse_request()

    # --- opening subscribers -------------------------------------------------------

    def ws_url(self) -> str:
        base = f"ws://127.0.0.1:{self.port}"
        if self.flavor == "ls":
            return f"{base}/v1/ws?token={self.token}"
        if self.flavor == "sio":
            return f"{base}/socket.io/?EIO=4&transport=websocket"
        return f"{base}/"

    def sse_request(self, since: int | None = None) -> bytes:
        paths = {"ls": "/v1/stream?collection=bench", "pb": "/api/realtime"}
        path = paths.get(self.flavor, "/stream")
        lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}"]
        lines.append("Accept: text/event-stream")
        lines += [f"{k}: {v}" for k, v in self.headers.items()]
        if since is not None:
            lines.append(f"Last-Event-ID: {since}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    def ws_protocol(self, tracker: Tracker, subscribe: bytes | None) -> Any:
        """The picows client protocol `ws_connect` would make for `self.url` (its default
        settings; no handshake timer: the caller's deadline bounds the open)."""
        flavor = self.flavor
        return WSProtocol(
            self.netloc,
            self.resource,
            True,  # client side
            lambda: WsSub(tracker, flavor, subscribe),
            _PICOWS_LOGGER,
            True,  # disconnect on an exception in the listener
            None,  # handshake timeout
            False,  # auto ping
            10,
            10,
            WSAutoPingStrategy.PING_WHEN_IDLE,
            True,  # auto pong
            _MAX_FRAME,
            None,  # extra headers
            _READ_BUFFER,
        )

    async def open_ws(self, source: str, tracker: Tracker, subscribe: bool = True) -> WsSub:
        """A WebSocket subscriber once the server has answered its `subscribe` (or, for
        socket.io, its connect packet). No timeout of its own: the caller's deadline
        (`connect` has one for the whole ramp) bounds it.

        picows' own protocol over aiofastnet's transport, as `ws_connect` builds them,
        without the rest of `ws_connect`: a URL parsed, a socket resolved and checked,
        proxy and redirect handling and three coroutines per connection were a fifth of
        the generator's instructions per connection (docs/decisions.md)."""
        frame = SUBSCRIBE if subscribe else None
        sock = make_socket(source)
        try:
            await connect_socket(sock, self.address)
            _, protocol = await aiofastnet.create_connection(
                asyncio.get_running_loop(), lambda: self.ws_protocol(tracker, frame), sock=sock
            )
            await protocol.wait_until_handshake_complete()  # raises on a refused upgrade
        except BaseException:
            sock.close()
            raise
        sub: WsSub | None = protocol.listener
        if sub is None:  # picows gives no listener when the peer closed during the handshake
            sock.close()
            raise ConnectionError("connection closed during the WebSocket handshake")
        sub.sock = sock
        try:
            await sub.ready_future
        except BaseException:
            sub.abort()
            raise
        return sub

    async def open_sse(self, source: str, tracker: Tracker, since: int | None = None) -> SseSub:
        """An SSE subscriber once its stream is registered (Levelstream's `retry:`, the
        ceiling's; PocketBase's clientId subscribed). No timeout of its own, as `open_ws`."""
        loop = asyncio.get_running_loop()
        request = self.sse_head if since is None else self.sse_request(since)
        sock = make_socket(source)
        try:
            await connect_socket(sock, self.address)
            _, sub = await loop.create_connection(
                lambda: SseSub(tracker, request, self.flavor), sock=sock
            )
            sub.sock = sock
        except BaseException:
            sock.close()
            raise
        try:
            if self.flavor == "pb":
                client_id = await sub.connected
                await self.pb_subscribe(client_id)
                sub.set_ready()
            await sub.ready_future
        except BaseException:
            sub.abort()
            raise
        return sub

    async def pb_subscribe(self, client_id: str) -> None:
        """PocketBase: POST /api/realtime subscribes a connected client to every record event
        of `bench`, over a small pool of keep-alive connections from the same address."""
        if self.pb_pool is None:
            self.pb_pool = asyncio.Queue()
            for _ in range(8):
                self.pb_pool.put_nowait(
                    RawHttp1("127.0.0.1", self.port, {"Content-Type": "application/json"})
                )
        client = await self.pb_pool.get()
        try:
            body = b'{"clientId":"%s","subscriptions":["bench/*"]}' % client_id.encode()
            status, answer = await client.request("POST", "/api/realtime", body)
        finally:
            self.pb_pool.put_nowait(client)
        if status != 204:
            raise ConnectionError(f"subscribe answered {status}: {answer[:200]!r}")

    def faults(self, check: dict[str, int]) -> int:
        """Duplicates, and subscribers that saw another order than the rest, where the
        target promises one order of changes (PocketBase does not: it broadcasts from
        several goroutines, so concurrent writes may reach subscribers in different
        orders; reported, not held against it)."""
        disorder = check["out_of_order_subs"] if self.spec.get("ordered", True) else 0
        return check["duplicates"] + disorder

    def alive(self) -> int:
        return sum(1 for s in self.tracker.subs if s.ready and not s.gone)

    # --- steps ------------------------------------------------------------------------

    async def connect(
        self,
        total: int,
        concurrency: int = 200,
        max_failures: int = 200,
        settle_s: float = 0.5,
        deadline_s: float | None = None,
        min_window_s: float = 0.0,
    ) -> dict[str, Any]:
        """Open subscribers until `total` are registered, `concurrency` opening at a time.

        `concurrency` workers each open one subscriber after the other (no task, semaphore
        or timer per connection: the generator's CPU per connection is what limits the
        accept rate it can measure); the ramp has one deadline (`deadline_s`, by default
        OPEN_TIMEOUT_S plus RAMP_S_PER_CONN per connection), after which whatever is still
        opening is closed and counted as failed.

        The memory per connection is the first ramp's (the server's RSS before it and
        `settle_s` after). With `min_window_s` (W6's accept rate: issue 17 measures over
        windows of at least 5 s, and 9,000 connects take 1-2 s), the ramp's connections are
        then aborted and opened again, once the server is idle again, until the ramps
        together took that long: the accept rate and the CPU per accept are over all of
        them, the server's and the generator's CPU only while a ramp runs (never the
        closes)."""
        rss0 = rss_kib(self.probes.pid)
        first = await self._ramp(total, concurrency, max_failures, deadline_s)
        await asyncio.sleep(settle_s)
        rss1 = rss_kib(self.probes.pid)
        ramps = [first]
        while (
            sum(r["seconds"] for r in ramps) < min_window_s
            and ramps[-1]["added"] > 0
            and not ramps[-1]["failures"]
            and len(ramps) < MAX_RAMPS
        ):
            self._drop(ramps[-1]["added"])
            await self._server_idle()
            ramps.append(await self._ramp(total, concurrency, max_failures, deadline_s))
        seconds = sum(r["seconds"] for r in ramps)
        accepted = sum(r["added"] for r in ramps)
        last = ramps[-1]
        cpu = (
            {  # each ramp's CPU percentages, weighted by its length
                key: round(sum(r["cpu"][key] * r["seconds"] for r in ramps) / seconds, 1)
                for key in first["cpu"]
            }
            if seconds > 0
            else first["cpu"]
        )
        return {
            "total": self.alive(),
            "added": last["added"],
            "seconds": round(seconds, 4),
            "per_s": round(accepted / seconds, 1) if seconds > 0 else 0.0,
            "ramps": len(ramps),
            "accepted": accepted,
            "per_s_by_ramp": [r["per_s"] for r in ramps],
            "cpu_us_per_conn_by_ramp": [
                round(1e6 * r["server_cpu_s"] / r["added"], 1) if r["added"] else None
                for r in ramps
            ],
            "failures": sum(r["failures"] for r in ramps),
            "first_error": next((r["first_error"] for r in ramps if r["first_error"]), ""),
            "rss_before_kib": rss0,
            "rss_after_kib": rss1,
            "kib_per_conn": round((rss1 - rss0) / first["added"], 2) if first["added"] else None,
            "cpu_us_per_conn": (
                round(1e6 * sum(r["server_cpu_s"] for r in ramps) / accepted, 1)
                if accepted > 0
                else None
            ),
            "loadgen_us_per_conn": (
                round(1e6 * sum(r["own_cpu_s"] for r in ramps) / accepted, 1)
                if accepted > 0
                else None
            ),
            **cpu,
        }

    async def _ramp(
        self, total: int, concurrency: int, max_failures: int, deadline_s: float | None
    ) -> dict[str, Any]:
        """One ramp of `connect`: its connections, time, failures and CPU."""
        need = max(0, total - self.alive())
        if deadline_s is None:
            deadline_s = OPEN_TIMEOUT_S + RAMP_S_PER_CONN * need
        failures = added = started = 0
        first_error = ""
        first = self.opened
        sources = self.sources
        subs = self.tracker.subs
        open_one = self.open_ws if self.proto == "ws" else self.open_sse
        tracker = self.tracker

        async def worker() -> None:
            nonlocal failures, added, started, first_error
            while started < need and failures < max_failures:
                source = sources[(first + started) % len(sources)]
                started += 1
                try:
                    subs.append(await open_one(source, tracker))
                    added += 1
                except Exception as exc:
                    failures += 1
                    if not first_error:
                        first_error = _described(exc)

        self.probes.start()
        t0 = time.perf_counter()
        workers = [asyncio.create_task(worker()) for _ in range(min(concurrency, need))]
        try:
            async with asyncio.timeout(deadline_s):
                await asyncio.gather(*workers)
        except TimeoutError:
            late = started - added - failures  # opening when the deadline struck: closed
            failures += late
            first_error = first_error or f"{late} still opening at the ramp's deadline"
        seconds = time.perf_counter() - t0
        cpu = self.probes.stop()
        self.opened += started
        return {
            "added": added,
            "seconds": seconds,
            "per_s": round(added / seconds, 1) if seconds > 0 else 0.0,
            "failures": failures,
            "first_error": first_error,
            "server_cpu_s": self.probes.server_cpu_s,
            "own_cpu_s": self.probes.own_cpu_s,
            "cpu": cpu,
        }

    def _drop(self, count: int) -> None:
        """Abort the `count` subscribers opened last and forget them (a dropped
        subscriber is not a disconnect, and later steps do not expect it)."""
        subs = self.tracker.subs
        for sub in subs[len(subs) - count :]:
            sub.abort()
        del subs[len(subs) - count :]

    async def _server_idle(self, timeout_s: float = 10.0) -> None:
        """Wait until the server has handled the aborts: under 5 % of a CPU over 0.1 s."""
        deadline = time.monotonic() + timeout_s
        before = cpu_seconds(self.probes.pid)
        while time.monotonic() < deadline:
            await asyncio.sleep(0.1)
            now = cpu_seconds(self.probes.pid)
            if now - before < 0.005:
                return
            before = now

    async def latency(
        self, rate: float, writes: int, conns: int = 8, drain_s: float = 15.0
    ) -> dict[str, Any]:
        tracker = self.tracker
        tracker.reset(latency=True)
        tracker.expect = writes
        writer = make_writer(self.spec["writer"], self.port, conns, self.headers)
        await writer.start()
        free: asyncio.Queue[int] = asyncio.Queue()
        for conn in range(conns):
            free.put_nowait(conn)

        async def send(conn: int) -> None:
            try:
                await writer.write(conn)
            finally:
                free.put_nowait(conn)

        loop = asyncio.get_running_loop()
        disconnects0 = tracker.disconnects
        commits0 = await self._commit_buckets()
        self.probes.start()
        t0 = loop.time()
        late = 0
        tasks = []
        for i in range(writes):
            delay = t0 + i / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -0.01:
                late += 1
            conn = await free.get()
            tasks.append(asyncio.create_task(send(conn)))
        await asyncio.gather(*tasks)
        await self._drain(writes, drain_s)
        cpu = self.probes.stop()
        commits1 = await self._commit_buckets()
        await writer.close()
        lat = sorted(tracker.lat or [])
        check = tracker.check(writes)
        return {
            "subscribers": tracker.n,
            "rate": rate,
            "writes": writes,
            "late_writes": late,
            "deliveries": tracker.delivered,
            "lost": check["missing"],
            **check,
            "errors": writer.errors + self.faults(check),
            "first_error": writer.first_error,
            "disconnects": tracker.disconnects - disconnects0,
            "p50_ms": round(percentile(lat, 0.5) / 1000, 3) if lat else None,
            "p99_ms": round(percentile(lat, 0.99) / 1000, 3) if lat else None,
            "max_ms": round(lat[-1] / 1000, 3) if lat else None,
            **commits.figures(commits0, commits1),
            **cpu,
        }

    async def _commit_buckets(self) -> commits.Buckets:
        """Levelstream's commit histogram (`bench.rtgen.commits`); empty for other servers."""
        if self.flavor != "ls":
            return {}
        try:
            return await asyncio.to_thread(commits.scrape, self.port, self.token)
        except OSError as exc:  # then the result has no commit figures: never a failed step
            print(f"rtgen: could not read /metrics: {exc}", file=sys.stderr, flush=True)
            return {}

    async def fanout(
        self,
        window: int,
        warmup_s: float,
        seconds: float,
        drain_s: float = 30.0,
        rate: float = 0.0,
    ) -> dict[str, Any]:
        """With `rate` (writes/s), a write also waits for its turn on that schedule: the
        paced cell, where the generator has CPU to spare and the server's CPU per
        delivery is measured (the closed loop keeps the generator's CPU near its limit)."""
        tracker = self.tracker
        tracker.reset(window=asyncio.Semaphore(window))
        writer = make_writer(self.spec["writer"], self.port, window, self.headers)
        await writer.start()
        stop = False
        issued = 0
        disconnects0 = tracker.disconnects
        loop = asyncio.get_running_loop()
        start = loop.time()

        async def pump(conn: int) -> None:
            nonlocal issued
            assert tracker.window is not None
            while True:
                await tracker.window.acquire()
                if rate:
                    delay = start + issued / rate - loop.time()
                    if delay > 0:
                        await asyncio.sleep(delay)
                if stop:
                    return
                issued += 1
                await writer.write(conn)

        pumps = [asyncio.create_task(pump(c)) for c in range(window)]
        await asyncio.sleep(warmup_s)
        d0 = tracker.delivered
        segs0 = sum(_segs_out(s.sock) for s in tracker.subs)
        self.probes.start()
        t0 = time.perf_counter()
        await asyncio.sleep(seconds)
        d1 = tracker.delivered
        elapsed = time.perf_counter() - t0
        cpu = self.probes.stop()
        segs1 = sum(_segs_out(s.sock) for s in tracker.subs)
        stop = True
        for _ in range(window):
            tracker.window.release()  # type: ignore[union-attr]
        await asyncio.gather(*pumps)
        await self._drain(issued - writer.errors, drain_s)
        await writer.close()
        check = tracker.check(writer.issued)
        deliveries = d1 - d0
        return {
            "subscribers": tracker.n,
            "window": window,
            "rate": rate,
            "writes": issued,
            "deliveries": deliveries,
            "seconds": round(elapsed, 4),
            "per_s": round(deliveries / elapsed, 1),
            "writes_per_s": round(deliveries / elapsed / max(1, tracker.n), 1),
            "cpu_us_per_delivery": (
                round(1e6 * self.probes.server_cpu_s / deliveries, 3) if deliveries else None
            ),
            "acks_per_delivery": round((segs1 - segs0) / deliveries, 3) if deliveries else None,
            "loadgen_us_per_delivery": (
                round(1e6 * self.probes.own_cpu_s / deliveries, 3) if deliveries else None
            ),
            "lost": check["missing"],
            **check,
            "errors": writer.errors + self.faults(check),
            "first_error": writer.first_error,
            "disconnects": tracker.disconnects - disconnects0,
            **cpu,
        }

    async def catchup(self, since: int, expect: int, timeout_s: float = 60.0) -> dict[str, Any]:
        """The missed changes were written numbered 0.. in order: they must come back so."""
        tracker = Tracker()
        tracker.n = 1
        tracker.expect = expect
        source = self.sources[0]
        self.probes.start()
        if self.proto == "ws":
            async with asyncio.timeout(OPEN_TIMEOUT_S):
                sub: Any = await self.open_ws(source, tracker, subscribe=False)
            frame = b'{"op":"subscribe","id":2,"sub":"c","collection":"bench","since":%d}' % since
            self.probes.start()
            t0 = time.perf_counter()
            sub.send_text(frame)
        else:
            t0 = time.perf_counter()
            async with asyncio.timeout(OPEN_TIMEOUT_S):
                sub = await self.open_sse(source, tracker, since=since)
        timed_out = False
        try:
            await asyncio.wait_for(tracker.all_done.wait(), timeout_s)
        except TimeoutError:
            timed_out = True
        elapsed = time.perf_counter() - t0
        cpu = self.probes.stop()
        tracker.subs.append(sub)
        received = tracker.delivered
        taken = tracker.sequence(sub)
        missing = max(0, expect - len({wn for wn in taken if wn < expect}))
        in_order = taken == list(range(expect))
        sub.abort()
        return {
            "since": since,
            "expect": expect,
            "received": received,
            "timed_out": timed_out,
            "seconds": round(elapsed, 4),
            "per_s": round(received / elapsed, 1) if elapsed > 0 else 0.0,
            "lost": missing,
            "duplicates": tracker.duplicates,
            "in_order": in_order,
            "errors": tracker.unexpected + tracker.duplicates + (0 if in_order else 1),
            **cpu,
        }

    async def _drain(self, writes: int, timeout_s: float) -> None:
        tracker = self.tracker
        tracker.expect = writes
        if tracker.n == 0 or tracker.completed >= writes:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(tracker.all_done.wait(), timeout_s)

    def close(self) -> None:
        for sub in self.tracker.subs:
            sub.abort()
