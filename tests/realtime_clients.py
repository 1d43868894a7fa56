"""Small real-time clients for the end-to-end tests: WebSocket (websockets) and SSE (httpx).

They speak to a real server over loopback and add nothing but bookkeeping:
replies are matched to requests by `id`, other frames are kept in arrival
order, and SSE is parsed line by line as the HTML spec describes. Every wait
has a generous deadline, so a missing frame fails a test instead of hanging it.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.server import ADMIN_TOKEN, ServerProcess

TIMEOUT = 20.0  # generous: a frame that should come but does not fails the test, slowly

Frame = dict[str, Any]


# --- WebSocket ------------------------------------------------------------------------


class WsClient:
    """One WebSocket connection to `/v1/ws`."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.pending: deque[Frame] = deque()  # frames read but not yet asked for
        self._next_id = 0

    async def send(self, frame: Frame) -> None:
        await self.ws.send(json.dumps(frame))  # json, not orjson: it encodes ints past 64 bits

    async def _recv(self, timeout: float) -> Frame:
        raw = await asyncio.wait_for(self.ws.recv(), timeout)
        frame: Frame = orjson.loads(raw)
        return frame

    async def expect(self, predicate: Callable[[Frame], bool], timeout: float = TIMEOUT) -> Frame:
        """The first frame (queued or new) for which `predicate` holds; others stay queued."""
        for index, frame in enumerate(self.pending):
            if predicate(frame):
                del self.pending[index]
                return frame
        deadline = time.monotonic() + timeout
        while True:
            frame = await self._recv(max(deadline - time.monotonic(), 0.001))
            if predicate(frame):
                return frame
            self.pending.append(frame)

    async def next_frame(self, timeout: float = TIMEOUT) -> Frame:
        if self.pending:
            return self.pending.popleft()
        return await self._recv(timeout)

    @property
    def last_id(self) -> str:
        """The `id` of the last op sent by `request`."""
        return f"r{self._next_id}"

    async def request(self, op: str, **fields: Any) -> Frame:
        """Send one op with a fresh `id`; return its reply (or pong), matched by that id."""
        self._next_id += 1
        request_id = self.last_id
        await self.send({"op": op, "id": request_id, **fields})
        return await self.expect(
            lambda f: f.get("type") in ("reply", "pong") and f.get("id") == request_id
        )

    async def ok(self, op: str, **fields: Any) -> Frame:
        reply = await self.request(op, **fields)
        assert reply["ok"] is True, reply
        return reply

    async def subscribe(self, sub: str, **fields: Any) -> Frame:
        reply = await self.ok("subscribe", sub=sub, **fields)
        assert reply["sub"] == sub
        return reply

    async def changes(
        self, sub: str, until_seq: int, timeout: float = TIMEOUT
    ) -> list[dict[str, Any]]:
        """The changes of `sub` up to (and including) the first one with seq >= `until_seq`."""
        out: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while not out or out[-1]["seq"] < until_seq:
            frame = await self.expect(
                lambda f: f.get("type") == "change" and f.get("sub") == sub,
                max(deadline - time.monotonic(), 0.001),
            )
            out.append(frame["change"])
        return out

    async def closed(self, timeout: float = TIMEOUT) -> tuple[int | None, str]:
        """Read (and drop) frames until the server closes; its close code and reason."""
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                await asyncio.wait_for(self.ws.recv(), max(deadline - time.monotonic(), 0.001))
        except ConnectionClosed as exc:
            return (exc.rcvd.code, exc.rcvd.reason) if exc.rcvd else (None, "")
        raise AssertionError("the server did not close the connection")

    def vanish(self) -> None:
        """Drop the TCP connection without a close frame, as a crashed client would."""
        self.ws.transport.abort()


def ws_url(server: ServerProcess, token: str | None = ADMIN_TOKEN) -> str:
    query = f"?token={token}" if token is not None else ""
    return f"{server.ws_url}/v1/ws{query}"


def ws_options(**overrides: Any) -> dict[str, Any]:
    # No proxy from the environment, no compression: plain frames on loopback.
    return {"proxy": None, "compression": None, "open_timeout": TIMEOUT, **overrides}


