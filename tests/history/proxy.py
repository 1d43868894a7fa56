"""A TCP proxy between one node and PostgreSQL or Redis, that a test can cut, delay and resume.

It runs its own asyncio loop in a daemon thread and forwards bytes both ways.
Two kinds of cut, because a deployment meets both:

- `cut("reset")`: every open connection is closed and new ones are closed at
  once (a peer restarting, a firewall sending resets): the node sees errors
  straight away;
- `cut("blackhole")`: connections stay open but nothing passes either way, and
  new ones are accepted and never answered (a dropped link, a partition): only
  the node's own timeouts can notice.

`delay(s)` holds every chunk `s` seconds before passing it on; `resume()` lets
traffic flow again (connections cut by `reset` are gone; blackholed ones carry
on with what was held). Bounded: at most MAX_CONNECTIONS at once, reads of
64 KiB at a time, and everything ends with `close()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Literal

from tests.server import free_port

MAX_CONNECTIONS = 256
CHUNK = 64 * 1024
CutMode = Literal["reset", "blackhole"]


class TcpProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port = free_port()
        self.mode: Literal["open", "reset", "blackhole"] = "open"
        self.delay_s = 0.0
        self.accepted = 0
        self._flowing: asyncio.Event | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="proxy")

    # --- control, from the test's thread --------------------------------------

    def start(self) -> TcpProxy:
        self._thread.start()
        self._call(self._listen())
        return self

    def cut(self, mode: CutMode = "reset") -> None:
        self._call(self._cut(mode))

    def delay(self, seconds: float) -> None:
        self.delay_s = seconds

    def resume(self) -> None:
        self._call(self._resume())

    def close(self) -> None:
        if not self._thread.is_alive():
            return
        self._call(self._close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def url_for(self, url: str) -> str:
        """`url` (postgresql:// or redis://) with its host and port replaced by this proxy's."""
        scheme, rest = url.split("://", 1)
        userinfo, _, hostpath = rest.rpartition("@")
        path = hostpath.split("/", 1)[1] if "/" in hostpath else ""
        at = f"{userinfo}@" if userinfo else ""
        return f"{scheme}://{at}127.0.0.1:{self.port}/{path}"

    def _call(self, coro: object) -> None:
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)  # type: ignore[arg-type]
        future.result(10)

    # --- the loop's side ----------------------------------------------------------

    async def _listen(self) -> None:
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)

    async def _cut(self, mode: CutMode) -> None:
        self.mode = mode
        assert self._flowing is not None
        self._flowing.clear()
        if mode == "reset":
            for writer in list(self._writers):
                writer.transport.abort()
            self._writers.clear()

    async def _resume(self) -> None:
        self.mode = "open"
        assert self._flowing is not None
        self._flowing.set()

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.mode == "reset" or len(self._writers) >= MAX_CONNECTIONS * 2:
            writer.transport.abort()
            return
        assert self._flowing is not None
        await self._flowing.wait()  # a blackholed connect waits, unanswered
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.transport.abort()  # the service itself is down: refuse as it would
            return
        self.accepted += 1
        pair = {writer, up_writer}
        self._writers |= pair
        try:
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        finally:
            for w in pair:
                w.transport.abort()
            self._writers -= pair

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert self._flowing is not None
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while data := await reader.read(CHUNK):
                if self.delay_s:
                    await asyncio.sleep(self.delay_s)
                await self._flowing.wait()  # blackholed: held until resumed
                if writer.transport.is_closing():
                    break
                writer.write(data)
                await writer.drain()
        # Either side ended: end the other, so a closed connection is seen through us.
        writer.transport.abort()
