"""Our HTTP protocol (app/server/http_protocol.py) answers exactly as uvicorn's own does.

It formats sized responses itself to write them in one piece; the same app is
served by both protocols on loopback, and the raw bytes each sends back must
be the same (the Date header aside), including the refusals of bad headers.
"""

from __future__ import annotations

import asyncio
import re
import socket
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
import uvloop
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.server.http_protocol import HttpProtocol

JSON = b'{"ok":true}'

# path -> (headers, body chunks): what the app answers.
ANSWERS: dict[str, tuple[list[tuple[bytes, bytes]], list[bytes]]] = {
    "/json": (
        [
            (b"content-type", b"application/json"),
            (b"Content-Length", str(len(JSON)).encode()),
            (b"etag", b'"7"'),
            (b"x-note", b"tab\tis allowed"),
        ],
        [JSON],
    ),
    "/empty": ([(b"content-length", b"0")], [b""]),
    "/in-pieces": ([(b"content-length", b"6")], [b"abc", b"def"]),
    "/chunked": ([(b"content-type", b"text/plain")], [b"one", b"two"]),
    "/closing": ([(b"content-length", b"2"), (b"connection", b"close")], [b"ok"]),
    "/bad-value": ([(b"content-length", b"2"), (b"x-evil", b"a\r\nset-cookie: x=1")], [b"ok"]),
    "/bad-name": ([(b"content-length", b"2"), (b"x evil", b"1")], [b"ok"]),
    "/too-long": ([(b"content-length", b"2")], [b"toolong"]),
}


async def app(scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
    if scope["type"] != "http":
        return
    headers, chunks = ANSWERS[scope["path"]]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    for i, chunk in enumerate(chunks):
        await send({"type": "http.response.body", "body": chunk, "more_body": i < len(chunks) - 1})


@asynccontextmanager
async def serving(protocol: type[asyncio.Protocol], keep_alive_s: float = 5) -> AsyncIterator[int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        app,
        http=protocol,
        lifespan="off",
        log_level="critical",
        access_log=False,
        timeout_keep_alive=keep_alive_s,  # type: ignore[arg-type]
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


async def exchange(port: int, request: bytes) -> bytes:
    """Everything the server sends until it closes or goes quiet for 0.3 s."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    received = b""
    try:
        while chunk := await asyncio.wait_for(reader.read(65536), 0.3):
            received += chunk
    except TimeoutError:
        pass
    writer.close()
    return re.sub(rb"date: [^\r]*\r\n", b"date: -\r\n", received)


def get(path: str, method: str = "GET") -> bytes:
    return f"{method} {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode()


async def both(request: bytes) -> tuple[bytes, bytes]:
    async with serving(HttpToolsProtocol) as plain_port, serving(HttpProtocol) as our_port:
        return await exchange(plain_port, request), await exchange(our_port, request)


async def test_responses_are_byte_for_byte_uvicorns() -> None:
    for path in ("/json", "/empty", "/in-pieces", "/chunked", "/closing"):
        for method in ("GET", "HEAD"):
            plain, ours = await both(get(path, method))
            assert plain.startswith(b"HTTP/1.1 200 OK\r\n"), plain
            assert ours == plain, (path, method)
    plain, ours = await both(get("/json"))
    assert ours.endswith(b"\r\n\r\n" + JSON)
    assert b"content-length: 11\r\n" in ours  # names lower-cased, as uvicorn does


async def test_pipelined_requests_are_answered_in_order() -> None:
    request = get("/json") + get("/empty") + get("/in-pieces") + get("/json")
    plain, ours = await both(request)
    assert ours == plain
    assert ours.count(b"HTTP/1.1 200 OK") == 4
    assert ours.endswith(JSON)


async def test_bad_headers_are_refused_as_uvicorn_refuses_them() -> None:
    for path in ("/bad-value", "/bad-name"):
        plain, ours = await both(get(path))
        assert ours == plain  # uvicorn drops the connection: nothing is sent
        assert b"set-cookie" not in ours
        assert b"ok" not in ours


async def test_a_body_longer_than_its_length_is_not_sent() -> None:
    async with serving(HttpProtocol) as port:
        answer = await exchange(port, get("/too-long"))
    assert b"toolong" not in answer


class Stall(asyncio.Protocol):
    """Holds the loop up for `seconds` when poked, right after `client` sends `request`.

    It runs among the loop's I/O callbacks, after the loop polled its sockets: the
    request arrives while the loop is held and stays unread until the next poll.
    A SIGSTOP, a VM pause or a long blocking call does the same to a server.
    """

    def __init__(self, client: socket.socket, request: bytes, seconds: float) -> None:
        self.client, self.request, self.seconds = client, request, seconds

    def data_received(self, data: bytes) -> None:
        self.client.send(self.request)
        time.sleep(self.seconds)


async def read_answer(client: socket.socket, timeout: float = 3) -> bytes:
    """What the server sends until a whole JSON answer, a close or a reset."""
    loop = asyncio.get_running_loop()
    received = b""
    try:
        while not received.endswith(JSON):
            chunk = await asyncio.wait_for(loop.sock_recv(client, 65536), timeout)
            if not chunk:
                return received + b"<closed>"
            received += chunk
    except ConnectionResetError:
        return received + b"<reset>"
    return received


async def request_after_a_stall(protocol: type[asyncio.Protocol]) -> tuple[bytes, bytes]:
    """A request sent while the loop is held past the keep-alive timeout; then idleness."""
    loop = asyncio.get_running_loop()
    async with serving(protocol, keep_alive_s=0.5) as port:
        client = socket.socket()
        client.setblocking(False)
        await loop.sock_connect(client, ("127.0.0.1", port))
        client.send(get("/json"))
        assert (await read_answer(client)).endswith(JSON)  # the keep-alive timer is armed
        stall = await loop.create_server(lambda: Stall(client, get("/json"), 1.0), "127.0.0.1", 0)
        poke = socket.create_connection(stall.sockets[0].getsockname()[:2])
        poke.send(b"x")
        answer = await read_answer(client)
        afterwards = await read_answer(client) if answer.endswith(JSON) else b""
        poke.close()
        client.close()
        stall.close()
        return answer, afterwards


def test_a_request_waiting_when_the_keep_alive_timer_fires_is_answered() -> None:
    # uvloop, as the server runs: it runs due timers before polling sockets again.
    plain, _ = uvloop.run(request_after_a_stall(HttpToolsProtocol))
    assert plain.endswith(b"<reset>") or plain.endswith(b"<closed>"), plain  # uvicorn's race
    ours, afterwards = uvloop.run(request_after_a_stall(HttpProtocol))
    assert ours.startswith(b"HTTP/1.1 200 OK\r\n") and ours.endswith(JSON), ours
    # An idle connection is still closed after the keep-alive timeout.
    assert afterwards == b"<closed>"
