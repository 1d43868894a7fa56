"""HTTP load generators: each client holds one keep-alive connection and sends in turn.

`RawHttp1` writes pre-encoded HTTP/1.1 requests on an asyncio stream and
parses only the status line and Content-Length: a few microseconds per
request, so the server, not the generator, sets the pace. `HttpxClient` is
the same interface over `httpx.AsyncClient`, kept to compare against.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Protocol


class HttpClient(Protocol):
    async def request(self, method: str, path: str, body: bytes) -> tuple[int, bytes]: ...

    async def aclose(self) -> None: ...


class RawHttp1:
    """One HTTP/1.1 keep-alive connection; requests go one after the other."""

    def __init__(self, host: str, port: int, headers: dict[str, str]) -> None:
        self.host = host
        self.port = port
        self._fixed = "".join(f"{k}: {v}\r\n" for k, v in headers.items()).encode("latin-1")
        self._fixed += f"Host: {host}:{port}\r\n".encode("latin-1")
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._reader is None or self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        return self._reader, self._writer

    async def request(self, method: str, path: str, body: bytes) -> tuple[int, bytes]:
        reader, writer = await self._connect()
        head = b"%s %s HTTP/1.1\r\n%sContent-Length: %d\r\n\r\n" % (
            method.encode("ascii"),
            path.encode("utf-8"),
            self._fixed,
            len(body),
        )
        writer.write(head + body)
        response_head = await reader.readuntil(b"\r\n\r\n")
        status = int(response_head[9:12])
        lower = response_head.lower()
        at = lower.find(b"\r\ncontent-length:")
        if at < 0 and status in (204, 304):  # no body by definition
            return status, b""
        if at < 0:
            raise RuntimeError(f"response without Content-Length: {response_head[:200]!r}")
        end = lower.index(b"\r\n", at + 2)
        length = int(lower[at + 17 : end])
        payload = await reader.readexactly(length) if length else b""
        if b"\r\nconnection: close" in lower:
            await self.aclose()
        return status, payload

    async def aclose(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()
        self._reader = self._writer = None


class HttpxClient:
    """The same over httpx (one client per connection, so the pool does not queue)."""

    def __init__(self, host: str, port: int, headers: dict[str, str]) -> None:
        import httpx

        self._client = httpx.AsyncClient(
            base_url=f"http://{host}:{port}",
            headers=headers,
            timeout=30,
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
        )

    async def request(self, method: str, path: str, body: bytes) -> tuple[int, bytes]:
        response = await self._client.request(method, path, content=body)
        return response.status_code, response.content

    async def aclose(self) -> None:
        await self._client.aclose()


def make_client(kind: str, host: str, port: int, headers: dict[str, str]) -> HttpClient:
    if kind == "httpx":
        return HttpxClient(host, port, headers)
    return RawHttp1(host, port, headers)
