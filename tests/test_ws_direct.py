"""WebSocket delivery through the direct write path (app/server/ws_protocol.py, DirectOutbox).

Live changes go straight to the socket at the end of each committed group; a
socket that cannot take them (its reader stopped) holds them in its outbox
until it drains. Either way a subscriber sees every change once, in seq order,
and a reply never overtakes the changes queued before it.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from typing import Any

import orjson
import pytest

from tests.realtime_clients import (
    TIMEOUT,
    RawWebSocket,
    assert_exactly,
    log_changes,
    ws_client,
)
from tests.server import ServerProcess


def queued_frames(metrics: str) -> int:
    """The deepest connection queue, from the Prometheus text."""
    match = re.search(r"^levelstream_fanout_queue_max_frames (\S+)$", metrics, re.M)
    assert match, "no queue depth metric"
    return int(float(match.group(1)))


def read_frames(raw: RawWebSocket, until: Any) -> list[dict[str, Any]]:
    """Text frames, in arrival order, until `until(frames)` holds."""
    frames: list[dict[str, Any]] = []
    deadline = time.monotonic() + TIMEOUT * 3
    while time.monotonic() < deadline:
        opcode, payload = raw.recv_frame()
        if opcode == 0x8:
            raise AssertionError(f"closed: {payload!r}")
        if opcode == 0x1:
            frames.append(orjson.loads(payload))
            if until(frames):
                return frames
    raise AssertionError("frames missing")


async def test_a_paused_subscriber_gets_every_change_in_order_once_it_reads(
    fresh_server: ServerProcess,
) -> None:
    server = fresh_server.start()
    # A small receive buffer: the server's socket fills, its transport pauses, and
    # the changes wait in the connection's outbox instead of going out directly.
    slow = RawWebSocket.open(server, rcvbuf=4096)
    reply = slow.request({"op": "subscribe", "id": 1, "sub": "p", "collection": "paused"})
    assert reply["ok"] is True
    big = "x" * 20_000
    async with server.async_client() as rest:
        for start in range(0, 600, 20):  # about 12 MB: more than any socket buffer
            ops = [
                {"op": "put", "collection": "paused", "key": f"k{i}", "value": {"pad": big}}
                for i in range(start, start + 20)
            ]
            assert (await rest.post("/v1/batch", json={"ops": ops})).status_code == 200
        held = queued_frames((await rest.get("/metrics")).text)
        assert held > 0, "the server never had to hold frames back"
        # A request while the changes wait: its reply comes after them, not before.
        await asyncio.to_thread(slow.send, {"op": "ping", "id": "after"})
        for i in range(5):
            response = await rest.put(f"/v1/collections/paused/docs/late{i}", json={"i": i})
            assert response.status_code == 201
        log = await log_changes(rest, "paused")
    assert len(log) == 605

    def changes_and_pong(frames: list[dict[str, Any]]) -> bool:
        changes = sum(1 for f in frames if f["type"] == "change")
        return changes == len(log) and any(f["type"] == "pong" for f in frames)

    frames = await asyncio.to_thread(read_frames, slow, changes_and_pong)
    slow.vanish()
    assert_exactly([f["change"] for f in frames if f["type"] == "change"], log)
    pong = next(i for i, f in enumerate(frames) if f["type"] == "pong")
    assert frames[pong]["id"] == "after"
    assert all(f["type"] == "change" for f in frames[:pong])
    assert pong >= 600, "the reply overtook changes queued before it"


async def test_a_group_larger_than_the_queue_reaches_a_reading_subscriber_in_order(
    fresh_server: ServerProcess,
) -> None:
    fresh_server.env["LEVELSTREAM_WS_QUEUE_LIMIT"] = "100"
    server = fresh_server.start()
    async with (
        ws_client(server) as everything,
        ws_client(server) as some,
        server.async_client() as rest,
    ):
        await everything.subscribe("all", collection="*")
        await some.subscribe("some", collection="group", prefix="a")
        # One batch is one committed group: 1000 changes for one socket write each.
        ops = [
            {"op": "put", "collection": "group", "key": f"{'ab'[i % 2]}{i:04}", "value": i}
            for i in range(1000)
        ]
        response = await rest.post("/v1/batch", json={"ops": ops})
        assert response.status_code == 200
        last = response.json()["seq"]
        log = await log_changes(rest, "group")
        assert len(log) == 1000
        assert_exactly(await everything.changes("all", last), log)
        wanted = [c for c in log if c["key"].startswith("a")]
        got = await some.changes("some", wanted[-1]["seq"])
        assert_exactly(got, wanted)
        # Still open and answering, in order after everything above.
        assert (await everything.request("ping"))["type"] == "pong"


def _masked_text(payload: bytes) -> bytes:
    mask = os.urandom(4)
    assert len(payload) < 126
    return (
        bytes([0x81, 0x80 | len(payload)])
        + mask
        + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    )


@pytest.mark.parametrize("split", [1, 3, 10])
def test_the_first_frames_are_read_however_they_are_cut(server: ServerProcess, split: int) -> None:
    """Once the handshake is answered the server parses frames with a fresh parser
    (app/server/ws_protocol.py lets the handshake's go): frames cut anywhere still read."""
    raw = RawWebSocket.open(server)
    try:
        for n in range(2):
            ping = _masked_text(b'{"op":"ping","id":%d}' % n)
            for piece in (ping[:split], ping[split : split + 5], ping[split + 5 :]):
                raw.sock.sendall(piece)
                time.sleep(0.05)
            assert raw.recv_json() == {"type": "pong", "id": n}
    finally:
        raw.vanish()
