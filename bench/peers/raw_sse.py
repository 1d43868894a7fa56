"""Ceiling for SSE fan-out: a plain Starlette `StreamingResponse` on uvicorn.

`GET /stream` registers a queue and streams whatever lands in it (everything
queued goes out in one chunk); `POST /publish` encodes the body once as an SSE
`change` event and queues it for every stream. No auth, no log, compression off.

    python -m bench.peers.raw_sse --port 8004
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route


class Streams:
    def __init__(self) -> None:
        self.queues: set[asyncio.Queue[bytes]] = set()
        self.seq = 0

    async def stream(self, request: Request) -> Response:
        queue: asyncio.Queue[bytes] = asyncio.Queue()
        self.queues.add(queue)

        async def events() -> AsyncIterator[bytes]:
            try:
                yield b"retry: 2000\n\n"
                while True:
                    items = [await queue.get()]
                    while not queue.empty():
                        items.append(queue.get_nowait())
                    yield b"".join(items)
            finally:
                self.queues.discard(queue)

        return StreamingResponse(
            events(), media_type="text/event-stream", headers={"Cache-Control": "no-store"}
        )

    async def publish(self, request: Request) -> Response:
        body = await request.body()
        self.seq += 1
        event = b"id: %d\nevent: change\ndata: %s\n\n" % (self.seq, body)
        for queue in self.queues:
            queue.put_nowait(event)
        return Response(b"", status_code=200)

    async def ready(self, request: Request) -> Response:
        return PlainTextResponse(f"{len(self.queues)}\n")


def create_app() -> Starlette:
    streams = Streams()
    return Starlette(
        routes=[
            Route("/stream", streams.stream),
            Route("/publish", streams.publish, methods=["POST"]),
            Route("/readyz", streams.ready),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(
        create_app(),
        host="127.0.0.1",
        port=args.port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
        backlog=4096,
    )


if __name__ == "__main__":
    main()
