"""Ceiling for WebSocket fan-out: a raw `websockets` server with `websockets.broadcast`.

Subscribers connect to `/` and get a `ready` frame once registered; every text
frame a publisher sends on `/publish` is broadcast as is to every subscriber.
No auth, no log, no queue limits, compression off. `GET /readyz` answers 200.

    python -m bench.peers.raw_ws --port 8003
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from http import HTTPStatus
from typing import Any

import uvloop
from websockets.asyncio.server import ServerConnection, broadcast, serve

subscribers: set[ServerConnection] = set()


def process_request(connection: ServerConnection, request: Any) -> Any:
    if request.path == "/readyz":
        return connection.respond(HTTPStatus.OK, f"{len(subscribers)}\n")
    return None


async def handler(connection: ServerConnection) -> None:
    if connection.request is not None and connection.request.path == "/publish":
        async for message in connection:
            broadcast(subscribers, message)
        return
    subscribers.add(connection)
    try:
        await connection.send("ready")
        await connection.wait_closed()
    finally:
        subscribers.discard(connection)


async def serve_forever(port: int) -> None:
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set_result, None)
    async with serve(
        handler,
        "127.0.0.1",
        port,
        process_request=process_request,
        compression=None,
        max_size=1 << 20,
        backlog=4096,
    ):
        await stop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvloop.run(serve_forever(args.port))


if __name__ == "__main__":
    main()
