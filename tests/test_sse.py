"""`GET /v1/stream` (Server-Sent Events) through a real server: framing, credentials, cursors."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from pathlib import Path

import httpx
import pytest
import uvicorn

from app.main import create_app
from app.settings import Settings
from tests.realtime_clients import (
    TIMEOUT,
    assert_exactly,
    log_changes,
    sse_stream,
    start_server,
)
from tests.security_helpers import wait_records
from tests.server import ADMIN_TOKEN, ServerProcess, free_port


async def put(rest: httpx.AsyncClient, coll: str, key: str, value: object) -> int:
    response = await rest.put(f"/v1/collections/{coll}/docs/{key}", json=value)
    assert response.status_code in (200, 201), response.text
    return int(response.json()["rev"])


async def test_each_change_is_id_event_data(server: ServerProcess, coll: str) -> None:
    async with server.async_client() as rest, sse_stream(rest, collection=coll) as stream:
        first = await put(rest, coll, "a", {"n": 1})
        await put(rest, coll, "b", [1, 2])
        await rest.delete(f"/v1/collections/{coll}/docs/a")
        patched = await rest.patch(f"/v1/collections/{coll}/docs/b", json={"x": 1})
        assert patched.status_code == 200
        last = patched.json()["rev"]
        received = await stream.changes(last)
        assert received == await log_changes(rest, coll, since=first - 1)
        assert [c["op"] for c in received] == ["put", "put", "delete", "put"]
        assert received[2]["value"] is None
        assert stream.retry is not None and stream.retry > 0


async def test_heartbeat_comments_carry_no_id(tmp_path: Path, coll: str) -> None:
    server = start_server(tmp_path, LEVELSTREAM_SSE_PING_S="0.2")
    try:
        async with (
            server.async_client() as rest,
            rest.stream("GET", "/v1/stream", params={"collection": coll}) as response,
        ):
            assert response.status_code == 200
            raw = b""
            deadline = time.monotonic() + TIMEOUT
            async for chunk in response.aiter_raw():
                raw += chunk
                if raw.count(b"\n:") >= 3 or time.monotonic() > deadline:
                    break
        blocks = [b for b in raw.replace(b"\r\n", b"\n").split(b"\n\n") if b.strip()]
        heartbeats = [b for b in blocks if b.startswith(b":")]
        assert len(heartbeats) >= 3
        for block in heartbeats:
            assert all(line.startswith(b":") for line in block.split(b"\n")), block
    finally:
        server.stop()


async def test_credentials(server: ServerProcess, coll: str) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as anonymous:
        refused = await anonymous.get("/v1/stream", params={"collection": coll})
        assert refused.status_code == 401 and refused.json()["code"] == "unauthorized"
        wrong = await anonymous.get("/v1/stream", params={"collection": coll, "token": "nope"})
        assert wrong.status_code == 401
        # Browsers' EventSource cannot set headers: ?token= is accepted.
        async with sse_stream(anonymous, collection=coll, token=ADMIN_TOKEN) as stream:
            async with server.async_client() as rest:
                rev = await put(rest, coll, "k", 1)
            assert [c["seq"] for c in await stream.changes(rev)] == [rev]


async def test_last_event_id_wins_over_since(server: ServerProcess, coll: str) -> None:
    async with server.async_client() as rest:
        revs = [await put(rest, coll, f"k{i}", i) for i in range(6)]
        expected = await log_changes(rest, coll, since=revs[2])
        async with sse_stream(
            rest, {"Last-Event-ID": str(revs[2])}, collection=coll, since=revs[0]
        ) as stream:
            assert await stream.changes(revs[-1]) == expected
        async with sse_stream(rest, collection=coll, since=revs[3]) as stream:
            assert await stream.changes(revs[-1]) == expected[1:]


async def test_many_streams_each_get_every_change_once_in_order(
    server: ServerProcess, coll: str
) -> None:
    """Writes one at a time (each change its own event on every stream, written as it is
    offered) and in batches (a group queued per stream), to 40 streams and one that
    resumes with Last-Event-ID half-way: each gets exactly the log, in order."""
    limits = httpx.Limits(max_connections=60)
    async with server.async_client(limits=limits) as rest, contextlib.AsyncExitStack() as stack:
        streams = [
            await stack.enter_async_context(sse_stream(rest, collection=coll)) for _ in range(40)
        ]
        await _wait_sse_connections(rest, 40)
        for i in range(25):
            await put(rest, coll, f"k{i % 5}", i)
        middle = (await log_changes(rest, coll))[-1]["seq"]
        resumed = await stack.enter_async_context(
            sse_stream(rest, {"Last-Event-ID": str(middle)}, collection=coll)
        )
        for b in range(3):
            ops = [
                {"op": "put", "collection": coll, "key": f"b{b}-{i}", "value": i} for i in range(8)
            ]
            assert (await rest.post("/v1/batch", json={"ops": ops})).status_code == 200
            await put(rest, coll, "single", b)
        log = await log_changes(rest, coll)
        last = log[-1]["seq"]
        for stream in streams:
            assert_exactly(await stream.changes(last), log)
        assert_exactly(await resumed.changes(last), [c for c in log if c["seq"] > middle])


@pytest.mark.parametrize(
    ("params", "headers", "status"),
    [
        ({}, {}, 422),  # neither a collection nor a channel
        ({"collection": "bad name!"}, {}, 422),
        ({"collection": "c", "key": "a", "prefix": "a"}, {}, 422),
        ({"collection": "c", "since": -1}, {}, 422),
        ({"collection": "c", "since": "abc"}, {}, 422),
        ({"collection": "c", "since": 2**62}, {}, 400),  # ahead of the head: not ours
        ({"collection": "c"}, {"Last-Event-ID": "garbage"}, 422),
        ({"collection": "c"}, {"Last-Event-ID": str(2**62)}, 400),
        ({"channel": "bad name!"}, {}, 422),
    ],
)
async def test_refused_before_the_stream_starts(
    server: ServerProcess, params: dict[str, object], headers: dict[str, str], status: int
) -> None:
    async with server.async_client() as rest:
        response = await rest.get("/v1/stream", params=params, headers=headers)
        assert response.status_code == status, response.text
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_a_wildcard_stream_and_a_filtered_one_side_by_side(
    server: ServerProcess, coll: str
) -> None:
    other = coll + "_other"
    async with (
        server.async_client() as rest,
        sse_stream(rest, collection="*") as everything,
        sse_stream(rest, collection=coll, prefix="p/") as filtered,
    ):
        start = (await rest.get("/v1/changes", params={"collection": "*"})).json()["head_seq"]
        for i in range(5):
            await put(rest, coll, f"p/{i}", i)
            await put(rest, coll, f"q/{i}", i)
            await put(rest, other, f"p/{i}", i)
        last = await put(rest, coll, "p/last", 0)
        mine = await log_changes(rest, coll, since=start, prefix="p/")
        assert await filtered.changes(last) == mine
        seen = await everything.changes(last)
        # The wildcard stream may carry other tests' writes too; ours are all there, in order.
        ours = [c for c in seen if c["collection"] in (coll, other)]
        assert ours == [
            c for c in await log_changes(rest, "*", since=start) if c["collection"] in (coll, other)
        ]
        assert [c["seq"] for c in seen] == sorted({c["seq"] for c in seen})


def _sse_connections(metrics: str) -> float:
    for line in metrics.splitlines():
        if line.startswith("levelstream_connections{") and 'transport="sse"' in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def _wait_sse_connections(rest: httpx.AsyncClient, expected: float) -> None:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if _sse_connections((await rest.get("/metrics")).text) == expected:
            return
        await asyncio.sleep(0.05)
    counted = _sse_connections((await rest.get("/metrics")).text)
    raise AssertionError(f"the server counts {counted} SSE connections, not {expected}")


def _raw_stream(port: int, coll: str, rcvbuf: int = 0) -> socket.socket:
    sock = socket.socket()
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.connect(("127.0.0.1", port))
    request = (
        f"GET /v1/stream?collection={coll} HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: Bearer {ADMIN_TOKEN}\r\n\r\n"
    )
    sock.sendall(request.encode())
    sock.settimeout(TIMEOUT)
    assert sock.recv(4096).startswith(b"HTTP/1.1 200")
    return sock


async def test_a_client_that_goes_away_is_forgotten(server: ServerProcess, coll: str) -> None:
    """No task waits on each idle stream: the server still notices a vanished client
    (a closed socket, with or without anything sent) and drops its subscriptions."""
    async with server.async_client() as rest:
        await _wait_sse_connections(rest, 0)
        socks = [_raw_stream(server.port, coll) for _ in range(20)]
        await _wait_sse_connections(rest, 20)
        for sock in socks[:10]:
            sock.close()
        await _wait_sse_connections(rest, 10)
        await put(rest, coll, "k", 1)  # the others still get changes
        for sock in socks[10:]:
            assert b"event: change" in sock.recv(65536) or b"event: change" in sock.recv(65536)
            sock.close()
        await _wait_sse_connections(rest, 0)


async def test_a_reader_that_stops_reading_is_cut_off(tmp_path: Path, coll: str) -> None:
    """A stream whose reader stopped (a stopped process, a stuck proxy) is dropped after
    the send timeout, while a reader beside it gets every change."""
    server = start_server(tmp_path, LEVELSTREAM_SSE_SEND_TIMEOUT_S="1")
    try:
        async with server.async_client() as rest, sse_stream(rest, collection=coll) as reader:
            stuck = _raw_stream(server.port, coll, rcvbuf=4096)
            await _wait_sse_connections(rest, 2)
            big = "x" * 60_000
            ops = [
                {"op": "put", "collection": coll, "key": f"k{i}", "value": big} for i in range(10)
            ]
            for _ in range(10):  # 6 MB: far more than the stuck socket's buffers hold
                response = await rest.post("/v1/batch", json={"ops": ops})
                assert response.status_code == 200
            last = response.json()["seq"]
            got = await reader.changes(last)
            assert [c["seq"] for c in got] == list(range(last - 99, last + 1))
            await _wait_sse_connections(rest, 1)
        # The stuck client, reading at last, gets what was on the wire, then the end.
        with contextlib.suppress(ConnectionResetError):
            while stuck.recv(1 << 20):
                pass
        stuck.close()
    finally:
        server.stop()


async def test_streams_under_a_plain_uvicorn(tmp_path: Path, coll: str) -> None:
    """Without our protocol's disconnect callback (any other ASGI server), a stream
    watches `receive` instead: it streams, and a vanished client is still forgotten."""
    settings = Settings(data_dir=tmp_path / "data", admin_token=ADMIN_TOKEN, access_log=False)
    port = free_port()
    app = create_app(settings)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, http="h11", log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.02)
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
        ) as rest:
            async with sse_stream(rest, collection=coll) as stream:
                await put(rest, coll, "k", 1)
                assert (await stream.changes(1))[0]["key"] == "k"
            await _wait_sse_connections(rest, 0)
    finally:
        server.should_exit = True
        await task


async def test_the_access_log_counts_what_a_stream_sent(tmp_path: Path, coll: str) -> None:
    """Events written straight to the socket are in the stream's access-log line."""
    server = start_server(tmp_path)
    try:
        async with server.async_client() as rest:
            received = b""
            async with rest.stream("GET", "/v1/stream", params={"collection": coll}) as response:
                assert response.status_code == 200
                for i in range(3):
                    await put(rest, coll, f"k{i}", "x" * 100)
                async for piece in response.aiter_bytes():
                    received += piece
                    if received.count(b"event: change") == 3:
                        break
            records = wait_records(server, lambda r: r.get("path") == "/v1/stream")
        assert len(records) == 1, records
        assert records[0]["bytes"] >= len(received) > 300
    finally:
        server.stop()
