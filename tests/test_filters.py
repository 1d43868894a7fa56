"""Subscription filters (key, prefix, range, `*`) over WebSocket and SSE: each subscriber gets
exactly the matching changes, never one that does not match."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any

import httpx

from tests.realtime_clients import (
    SseStream,
    WsClient,
    assert_exactly,
    head_seq,
    log_changes,
    sse_stream,
    ws_client,
)
from tests.server import ServerProcess

# Keys chosen to sit on the edges: prefixes of each other, "/" and sorting neighbours,
# non-ASCII (UTF-8 byte order), and a key equal to a bound.
KEYS = ["a", "a/", "a/b", "a/b/c", "a0", "ab", "abc", "b", "b/1", "ba", "z", "zz", "~", "é", "日本"]

Filter = dict[str, str]


def matches(flt: Filter, collection: str, key: str) -> bool:
    """The contract's filter, computed independently of the server (bytes order)."""
    if flt["collection"] != "*" and collection != flt["collection"]:
        return False
    raw = key.encode()
    if "key" in flt:
        return key == flt["key"]
    if "prefix" in flt and not raw.startswith(flt["prefix"].encode()):
        return False
    bounds = {name: flt[name].encode() for name in ("gt", "gte", "lt", "lte") if name in flt}
    return (
        ("gt" not in bounds or raw > bounds["gt"])
        and ("gte" not in bounds or raw >= bounds["gte"])
        and ("lt" not in bounds or raw < bounds["lt"])
        and ("lte" not in bounds or raw <= bounds["lte"])
    )


def filters(coll: str) -> list[Filter]:
    return [
        {"collection": coll},
        {"collection": coll + "s"},  # a longer name that starts with ours
        {"collection": "*"},
        {"collection": coll, "key": "a/b"},
        {"collection": coll, "key": "é"},
        {"collection": coll, "prefix": "a"},
        {"collection": coll, "prefix": "a/"},
        {"collection": coll, "prefix": "日"},
        {"collection": coll, "gt": "a", "lt": "b"},
        {"collection": coll, "gte": "ab", "lte": "b/1"},
        {"collection": coll, "gte": "z"},
        {"collection": coll, "lt": "a/b"},
        {"collection": coll, "gt": "~"},
        {"collection": coll, "gt": "b", "lt": "a"},  # an empty range
        {"collection": "*", "prefix": "a/"},
        {"collection": "*", "key": "zz"},
        {"collection": "*", "gte": "b", "lt": "z"},
    ]


async def write_everything(rest: httpx.AsyncClient, coll: str) -> None:
    for collection in (coll, coll + "s", coll + ".x"):
        for key in KEYS:
            response = await rest.put(f"/v1/collections/{collection}/docs/{key}", json={"k": key})
            assert response.status_code == 201, response.text
    ops: list[dict[str, Any]] = [
        {"op": "delete", "collection": coll, "key": key} for key in KEYS[::3]
    ] + [{"op": "put", "collection": coll + "s", "key": key, "value": 2} for key in KEYS[1::4]]
    assert (await rest.post("/v1/batch", json={"ops": ops})).status_code == 200
    patched = await rest.patch(f"/v1/collections/{coll}/docs/a/b", json={"p": 1})
    assert patched.status_code == 200


async def changes_until_message(stream: SseStream) -> list[dict[str, Any]]:
    """The change events before the next channel message (delivered in order, so a message
    published after the writes comes after every change they made)."""
    changes = []
    for _ in range(10_000):
        event = await stream.next_event()
        assert event is not None, "the stream ended"
        if event.event == "message":
            return changes
        assert event.event == "change", event
        changes.append(event.json())
    raise AssertionError("no barrier message")


async def test_every_filter_gets_exactly_its_changes(server: ServerProcess, coll: str) -> None:
    flts = filters(coll)
    barrier = coll + "-barrier"
    async with AsyncExitStack() as stack:
        rest = await stack.enter_async_context(server.async_client())
        ws: WsClient = await stack.enter_async_context(ws_client(server))
        streams: list[SseStream] = []
        for index, flt in enumerate(flts):
            await ws.subscribe(f"f{index}", **flt)
            streams.append(
                await stack.enter_async_context(sse_stream(rest, channel=barrier, **flt))
            )
        start = await head_seq(rest)
        await write_everything(rest, coll)
        published = await rest.post(f"/v1/channels/{barrier}/messages", json="barrier")
        assert published.json()["delivered"] == len(flts)
        # Only this test writes now: the whole log after `start` is ours.
        log = await log_changes(rest, since=start)
        assert len(log) > 3 * len(KEYS)

        matched = 0
        for index, flt in enumerate(flts):
            expected = [c for c in log if matches(flt, c["collection"], c["key"])]
            matched += bool(expected)
            # The poll transport, the SSE stream and the WebSocket all agree with the model.
            assert_exactly(await log_changes(rest, since=start, **flt), expected)
            assert_exactly(await changes_until_message(streams[index]), expected)
            if expected:
                assert_exactly(await ws.changes(f"f{index}", expected[-1]["seq"]), expected)
        # Nothing else arrives over the socket either.
        await ws.request("ping")
        assert not [f for f in ws.pending if f["type"] == "change"], list(ws.pending)[:3]
        assert 0 < matched < len(flts), "the filters should include some that match nothing"