@asynccontextmanager
async def ws_client(
    server: ServerProcess, token: str | None = ADMIN_TOKEN, **options: Any
) -> AsyncIterator[WsClient]:
    async with connect(ws_url(server, token), **ws_options(**options)) as ws:
        yield WsClient(ws)


# --- Server-Sent Events ----------------------------------------------------------------


@dataclass
class SseEvent:
    event: str
    data: str
    id: str | None

    def json(self) -> Any:
        return orjson.loads(self.data)


class SseStream:
    """An open `text/event-stream` response, parsed into events; comments are kept apart."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.aiter_lines()
        self.comments: list[str] = []
        self.retry: int | None = None
        self.ended = False

    async def _next_line(self, timeout: float) -> str | None:
        try:
            return await asyncio.wait_for(anext(self._lines), timeout)
        except StopAsyncIteration:
            self.ended = True
            return None

    async def next_event(self, timeout: float = TIMEOUT) -> SseEvent | None:
        """The next dispatched event, or None once the server ended the stream."""
        deadline = time.monotonic() + timeout
        event, data, event_id = "message", [], None
        while True:
            line = await self._next_line(max(deadline - time.monotonic(), 0.001))
            if line is None:
                return None
            if line == "":
                if data:
                    return SseEvent(event, "\n".join(data), event_id)
                event, data, event_id = "message", [], None
                continue
            if line.startswith(":"):
                self.comments.append(line[1:].strip())
                continue
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "data":
                data.append(value)
            elif name == "event":
                event = value
            elif name == "id":
                event_id = value
            elif name == "retry" and value.isdigit():
                self.retry = int(value)

    async def expect(self, kind: str, timeout: float = TIMEOUT) -> SseEvent:
        """The next event of type `kind` (events of other types are skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            event = await self.next_event(max(deadline - time.monotonic(), 0.001))
            assert event is not None, f"the stream ended before an {kind!r} event"
            if event.event == kind:
                return event

    async def changes(self, until_seq: int, timeout: float = TIMEOUT) -> list[dict[str, Any]]:
        """Change events up to the first with seq >= `until_seq`; checks `id` == seq."""
        out: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while not out or out[-1]["seq"] < until_seq:
            event = await self.expect("change", max(deadline - time.monotonic(), 0.001))
            change = event.json()
            assert event.id == str(change["seq"]), (event.id, change["seq"])
            out.append(change)
        return out

    async def end(self, timeout: float = TIMEOUT) -> list[SseEvent]:
        """Read until the server ends the stream; the events read on the way."""
        events = []
        deadline = time.monotonic() + timeout
        while (event := await self.next_event(max(deadline - time.monotonic(), 0.001))) is not None:
            events.append(event)
        return events


class StreamRefused(AssertionError):
    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"the stream answered {status}: {body}")
        self.status = status


@asynccontextmanager
async def sse_stream(
    client: httpx.AsyncClient, headers: dict[str, str] | None = None, **params: Any
) -> AsyncIterator[SseStream]:
    """`GET /v1/stream` with these query parameters; fails unless it answers 200."""
    async with client.stream(
        "GET",
        "/v1/stream",
        params={k: v for k, v in params.items() if v is not None},
        headers={"Accept": "text/event-stream", **(headers or {})},
    ) as response:
        if response.status_code != 200:
            await response.aread()
            raise StreamRefused(response.status_code, response.text)
        assert response.headers["content-type"].startswith("text/event-stream")
        yield SseStream(response)


# --- the change log (the oracle) ---------------------------------------------------------


