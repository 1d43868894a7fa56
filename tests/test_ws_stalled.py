"""A reader that stops reading is cut, and the access log says so (`stalled`).

A peer that reads nothing cannot read a close frame either: the server drops the
connection (the client sees no close frame; it resumes from the last seq it
processed) and logs `stalled`, not the 4008 it could not deliver.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import pytest

from tests.realtime_clients import TIMEOUT, RawWebSocket, start_server
from tests.security_helpers import wait_records
from tests.server import ADMIN_TOKEN, ServerProcess


@pytest.fixture(scope="module")
def quick_cuts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """Pings every 2 s (a silent peer goes after about 4 s), a short SSE send timeout and
    a small send queue, so that a stalled reader is cut within seconds."""
    proc = start_server(
        tmp_path_factory.mktemp("stall"),
        LEVELSTREAM_WS_PING_S="2",
        LEVELSTREAM_SSE_SEND_TIMEOUT_S="1",
        LEVELSTREAM_WS_QUEUE_LIMIT="2000",
        LEVELSTREAM_DURABILITY="async",
    )
    yield proc
    proc.stop()


def _flood(server: ServerProcess, collection: str) -> None:
    """10,000 changes of 1 KiB: more than the kernel buffers of both ends hold."""
    with server.client() as rest:
        for block in range(10):
            ops = [
                {"op": "put", "collection": collection, "key": f"{block}-{i}", "value": "x" * 1024}
                for i in range(1000)
            ]
            response = rest.post("/v1/batch", json={"ops": ops})
            assert response.status_code == 200, response.text


def test_a_stalled_websocket_reader_is_cut_and_logged_stalled(quick_cuts: ServerProcess) -> None:
    ws = RawWebSocket.open(quick_cuts, rcvbuf=4096)
    try:
        subscribed = ws.request({"op": "subscribe", "id": "s", "sub": "s", "collection": "ws"})
        assert subscribed["ok"] is True, subscribed
        _flood(quick_cuts, "ws")  # it reads none of it, and answers no ping
        records = wait_records(quick_cuts, lambda r: r.get("path") == "/v1/ws")
        assert [r.get("close_code") for r in records] == ["stalled"], records
        # It never gets the 4008 that the log no longer claims: it is cut mid-stream.
        closes = []
        with pytest.raises(OSError):  # reset, or the end of the stream
            for _ in range(100_000):
                opcode, payload = ws.recv_frame()
                if opcode == 0x8:
                    closes.append(payload[:2])
        assert (4008).to_bytes(2, "big") not in closes
    finally:
        ws.vanish()


def _pong(payload: bytes) -> bytes:
    """A masked pong frame echoing a ping's payload, as a client answers it."""
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([0x8A, 0x80 | len(payload)]) + mask + masked


def test_an_idle_websocket_that_answers_pings_is_pinged_again_and_kept(
    quick_cuts: ServerProcess,
) -> None:
    """Keep-alive: each answered ping is followed by the next one (the server's shared
    ping timer re-arms per socket), and a peer that answers is never cut."""
    ws = RawWebSocket.open(quick_cuts)
    try:
        subscribed = ws.request({"op": "subscribe", "id": "s", "sub": "s", "collection": "kept"})
        assert subscribed["ok"] is True, subscribed
        pings = []
        while len(pings) < 3:  # three intervals: longer than an unanswered ping survives
            opcode, payload = ws.recv_frame()
            assert opcode != 0x8, f"closed: {payload!r}"
            if opcode == 0x9:
                pings.append(payload)
                ws.sock.sendall(_pong(payload))
        assert len(set(pings)) == 3, pings  # each ping is a new one, not a repeat
        assert ws.request({"op": "ping", "id": "p"})["type"] == "pong"
    finally:
        ws.vanish()


def test_a_stalled_sse_reader_is_cut_and_logged_stalled(quick_cuts: ServerProcess) -> None:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(TIMEOUT)
    try:
        sock.connect(("127.0.0.1", quick_cuts.port))
        sock.sendall(
            b"GET /v1/stream?collection=sse HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Accept: text/event-stream\r\nAuthorization: Bearer "
            + ADMIN_TOKEN.encode()
            + b"\r\n\r\n"
        )
        assert sock.recv(12) == b"HTTP/1.1 200"
        _flood(quick_cuts, "sse")  # and reads nothing more
        records = wait_records(quick_cuts, lambda r: r.get("path") == "/v1/stream")
        assert [r.get("close_code") for r in records] == ["stalled"], records
    finally:
        sock.close()
