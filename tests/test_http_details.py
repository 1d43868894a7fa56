"""HTTP details, on the wire (raw sockets where a client library would hide them).

- HTTP/1.0 has no chunked encoding (RFC 9112 §6.1): unsized responses to it
  (SSE, exports) are close-delimited.
- SSE sends `cache-control` once.
- A 405's `Allow` names every method the path supports.
- What the server or a framework writes by itself (a request the parser
  refuses, a refused WebSocket handshake, a refused CORS preflight) is a
  problem with an X-Request-ID, as every other error is.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.helpers import assert_problem, needs_uvicorn_hooks
from tests.server import ADMIN_TOKEN, ServerProcess

AUTH = f"Authorization: Bearer {ADMIN_TOKEN}\r\n".encode()


def exchange(server: ServerProcess, request: bytes, until: bytes | None = None) -> bytes:
    """Send `request` on a new connection; read until the server closes (or `until` is seen)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request)
        received = b""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            data = sock.recv(65536)
            if not data:
                return received
            received += data
            if until is not None and until in received:
                return received
    raise AssertionError(f"no end to the answer: {received[:500]!r}")


def split(answer: bytes) -> tuple[bytes, dict[bytes, list[bytes]], bytes]:
    """(status line, headers by lower-case name, body) of a raw HTTP answer."""
    head, _, body = answer.partition(b"\r\n\r\n")
    status, *lines = head.split(b"\r\n")
    headers: dict[bytes, list[bytes]] = {}
    for line in lines:
        name, _, value = line.partition(b":")
        headers.setdefault(name.strip().lower(), []).append(value.strip())
    return status, headers, body


