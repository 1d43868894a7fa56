"""Fan-out: 1000 concurrent WebSocket subscribers each receive every matching change, in order,
and a subscriber that stops reading is cut off (4008) without anyone else missing a thing."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
from websockets.asyncio.client import connect

from tests.realtime_clients import (
    TIMEOUT,
    RawWebSocket,
    WsClient,
    assert_exactly,
    log_changes,
    ws_client,
    ws_options,
    ws_url,
)
from tests.server import ServerProcess

SUBSCRIBERS = 1000


async def test_a_thousand_subscribers_each_get_every_change_in_order(
    fresh_server: ServerProcess,
) -> None:
    server = fresh_server.start()
    opening = asyncio.Semaphore(50)

    async def subscriber(index: int) -> WsClient:
        async with opening:
            raw = await connect(ws_url(server), **ws_options(ping_interval=None))
            ws = WsClient(raw)
            # Half follow one collection, half every collection.
            await ws.subscribe("s", collection="fan" if index % 2 else "*")
            return ws

    clients = await asyncio.gather(*(subscriber(i) for i in range(SUBSCRIBERS)))

    async def until_the_end(ws: WsClient) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        while not out or out[-1]["value"] != "the end":
            frame = await ws.expect(lambda f: f["type"] == "change", timeout=90)
            out.append(frame["change"])
        return out

    try:
        # Everyone is reading while the writes commit.
        readers = [asyncio.create_task(until_the_end(ws)) for ws in clients]
        async with server.async_client() as rest:
            for i in range(60):
                coll = "fan" if i % 3 else "other"
                response = await rest.put(f"/v1/collections/{coll}/docs/k{i % 9}", json={"i": i})
                assert response.status_code in (200, 201)
            for b in range(4):
                ops: list[dict[str, Any]] = [
                    {"op": "put", "collection": "fan", "key": f"b{b}-{i}", "value": i}
                    for i in range(10)
                ]
                ops.append({"op": "delete", "collection": "fan", "key": f"b{b}-0"})
                assert (await rest.post("/v1/batch", json={"ops": ops})).status_code == 200
            end = await rest.put("/v1/collections/fan/docs/end", json="the end")
            assert end.status_code == 201
            everything = await log_changes(rest, "*")
            fan = await log_changes(rest, "fan")
        assert len(everything) == 105 and len(fan) == 85
        results = await asyncio.gather(*readers)
        for index, changes in enumerate(results):
            assert_exactly(changes, fan if index % 2 else everything)
    finally:
        await asyncio.gather(*(ws.ws.close() for ws in clients), return_exceptions=True)


async def test_a_subscriber_that_never_reads_is_closed_4008(fresh_server: ServerProcess) -> None:
    fresh_server.env["LEVELSTREAM_WS_QUEUE_LIMIT"] = "50"
    server = fresh_server.start()
    # The slow one: subscribes, then reads nothing while a writer floods; a small receive
    # buffer makes the server's queue for it fill after a few hundred kilobytes.
    slow = RawWebSocket.open(server, rcvbuf=4096)
    reply = slow.request({"op": "subscribe", "id": 1, "sub": "slow", "collection": "flood"})
    assert reply["ok"] is True
    async with ws_client(server) as steady, server.async_client() as rest:
        await steady.subscribe("steady", collection="flood")
        big = "x" * 20_000
        revs = []
        steady_got: list[dict[str, Any]] = []
        for start in range(0, 600, 20):  # about 12 MB of changes, far more than any buffer
            ops = [
                {"op": "put", "collection": "flood", "key": f"k{i}", "value": {"i": i, "pad": big}}
                for i in range(start, start + 20)
            ]
            response = await rest.post("/v1/batch", json={"ops": ops})
            assert response.status_code == 200
            revs.append(response.json()["seq"])
            # The steady subscriber keeps up while the slow one is stuck.
            steady_got += await steady.changes("steady", revs[-1])
        log = await log_changes(rest, "flood")
        assert len(log) == 600
        assert_exactly(steady_got, log)

        # The slow one now reads: what had been sent, then the close 4008 with a resume point.
        got, close = await asyncio.to_thread(read_until_closed, slow)
        code, reason = close
        assert code == 4008, close
        hint = orjson.loads(reason)
        assert hint["code"] == "slow_consumer"
        assert 0 < len(got) < len(log), "it was not cut off"
        assert got == log[: len(got)], "what it got before the close is a clean prefix"
        # The close names the last seq it received: resuming from there gives the rest, exactly.
        assert hint["since"] == got[-1]["seq"]
        async with ws_client(server) as again:
            await again.subscribe("again", collection="flood", since=hint["since"])
            rest_of_it = await again.changes("again", log[-1]["seq"])
        assert_exactly(got + rest_of_it, log)


def read_until_closed(raw: RawWebSocket) -> tuple[list[dict[str, Any]], tuple[int, str]]:
    """Read change frames until the server's close frame: (changes, (code, reason))."""
    changes: list[dict[str, Any]] = []
    deadline = time.monotonic() + TIMEOUT * 3
    while time.monotonic() < deadline:
        opcode, payload = raw.recv_frame()
        if opcode == 0x1:
            frame = orjson.loads(payload)
            if frame["type"] == "change":
                changes.append(frame["change"])
        elif opcode == 0x8:
            code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
            raw.vanish()
            return changes, (code, payload[2:].decode())
    raise AssertionError("the slow subscriber was never closed")
