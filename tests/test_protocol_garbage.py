"""A finished request or a closed WebSocket leaves nothing to the cyclic garbage collector.

Every WebSocket starts as an HTTP connection whose parser holds callbacks bound to its
protocol, our WebSocket protocol is its own receive queue and offers itself in the
scope as the write extension, and every HTTP request's cycle offers itself in its scope
as the stream extension: cycles. Left in place, each closed socket (and, until
the next collection, each open one's spent HTTP protocol) waited for the collector
with its transport and buffers; a reconnect storm of thousands of sockets piled them
up, and every collection traced them. Here our protocols run on a real uvicorn server
in this process (so its objects are visible), over loopback, with the collector off:
once every connection is closed, none of their protocols may be left, whichever side
closes, with or without permessage-deflate (uvicorn's way through websockets), and for
a refused handshake; nor an HTTP request's cycle, answered or cut off mid-stream.
"""

from __future__ import annotations

import asyncio
import gc
import socket
from typing import Any

import pytest
import uvicorn
import uvloop
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from app.server.http_protocol import HttpProtocol, OneWriteCycle
from app.server.ws_protocol import ProblemRefusals, WebSocketProtocol

SOCKETS = 20


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Echoes text frames; closes on `bye`; returns on the client's disconnect. Over
    HTTP: `/stream` streams until the client goes, anything else is answered at once."""
    if scope["type"] == "http":
        await receive()
        if scope["path"] != "/stream":
            headers = [(b"content-length", b"2")]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": b"ok"})
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        while (await _ticked(receive))["type"] != "http.disconnect":
            await send({"type": "http.response.body", "body": b"tick\n", "more_body": True})
        return
    assert scope["type"] == "websocket"
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        if message.get("text") == "bye":
            await send({"type": "websocket.close", "code": 1000})
            return
        await send({"type": "websocket.send", "text": message.get("text")})


async def _ticked(receive: Any) -> dict[str, Any]:
    try:
        message: dict[str, Any] = await asyncio.wait_for(receive(), 0.01)
        return message
    except TimeoutError:
        return {"type": "tick"}


async def _requests(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /answer HTTP/1.1\r\nHost: x\r\n\r\n" * 3)  # one keep-alive connection
    for _ in range(3):
        assert (await reader.readuntil(b"ok")).startswith(b"HTTP/1.1 200")
    writer.write(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
    assert b"tick" in await reader.readuntil(b"tick\n")
    writer.transport.abort()  # cut off mid-stream


async def _open_and_close(port: int, how: str) -> None:
    async with connect(f"ws://127.0.0.1:{port}/ws", compression=None) as ws:
        await ws.send("hello")
        assert await ws.recv() == "hello"
        if how == "server":
            await ws.send("bye")
            with pytest.raises(ConnectionClosed):
                await ws.recv()
        else:  # the client goes away without a close frame
            ws.transport.abort()


async def _refused(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 7\r\n\r\n"
    )
    assert (await reader.read(65536)).startswith(b"HTTP/1.1 4")  # 426 (or 400 on uvicorn's way)
    writer.close()


async def _protocols_in_garbage(deflate: bool, how: str) -> list[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        app,
        http=HttpProtocol,
        ws=WebSocketProtocol,  # type: ignore[arg-type]
        ws_per_message_deflate=deflate,
        lifespan="off",
        log_level="critical",
        access_log=False,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    port = sock.getsockname()[1]
    gc.collect()
    gc.disable()  # what is left now is what reference counting did not free
    try:
        for _ in range(SOCKETS):
            if how == "http":
                await _requests(port)
            elif how == "refused":
                await _refused(port)
            else:
                await _open_and_close(port, how)
        for _ in range(200):  # until the server has handled every close
            if not server.server_state.connections and not server.server_state.tasks:
                break
            await asyncio.sleep(0.01)
        assert not server.server_state.connections
        await asyncio.sleep(0.05)
        kinds = (HttpProtocol, OneWriteCycle, WebSocketProtocol, ProblemRefusals)
        # `type`, not `isinstance`: the client's garbage has dead weak proxies.
        return [type(o).__name__ for o in gc.get_objects() if type(o) in kinds]
    finally:
        gc.enable()
        server.should_exit = True
        await asyncio.wait_for(task, 10)


@pytest.mark.parametrize("deflate", [False, True], ids=["parsed-upgrade", "uvicorn-upgrade"])
@pytest.mark.parametrize("how", ["client-aborts", "server", "refused"])
def test_a_closed_websocket_leaves_no_cycle_of_its_protocols(deflate: bool, how: str) -> None:
    assert uvloop.run(_protocols_in_garbage(deflate, how)) == []


def test_a_finished_request_leaves_no_cycle_of_its_protocol_or_cycle() -> None:
    assert uvloop.run(_protocols_in_garbage(False, "http")) == []