def assert_raw_problem(answer: bytes, status: int, code: str) -> dict[str, Any]:
    status_line, headers, body = split(answer)
    assert status_line.startswith(b"HTTP/1.1 %d " % status), answer[:300]
    assert headers[b"content-type"] == [b"application/problem+json"], headers
    assert headers[b"content-length"] == [b"%d" % len(body)]
    problem: dict[str, Any] = json.loads(body)
    assert problem["status"] == status and problem["code"] == code, problem
    assert [problem["request_id"].encode()] == headers[b"x-request-id"]
    return problem


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server that allows one origin for CORS and WebSockets."""
    data = tmp_path_factory.mktemp("guarded") / "data"
    proc = ServerProcess(data, LEVELSTREAM_ALLOWED_ORIGINS="https://app.example").start()
    yield proc
    proc.stop()


@needs_uvicorn_hooks
def test_an_export_to_http_1_0_is_close_delimited(fresh_server: ServerProcess) -> None:
    server = fresh_server.start()
    with server.client() as client:
        for i in range(3):
            client.put(f"/v1/collections/exp/docs/k{i}", json={"i": i})
        exported = client.get("/v1/admin/export").content
    answer = exchange(server, b"GET /v1/admin/export HTTP/1.0\r\n" + AUTH + b"\r\n")
    status, headers, body = split(answer)
    assert status == b"HTTP/1.1 200 OK"
    assert b"transfer-encoding" not in headers and b"content-length" not in headers
    assert headers[b"connection"] == [b"close"]
    assert body == exported  # the bytes as they are, no chunk framing

    # HTTP/1.1 keeps its chunked encoding.
    answer = exchange(
        server, b"GET /v1/admin/export HTTP/1.1\r\nHost: x\r\n" + AUTH + b"\r\n", b"0\r\n\r\n"
    )
    assert split(answer)[1][b"transfer-encoding"] == [b"chunked"]


@needs_uvicorn_hooks
def test_a_stream_to_http_1_0_is_close_delimited(server: ServerProcess) -> None:
    request = b"GET /v1/stream?collection=s10 HTTP/1.0\r\n" + AUTH + b"\r\n"
    answer = exchange(server, request, until=b"retry: 2000\n\n")
    status, headers, body = split(answer)
    assert status == b"HTTP/1.1 200 OK"
    assert b"transfer-encoding" not in headers
    assert headers[b"connection"] == [b"close"]
    assert body == b"retry: 2000\n\n"


def test_an_event_stream_says_cache_control_once(server: ServerProcess) -> None:
    request = b"GET /v1/stream?collection=cc HTTP/1.1\r\nHost: x\r\n" + AUTH + b"\r\n"
    headers = split(exchange(server, request, until=b"retry: 2000"))[1]
    assert headers[b"cache-control"] == [b"no-store"]


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("OPTIONS", "/v1/keys", {"GET", "POST"}),
        ("PUT", "/v1/keys", {"GET", "POST"}),
        ("POST", "/v1/keys/0123456789abcdef", {"GET", "PATCH", "DELETE"}),
        ("POST", "/v1/collections/c/docs/k", {"GET", "PUT", "PATCH", "DELETE"}),
        ("DELETE", "/healthz", {"GET"}),
    ],
)
def test_a_405_allows_every_method_of_the_path(
    client: httpx.Client, method: str, path: str, allowed: set[str]
) -> None:
    answer = client.request(method, path)
    assert_problem(answer, 405, "bad_request")
    assert {m.strip() for m in answer.headers["allow"].split(",")} == allowed


@pytest.mark.parametrize(
    "request_bytes",
    [b"GARBAGE\r\n\r\n", b"GET / HTTP/1.1\r\nHost x\r\n\r\n", b"GET /\x01 HTTP/1.1\r\n\r\n"],
)
@needs_uvicorn_hooks
def test_a_request_the_parser_refuses_gets_a_problem(
    server: ServerProcess, request_bytes: bytes
) -> None:
    answer = exchange(server, request_bytes)
    problem = assert_raw_problem(answer, 400, "bad_request")
    assert problem["detail"] == "the request is not valid HTTP/1.1"


WS_HEAD = b"GET /v1/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"


@needs_uvicorn_hooks
def test_a_malformed_websocket_handshake_gets_a_problem(server: ServerProcess) -> None:
    no_key = WS_HEAD + b"Sec-WebSocket-Version: 13\r\nX-Request-ID: mine-1\r\n\r\n"
    problem = assert_raw_problem(exchange(server, no_key), 400, "bad_request")
    assert problem["request_id"] == "mine-1"
    old = (
        WS_HEAD + b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n"
    )
    answer = exchange(server, old)
    assert_raw_problem(answer, 426, "bad_request")  # RFC 6455 §4.4: and the version spoken
    assert split(answer)[1][b"sec-websocket-version"] == [b"13"]


async def test_a_websocket_handshake_refused_by_origin_gets_a_problem(
    guarded: ServerProcess,
) -> None:
    url = f"{guarded.ws_url}/v1/ws?token={ADMIN_TOKEN}"
    with pytest.raises(InvalidStatus) as refused:
        async with connect(url, origin="https://evil.example", open_timeout=10):  # type: ignore[arg-type]
            pass
    response = refused.value.response
    assert response.status_code == 403
    assert response.headers["Content-Type"] == "application/problem+json"
    problem = json.loads(response.body)
    assert problem["code"] == "forbidden" and problem["status"] == 403
    assert problem["request_id"] == response.headers["X-Request-ID"]
    # The allowed origin still opens.
    async with connect(url, origin="https://app.example", open_timeout=10) as ws:  # type: ignore[arg-type]
        await ws.send(json.dumps({"type": "ping", "id": "1"}))


def test_a_refused_cors_preflight_gets_a_problem(guarded: ServerProcess) -> None:
    preflight = {"Origin": "https://evil.example", "Access-Control-Request-Method": "PUT"}
    with httpx.Client(base_url=guarded.url) as client:
        answer = client.options("/v1/collections/c/docs/k", headers=preflight)
        problem = assert_problem(answer, 400, "bad_request")
        assert "CORS" in problem["detail"]
        assert "origin" in answer.headers["vary"].lower()
        allowed = client.options(
            "/v1/collections/c/docs/k", headers={**preflight, "Origin": "https://app.example"}
        )
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == "https://app.example"


async def test_a_websocket_from_a_refused_address_gets_a_problem(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", LEVELSTREAM_ALLOWED_IPS="192.0.2.0/24").start()
    try:
        with pytest.raises(InvalidStatus) as refused:
            async with connect(f"{server.ws_url}/v1/ws", open_timeout=10):
                pass
        response = refused.value.response
        assert response.status_code == 403
        assert response.headers["Content-Type"] == "application/problem+json"
        assert json.loads(response.body)["request_id"] == response.headers["X-Request-ID"]
    finally:
        server.stop()
