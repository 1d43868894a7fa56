"""How a write enters a target: HTTP PUT of a document, a publisher frame, or HTTP POST.

Every write carries a 100-byte JSON value whose `t` is the send time (see
`bench.payload.T_OFFSET`), so subscribers can measure write-to-delivery latency.
"""

from __future__ import annotations

import asyncio
import itertools

from picows import WSListener, WSMsgType, WSTransport, ws_connect

from bench.loadgen import RawHttp1
from bench.payload import numbered
from bench.rtgen.clients import now_us


class Writer:
    """`await write()` sends one write, numbered from 0; errors are counted, not raised."""

    errors = 0
    first_error = ""
    issued = 0

    def value(self) -> bytes:
        wn, self.issued = self.issued, self.issued + 1
        return numbered(wn, now_us())

    async def start(self) -> None:
        pass

    async def write(self, conn: int) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        pass


class PutWriter(Writer):
    """PUT {path_prefix}<run>-<n> over `conns` keep-alive connections (one write each at a time)."""

    def __init__(self, port: int, conns: int, path_prefix: str, headers: dict[str, str]) -> None:
        headers = {**headers, "Content-Type": "application/json"}
        self.clients = [RawHttp1("127.0.0.1", port, headers) for _ in range(conns)]
        self.path_prefix = path_prefix
        self.counter = itertools.count()
        self.run = f"w{now_us() % 10**9}"

    async def write(self, conn: int) -> None:
        path = f"{self.path_prefix}{self.run}-{next(self.counter):08d}"
        try:
            status, body = await self.clients[conn].request("PUT", path, self.value())
        except (OSError, asyncio.IncompleteReadError) as exc:
            status, body = 0, repr(exc).encode()
        if status not in (200, 201):
            self.errors += 1
            self.first_error = self.first_error or f"PUT {status}: {body[:200]!r}"

    async def close(self) -> None:
        await asyncio.gather(*(c.aclose() for c in self.clients), return_exceptions=True)


class PostWriter(PutWriter):
    """POST /publish with the value as the body (the SSE ceiling)."""

    async def write(self, conn: int) -> None:
        try:
            status, body = await self.clients[conn].request("POST", "/publish", self.value())
        except (OSError, asyncio.IncompleteReadError) as exc:
            status, body = 0, repr(exc).encode()
        if status not in (200, 202, 204):
            self.errors += 1
            self.first_error = self.first_error or f"POST {status}: {body[:200]!r}"


class PbCreate(PutWriter):
    """POST /api/collections/bench/records {"doc": <value>}: PocketBase creates a record."""

    async def write(self, conn: int) -> None:
        doc = b'{"doc":' + self.value() + b"}"
        try:
            status, body = await self.clients[conn].request("POST", self.path_prefix, doc)
        except (OSError, asyncio.IncompleteReadError) as exc:
            status, body = 0, repr(exc).encode()
        if status != 200:
            self.errors += 1
            self.first_error = self.first_error or f"POST {status}: {body[:200]!r}"


class WsPublisher(Writer):
    """One publisher socket on `/publish` (the WebSocket ceiling): a write is one frame."""

    def __init__(self, port: int) -> None:
        self.url = f"ws://127.0.0.1:{port}/publish"
        self.transport: WSTransport | None = None

    async def start(self) -> None:
        self.transport, _ = await ws_connect(WSListener, self.url)

    async def write(self, conn: int) -> None:
        if self.transport is None or self.transport.is_disconnected:
            self.errors += 1
            self.first_error = self.first_error or "publisher disconnected"
            return
        self.transport.send(WSMsgType.TEXT, self.value())

    async def close(self) -> None:
        if self.transport is not None:
            self.transport.disconnect()


def make_writer(kind: str, port: int, conns: int, headers: dict[str, str]) -> Writer:
    if kind == "put":
        return PutWriter(port, conns, "/v1/collections/bench/docs/", headers)
    if kind == "post":
        return PostWriter(port, conns, "", headers)
    if kind == "pb-create":
        return PbCreate(port, conns, "/api/collections/bench/records", headers)
    return WsPublisher(port)
