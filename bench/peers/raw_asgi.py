"""Ceiling for HTTP: a minimal raw-ASGI app on uvicorn (uvloop + httptools) over plyvel.

The same routes the workloads use (PUT/GET one document, a range of documents),
with nothing else: no auth, no change log, no fsync, no middleware.

    python -m bench.peers.raw_asgi --port 8002 --data /tmp/raw-asgi
"""

from __future__ import annotations

import argparse
from typing import Any

import orjson
import uvicorn

from app.store.leveldb_driver import plyvel

PREFIX = "/v1/collections/"
JSON_HEADERS = [(b"content-type", b"application/json")]


class RawApp:
    def __init__(self, path: str) -> None:
        self.path = path
        self.db: Any = None
        self.writes = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self.lifespan(receive, send)
            return
        status, body = await self.handle(scope, receive)
        headers = [*JSON_HEADERS, (b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.db = plyvel.DB(self.path, create_if_missing=True)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.db.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def handle(self, scope: dict[str, Any], receive: Any) -> tuple[int, bytes]:
        path: str = scope["path"]
        method: str = scope["method"]
        if path == "/readyz":
            return 200, b'{"ok":true,"writes":%d}' % self.writes
        if not path.startswith(PREFIX):
            return 404, b'{"error":"not_found"}'
        collection, sep, key = path[len(PREFIX) :].partition("/docs")
        if not sep:
            return 404, b'{"error":"not_found"}'
        base = collection.encode() + b"\x00"
        if key == "" and method == "GET":
            return 200, self.range(base, collection, scope["query_string"])
        key = key[1:]
        dbkey = base + key.encode()
        envelope = b'{"collection":%s,"key":%s,"value":' % (
            orjson.dumps(collection),
            orjson.dumps(key),
        )
        if method == "PUT":
            body = await read_body(receive)
            try:
                orjson.loads(body)
            except orjson.JSONDecodeError:
                return 422, b'{"error":"invalid_json"}'
            self.db.put(dbkey, body)
            self.writes += 1
            return 200, envelope + body + b"}"
        if method == "GET":
            value = self.db.get(dbkey)
            if value is None:
                return 404, b'{"error":"not_found"}'
            return 200, envelope + value + b"}"
        return 405, b'{"error":"method_not_allowed"}'

    def range(self, base: bytes, collection: str, query: bytes) -> bytes:
        args = dict(part.split(b"=", 1) for part in query.split(b"&") if b"=" in part)
        limit = min(int(args.get(b"limit", b"100")), 1000)
        start = base + args.get(b"gte", b"")
        items = []
        coll = orjson.dumps(collection)
        for n, (k, v) in enumerate(self.db.iterator(start=start)):
            if n >= limit or not k.startswith(base):
                break
            key = orjson.dumps(k[len(base) :].decode())
            items.append(b'{"collection":%s,"key":%s,"value":%s}' % (coll, key, v))
        return b'{"items":[' + b",".join(items) + b"]}"


async def read_body(receive: Any) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data", required=True)
    args = parser.parse_args()
    uvicorn.run(
        RawApp(args.data),
        host="127.0.0.1",
        port=args.port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        server_header=False,
        date_header=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
