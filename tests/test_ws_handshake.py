"""The WebSocket opening handshake, judged by our protocol from what the HTTP parser read
(app/server/ws_handshake.py): RFC 6455 §4.2's checks on raw sockets, each refusal a clean
problem on a closed connection (never a 500, never a wait), the server serving on after."""

from __future__ import annotations

import base64
import socket

import pytest

from tests.helpers import needs_uvicorn_hooks
from tests.realtime_clients import ws_client
from tests.server import ADMIN_TOKEN, ServerProcess
from tests.test_http_details import assert_raw_problem, exchange, split

pytestmark = needs_uvicorn_hooks  # stock uvicorn answers these in websockets' plain text

KEY = b"dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455 §1.3's sample nonce
ACCEPT = b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="  # and its Sec-WebSocket-Accept
TARGET = b"/v1/ws?token=" + ADMIN_TOKEN.encode()


def handshake(*lines: bytes, method: bytes = b"GET", version: bytes = b"HTTP/1.1") -> bytes:
    head = [method + b" " + TARGET + b" " + version, b"Host: 127.0.0.1", *lines]
    return b"\r\n".join(head) + b"\r\n\r\n"


UPGRADE = (b"Upgrade: websocket", b"Connection: Upgrade")
VERSION = b"Sec-WebSocket-Version: 13"

REFUSED = {
    "missing key": (handshake(*UPGRADE, VERSION), 400, "Sec-WebSocket-Key"),
    "key of 5 bytes": (handshake(*UPGRADE, b"Sec-WebSocket-Key: c2hvcnQ=", VERSION), 400, "16"),
    "key of 17 bytes": (
        handshake(*UPGRADE, b"Sec-WebSocket-Key: " + base64.b64encode(b"x" * 17), VERSION),
        400,
        "16",
    ),
    "key not base64": (
        handshake(*UPGRADE, b"Sec-WebSocket-Key: !!!!!!!!!!!!!!!!!!!!!!==", VERSION),
        400,
        "16",
    ),
    "two keys": (
        handshake(*UPGRADE, b"Sec-WebSocket-Key: " + KEY, b"Sec-WebSocket-Key: " + KEY, VERSION),
        400,
        "Sec-WebSocket-Key",
    ),
    "missing version": (
        handshake(*UPGRADE, b"Sec-WebSocket-Key: " + KEY),
        400,
        "Sec-WebSocket-Version",
    ),
    "version 8": (
        handshake(*UPGRADE, b"Sec-WebSocket-Key: " + KEY, b"Sec-WebSocket-Version: 8"),
        426,
        "version 13",
    ),
    "two Upgrade protocols": (
        handshake(
            b"Upgrade: h2c",
            b"Upgrade: websocket",
            b"Connection: Upgrade",
            b"Sec-WebSocket-Key: " + KEY,
            VERSION,
        ),
        426,
        "Upgrade: websocket",
    ),
    "POST": (
        handshake(*UPGRADE, b"Sec-WebSocket-Key: " + KEY, VERSION, method=b"POST"),
        405,
        "GET",
    ),
    "a body": (
        handshake(*UPGRADE, b"Sec-WebSocket-Key: " + KEY, VERSION, b"Content-Length: 4") + b"body",
        400,
        "no body",
    ),
    "HTTP/1.0": (
        handshake(*UPGRADE, b"Sec-WebSocket-Key: " + KEY, VERSION, version=b"HTTP/1.0"),
        505,
        "HTTP/1.1",
    ),
    "two Origins": (
        handshake(
            *UPGRADE,
            b"Sec-WebSocket-Key: " + KEY,
            VERSION,
            b"Origin: https://a.example",
            b"Origin: https://b.example",
        ),
        400,
        "Origin",
    ),
}


@pytest.mark.parametrize("case", list(REFUSED))
async def test_a_bad_handshake_gets_a_clean_refusal_and_the_server_serves_on(
    server: ServerProcess, case: str
) -> None:
    request, status, said = REFUSED[case]
    answer = exchange(server, request)  # read until the server closes: no hang
    problem = assert_raw_problem(answer, status, "bad_request")
    assert said in problem["detail"]
    headers = split(answer)[1]
    if status == 426 and case == "version 8":
        assert headers[b"sec-websocket-version"] == [b"13"]  # RFC 6455 §4.4
    if status == 405:
        assert headers[b"allow"] == [b"GET"]
    async with ws_client(server) as ws:
        assert (await ws.request("ping"))["type"] == "pong"


def test_a_refusal_carries_the_clients_request_id(server: ServerProcess) -> None:
    answer = exchange(server, handshake(*UPGRADE, VERSION, b"X-Request-ID: mine-2"))
    assert assert_raw_problem(answer, 400, "bad_request")["request_id"] == "mine-2"


def test_a_browsers_handshake_is_answered_with_rfc_6455s_accept(server: ServerProcess) -> None:
    # Firefox's shape: Connection lists keep-alive too; names and tokens in any case.
    request = handshake(
        b"UPGRADE: WebSocket",
        b"connection: keep-alive, Upgrade",
        b"sec-websocket-key: " + KEY,
        b"Sec-WebSocket-Version: 13",
        b"Sec-WebSocket-Protocol: chat, superchat",
    )
    answer = exchange(server, request, until=b"\r\n\r\n")
    status, headers, _ = split(answer)
    assert status == b"HTTP/1.1 101 Switching Protocols"
    assert headers[b"sec-websocket-accept"] == [ACCEPT]
    assert headers[b"upgrade"] == [b"websocket"]
    assert headers[b"connection"] == [b"Upgrade"]
    # The app chose no subprotocol: none is claimed.
    assert b"sec-websocket-protocol" not in headers


def test_an_open_socket_serves_frames_after_the_101(server: ServerProcess) -> None:
    request = handshake(*UPGRADE, b"Sec-WebSocket-Key: " + KEY, VERSION)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request)
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(1)
            assert chunk, "closed during the handshake"
            head += chunk
        assert head.startswith(b"HTTP/1.1 101")
        # A masked close frame (code 1000): the server answers with its own close.
        mask = b"\x01\x02\x03\x04"
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(b"\x03\xe8"))
        sock.sendall(b"\x88\x82" + mask + payload)
        frame = sock.recv(2)
        assert frame[0] == 0x88  # a close frame back, not a reset
