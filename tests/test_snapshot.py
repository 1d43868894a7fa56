"""`snapshot=true`: the matching documents as of one seq N, then every change after N, with no
race against concurrent writers: snapshot + changes == the final state REST reads."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import httpx
import pytest

from tests.realtime_clients import (
    TIMEOUT,
    SseStream,
    WsClient,
    assert_exactly,
    log_changes,
    sse_stream,
    ws_client,
)
from tests.server import ServerProcess

DOCS = 2500  # more than two WS snapshot frames' worth
SENTINEL = {"sentinel": True}
State = dict[str, tuple[Any, int]]  # key -> (value, rev)


async def seed(rest: httpx.AsyncClient, coll: str) -> None:
    for start in range(0, DOCS, 1000):
        ops = [
            {"op": "put", "collection": coll, "key": f"k{i:04d}", "value": {"i": i}}
            for i in range(start, min(start + 1000, DOCS))
        ]
        response = await rest.post("/v1/batch", json={"ops": ops})
        assert response.status_code == 200, response.text


async def churn(rest: httpx.AsyncClient, coll: str, stop: asyncio.Event, rng: random.Random) -> int:
    """Random writes until told to stop (bounded anyway); returns how many were made."""
    made = 0
    while not stop.is_set() and made < 2000:
        key = f"k{rng.randrange(DOCS + 300):04d}"
        url = f"/v1/collections/{coll}/docs/{key}"
        roll = rng.random()
        if roll < 0.5:
            response = await rest.put(url, json={"w": made, "r": rng.random()})
        elif roll < 0.7:
            response = await rest.delete(url)
        elif roll < 0.85:
            response = await rest.patch(url, json={"patched": made})
        else:
            ops = [
                {"op": "put", "collection": coll, "key": f"k{rng.randrange(DOCS):04d}", "value": i}
                for i in range(5)
            ]
            response = await rest.post("/v1/batch", json={"ops": ops})
        assert response.status_code < 500, response.text
        made += 1
    return made


async def final_state(rest: httpx.AsyncClient, coll: str, prefix: str | None) -> State:
    state: State = {}
    cursor: str | None = None
    for _ in range(1000):
        params: dict[str, Any] = {"limit": 1000}
        if prefix is not None:
            params["prefix"] = prefix
        if cursor is not None:
            params["cursor"] = cursor
        response = await rest.get(f"/v1/collections/{coll}/docs", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        state.update({e["key"]: (e["value"], e["rev"]) for e in page["items"]})
        cursor = page["next_cursor"]
        if cursor is None:
            return state
    raise AssertionError("the range read did not end")


async def ws_snapshot(
    ws: WsClient, coll: str, prefix: str | None
) -> tuple[list[list[dict[str, Any]]], int, list[dict[str, Any]]]:
    """Subscribe with snapshot; (item pages, seq N, changes up to the sentinel)."""
    flt = {"prefix": prefix} if prefix is not None else {}
    reply = await ws.subscribe("snap", collection=coll, snapshot=True, **flt)
    assert reply["seq"] >= 0
    pages: list[list[dict[str, Any]]] = []
    seqs: set[int] = set()
    for _ in range(100):
        frame = await ws.next_frame()
        assert frame["type"] == "snapshot" and frame["sub"] == "snap", frame
        assert len(frame["items"]) <= 1000
        pages.append(frame["items"])
        seqs.add(frame["seq"])
        if frame["done"]:
            break
    assert len(seqs) == 1, "every snapshot frame carries the same seq"
    changes: list[dict[str, Any]] = []
    while not changes or changes[-1]["value"] != SENTINEL:
        frame = await ws.next_frame()
        assert frame["type"] == "change" and frame["sub"] == "snap", frame
        changes.append(frame["change"])
    return pages, seqs.pop(), changes


async def sse_snapshot(
    stream: SseStream,
) -> tuple[list[list[dict[str, Any]]], int, list[dict[str, Any]]]:
    pages: list[list[dict[str, Any]]] = []
    seqs: set[int] = set()
    for _ in range(100):
        event = await stream.next_event()
        assert event is not None and event.event == "snapshot", event
        data = event.json()
        pages.append(data["items"])
        seqs.add(data["seq"])
        if data["done"]:
            break
    assert len(seqs) == 1
    changes: list[dict[str, Any]] = []
    while not changes or changes[-1]["value"] != SENTINEL:
        event = await stream.next_event()
        assert event is not None and event.event == "change", event
        assert event.id == str(event.json()["seq"])
        changes.append(event.json())
    return pages, seqs.pop(), changes


@pytest.mark.parametrize("prefix", [None, "k1"], ids=["whole", "prefix"])
@pytest.mark.parametrize("transport", ["ws", "sse"])
async def test_snapshot_then_changes_equals_the_final_state(
    server: ServerProcess, coll: str, transport: str, prefix: str | None
) -> None:
    rng = random.Random(f"{transport}{prefix}")
    async with server.async_client() as rest, server.async_client() as writer_rest:
        await seed(rest, coll)
        stop = asyncio.Event()
        writers = [
            asyncio.create_task(churn(writer_rest, coll, stop, random.Random(rng.random())))
            for _ in range(3)
        ]
        await asyncio.sleep(0.05)  # the writers are busy when the subscription starts

        async def finish() -> None:
            await asyncio.sleep(0.5)
            stop.set()
            assert min(await asyncio.gather(*writers)) > 0
            sentinel = f"/v1/collections/{coll}/docs/{prefix or ''}zz-end"
            assert (await rest.put(sentinel, json=SENTINEL)).status_code == 201

        finisher = asyncio.create_task(finish())
        if transport == "ws":
            async with ws_client(server) as ws:
                pages, seq, changes = await ws_snapshot(ws, coll, prefix)
        else:
            params = {"prefix": prefix} if prefix is not None else {}
            async with sse_stream(rest, collection=coll, snapshot="true", **params) as stream:
                pages, seq, changes = await asyncio.wait_for(sse_snapshot(stream), TIMEOUT * 2)
        await finisher

        items = [item for page in pages for item in page]
        keys = [item["key"] for item in items]
        assert keys == sorted(keys) and len(set(keys)) == len(keys)
        assert all(item["rev"] <= seq for item in items), "a snapshot item newer than its seq"
        if prefix is not None:
            assert all(k.startswith(prefix) for k in keys)
        assert len(items) >= 500 and (prefix is not None or len(pages) >= 2)

        # The changes are exactly the log after the snapshot's seq: nothing missed at the seam.
        flt = {"prefix": prefix} if prefix is not None else {}
        assert len(changes) > 10, "the writers were not busy during the subscription"
        assert_exactly(changes, await log_changes(rest, coll, since=seq, **flt))

        state: State = {item["key"]: (item["value"], item["rev"]) for item in items}
        for change in changes:
            if change["op"] == "delete":
                state.pop(change["key"])
            else:
                state[change["key"]] = (change["value"], change["rev"])
        assert state == await final_state(rest, coll, prefix)


async def test_snapshot_of_one_key_and_of_nothing(server: ServerProcess, coll: str) -> None:
    async with server.async_client() as rest, ws_client(server) as ws:
        envelope = (await rest.put(f"/v1/collections/{coll}/docs/a/b", json={"v": 1})).json()
        await rest.put(f"/v1/collections/{coll}/docs/a/bc", json={"v": 2})
        reply = await ws.subscribe("one", collection=coll, key="a/b", snapshot=True)
        frame = await ws.next_frame()
        assert frame["type"] == "snapshot" and frame["items"] == [envelope] and frame["done"]
        assert frame["seq"] >= reply["seq"]
        await ws.subscribe("none", collection=coll, key="missing", snapshot=True)
        frame = await ws.next_frame()
        assert frame["items"] == [] and frame["done"] is True and frame["sub"] == "none"