async def log_changes(
    client: httpx.AsyncClient, collection: str = "*", since: int = 0, **filters: Any
) -> list[dict[str, Any]]:
    """Every matching change after `since` as `/v1/changes` reports it, page by page."""
    out: list[dict[str, Any]] = []
    for _ in range(100_000):
        params = {"collection": collection, "since": since, "limit": 1000, **filters}
        response = await client.get("/v1/changes", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        out.extend(page["changes"])
        if page["last_seq"] >= page["head_seq"]:
            return out
        since = page["last_seq"]
    raise AssertionError("the change log did not end")


async def head_seq(client: httpx.AsyncClient) -> int:
    response = await client.get("/v1/changes", params={"collection": "*", "limit": 1})
    assert response.status_code == 200, response.text
    return int(response.json()["head_seq"])


def seqs(changes: Iterable[dict[str, Any]]) -> list[int]:
    return [c["seq"] for c in changes]


def assert_exactly(received: list[dict[str, Any]], expected: list[dict[str, Any]]) -> None:
    """The received changes are the expected ones: no gap, no duplicate, in order, same payload."""
    got, want = seqs(received), seqs(expected)
    assert len(set(got)) == len(got), f"duplicates: {sorted(s for s in got if got.count(s) > 1)}"
    assert got == sorted(got), "out of order"
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    assert not missing and not extra, f"missing {missing[:20]}, unexpected {extra[:20]}"
    assert received == expected


# --- raw sockets: clients that misbehave below the WebSocket library ------------------------


def client_frame(frame: Frame) -> bytes:
    """`frame` as JSON in a masked text frame, as a client sends it."""
    payload = orjson.dumps(frame)
    mask = os.urandom(4)
    header = bytes([0x81])  # FIN + text
    if len(payload) < 126:
        header += bytes([0x80 | len(payload)])
    elif len(payload) < 65536:
        header += bytes([0x80 | 126]) + struct.pack("!H", len(payload))
    else:
        header += bytes([0x80 | 127]) + struct.pack("!Q", len(payload))
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return header + mask + masked


class RawWebSocket:
    """A hand-rolled WebSocket client on a plain socket: it can stop reading, stop
    answering pings, or vanish without a close frame, which no polite library will do."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    @classmethod
    def open(
        cls,
        server: ServerProcess,
        token: str = ADMIN_TOKEN,
        rcvbuf: int | None = None,
        with_handshake: Frame | None = None,
    ) -> RawWebSocket:
        """Connect; `with_handshake` is a frame sent in the same write as the handshake."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            # Set before connect, so the advertised window stays small.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.settimeout(TIMEOUT)
        sock.connect(("127.0.0.1", server.port))
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall(
            (
                f"GET /v1/ws?token={token} HTTP/1.1\r\n"
                f"Host: 127.0.0.1:{server.port}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
            + (client_frame(with_handshake) if with_handshake is not None else b"")
        )
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(1)  # byte by byte: nothing after the headers is consumed
            assert chunk, "the server closed during the handshake"
            head += chunk
        assert head.startswith(b"HTTP/1.1 101"), head
        return cls(sock)

    def send(self, frame: Frame) -> None:
        self.sock.sendall(client_frame(frame))

    def _read_exact(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("the server closed the connection")
            data += chunk
        return data

    def recv_frame(self) -> tuple[int, bytes]:
        """(opcode, payload) of the next server frame (servers never fragment small ones)."""
        first, second = self._read_exact(2)
        length = second & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", self._read_exact(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", self._read_exact(8))
        return first & 0x0F, self._read_exact(length)

    def recv_json(self) -> Frame:
        """The next text frame; pings are ignored (not answered: see `silent`)."""
        for _ in range(10_000):
            opcode, payload = self.recv_frame()
            if opcode == 0x1:
                frame: Frame = orjson.loads(payload)
                return frame
            if opcode == 0x8:
                raise ConnectionError(f"closed: {payload!r}")
        raise AssertionError("no text frame")

    def request(self, frame: Frame) -> Frame:
        self.send(frame)
        for _ in range(10_000):
            reply = self.recv_json()
            if reply.get("id") == frame["id"]:
                return reply
        raise AssertionError("no reply")

    def vanish(self) -> None:
        """Close the TCP socket with no WebSocket close frame."""
        self.sock.close()


def start_server(base: Path, **env: str) -> ServerProcess:
    """A started server with its own data directory and LEVELSTREAM_* settings."""
    return ServerProcess(base / "data", **env).start()
