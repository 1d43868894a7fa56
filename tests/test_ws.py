"""`/v1/ws` through a real server: credentials, every op of the contract, errors, close codes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.helpers import needs_uvicorn_hooks
from tests.realtime_clients import (
    RawWebSocket,
    WsClient,
    log_changes,
    start_server,
    ws_client,
    ws_options,
    ws_url,
)
from tests.server import ADMIN_TOKEN, ServerProcess

ALLOWED_ORIGIN = "https://app.example"


@pytest.fixture(scope="module")
def tight(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server with small limits: 4 KiB frames, 3 subscriptions, one allowed origin."""
    proc = start_server(
        tmp_path_factory.mktemp("tight"),
        LEVELSTREAM_MAX_BODY_BYTES="4096",
        LEVELSTREAM_WS_MAX_SUBSCRIPTIONS="3",
        LEVELSTREAM_ALLOWED_ORIGINS=ALLOWED_ORIGIN,
    )
    yield proc
    proc.stop()


def assert_error(reply: dict[str, Any], request_id: Any, code: str) -> None:
    assert reply["type"] == "reply" and reply["id"] == request_id, reply
    assert reply["ok"] is False, reply
    assert reply["error"]["code"] == code, reply
    assert isinstance(reply["error"]["message"], str) and reply["error"]["message"]


async def refused(ws: WsClient, op: str, code: str, **fields: Any) -> dict[str, Any]:
    """Send an op that must fail with `code`; its reply (which echoes the op's id)."""
    reply = await ws.request(op, **fields)
    assert_error(reply, ws.last_id, code)
    return reply


# --- credentials ---------------------------------------------------------------------------


async def test_token_in_the_query(server: ServerProcess) -> None:
    async with ws_client(server) as ws:
        assert await ws.request("ping") == {"type": "pong", "id": "r1"}


@pytest.mark.parametrize(
    "query",
    [
        "token=" + ADMIN_TOKEN.replace("_", "%5F"),  # percent-encoded, as a URL encoder may
        "ticket=&token=" + ADMIN_TOKEN,  # an empty ticket is no ticket
        "v=2&token=" + ADMIN_TOKEN + "&flag",  # among other fields
    ],
)
async def test_token_in_query_forms(server: ServerProcess, query: str) -> None:
    url = f"{ws_url(server, None)}?{query}"
    async with connect(url, **ws_options()) as raw:
        ws = WsClient(raw)
        assert await ws.request("ping") == {"type": "pong", "id": "r1"}


async def test_token_in_the_authorization_header(server: ServerProcess) -> None:
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with connect(ws_url(server, None), additional_headers=headers, **ws_options()) as raw:
        ws = WsClient(raw)
        assert await ws.request("ping") == {"type": "pong", "id": "r1"}


@needs_uvicorn_hooks  # stock uvicorn drops what follows the handshake in its segment
def test_a_frame_sent_with_the_handshake_is_answered(server: ServerProcess) -> None:
    # RFC 6455 asks clients to wait for the 101, but bytes that come early anyway
    # must not vanish: the request would never be answered.
    raw = RawWebSocket.open(server, with_handshake={"op": "ping", "id": "early"})
    try:
        assert raw.recv_json() == {"type": "pong", "id": "early"}
        assert raw.request({"op": "ping", "id": "next"})["type"] == "pong"
    finally:
        raw.sock.close()


async def test_token_in_a_first_auth_frame(server: ServerProcess) -> None:
    async with ws_client(server, token=None) as ws:
        await ws.send({"op": "auth", "token": ADMIN_TOKEN, "id": "hello"})
        reply = await ws.next_frame()
        assert reply["type"] == "reply" and reply["id"] == "hello" and reply["ok"] is True
        assert isinstance(reply["client_id"], str) and reply["client_id"]
        pong = await ws.request("ping")
        assert pong["type"] == "pong"


@pytest.mark.parametrize(
    "how",
    ["bad query token", "bad header", "bad auth frame", "other first op", "binary first frame"],
)
async def test_bad_credentials_close_4001(server: ServerProcess, how: str) -> None:
    token: str | None = None
    headers: dict[str, str] = {}
    if how == "bad query token":
        token = "wrong"
    elif how == "bad header":
        headers = {"Authorization": "Bearer wrong"}
    async with connect(ws_url(server, token), additional_headers=headers, **ws_options()) as raw:
        ws = WsClient(raw)
        if how == "bad auth frame":
            await ws.send({"op": "auth", "token": "wrong", "id": 1})
        elif how == "other first op":
            await ws.send({"op": "subscribe", "sub": "s", "collection": "c", "id": 1})
        elif how == "binary first frame":
            await raw.send(b'{"op": "auth"}')
        code, _ = await ws.closed()
        assert code == 4001


async def test_no_credential_within_5_s_closes_4001(server: ServerProcess) -> None:
    async with ws_client(server, token=None) as ws:
        code, _ = await ws.closed(timeout=30)
        assert code == 4001


async def test_reauthentication(server: ServerProcess) -> None:
    async with ws_client(server) as ws:
        reply = await ws.ok("auth", token=ADMIN_TOKEN)
        assert reply["client_id"]
        await refused(ws, "auth", "unauthorized", token="wrong")
        await refused(ws, "auth", "unauthorized")


# --- ops ---------------------------------------------------------------------------------


async def test_document_ops_go_through_the_same_path_as_rest(
    server: ServerProcess, client: httpx.Client, coll: str
) -> None:
    async with ws_client(server) as ws, ws_client(server) as watcher:
        await watcher.subscribe("all", collection=coll)

        put = await ws.ok("put", collection=coll, key="t-1", value={"title": "Printer", "n": 1})
        envelope = put["result"]
        assert envelope["collection"] == coll and envelope["key"] == "t-1"
        assert envelope["value"] == {"title": "Printer", "n": 1}
        assert client.get(f"/v1/collections/{coll}/docs/t-1").json() == envelope

        got = await ws.ok("get", collection=coll, key="t-1")
        assert got["result"] == envelope

        patched = await ws.ok("patch", collection=coll, key="t-1", value={"n": None, "m": 2})
        assert patched["result"]["value"] == {"title": "Printer", "m": 2}
        assert patched["result"]["rev"] > envelope["rev"]

        await refused(
            ws,
            "put",
            "precondition_failed",
            collection=coll,
            key="t-1",
            value=1,
            if_rev=envelope["rev"],
        )
        fresh = await ws.ok(
            "put", collection=coll, key="t-1", value=2, if_rev=patched["result"]["rev"]
        )

        deleted = await ws.ok("delete", collection=coll, key="t-1")
        assert deleted["result"] == {"collection": coll, "key": "t-1", "deleted": True}
        assert client.get(f"/v1/collections/{coll}/docs/t-1").status_code == 404
        await refused(ws, "get", "not_found", collection=coll, key="t-1")
        await refused(ws, "delete", "not_found", collection=coll, key="t-1")
        await refused(ws, "patch", "not_found", collection=coll, key="t-1", value={})

        batch = await ws.ok(
            "batch",
            ops=[
                {"op": "put", "collection": coll, "key": "a", "value": {"v": 1}},
                {"op": "put", "collection": coll, "key": "b", "value": {"v": 2}},
                {"op": "delete", "collection": coll, "key": "a"},
            ],
        )
        results = batch["result"]["results"]
        assert [r["key"] for r in results] == ["a", "b", "a"]
        assert results[2] == {"collection": coll, "key": "a", "deleted": True}
        assert results[1]["rev"] == results[0]["rev"] + 1
        assert batch["result"]["seq"] == results[0]["rev"] + 2

        bad_batch = await refused(
            ws,
            "batch",
            "validation_failed",
            ops=[
                {"op": "put", "collection": coll, "key": "c", "value": 1},
                {"op": "put", "collection": coll, "key": "d", "value": None},
            ],
        )
        assert bad_batch["error"]["op_index"] == 1
        assert client.get(f"/v1/collections/{coll}/docs/c").status_code == 404

        # Every write made over the socket is a change like any other, delivered to subscribers.
        log = changes_of(server, coll)
        assert [c["seq"] for c in log] == [
            envelope["rev"],
            patched["result"]["rev"],
            fresh["result"]["rev"],
            fresh["result"]["rev"] + 1,
            *range(results[0]["rev"], batch["result"]["seq"] + 1),
        ]
        delivered = await watcher.changes("all", log[-1]["seq"])
        assert delivered == log


def changes_of(server: ServerProcess, coll: str) -> list[dict[str, Any]]:
    with server.client() as rest:
        response = rest.get("/v1/changes", params={"collection": coll, "since": 0})
        changes: list[dict[str, Any]] = response.json()["changes"]
        return changes


async def test_error_replies_echo_the_id_and_keep_the_socket(
    server: ServerProcess, coll: str
) -> None:
    async with ws_client(server) as ws:
        await refused(ws, "frobnicate", "bad_request")
        await ws.send({"id": 7})
        assert_error(await ws.next_frame(), 7, "bad_request")
        await ws.ws.send("{not json")
        assert_error(await ws.next_frame(), None, "bad_request")
        await ws.ws.send("[1, 2]")
        assert_error(await ws.next_frame(), None, "bad_request")
        cases: list[tuple[dict[str, Any], str]] = [
            ({"sub": "s"}, "validation_failed"),  # no collection, no channel
            ({"collection": coll}, "validation_failed"),  # no sub
            ({"sub": "s", "collection": "bad name!"}, "validation_failed"),
            ({"sub": "s", "collection": coll, "key": "a", "prefix": "b"}, "validation_failed"),
            ({"sub": "s", "collection": coll, "prefix": "a", "gt": "b"}, "validation_failed"),
            ({"sub": "s", "collection": coll, "key": "a\u0000b"}, "validation_failed"),
            ({"sub": "s", "collection": coll, "since": -1}, "validation_failed"),
            ({"sub": "s", "collection": coll, "since": "x"}, "validation_failed"),
            ({"sub": "s", "collection": coll, "since": 2**64}, "validation_failed"),
            ({"sub": "s", "collection": coll, "since": 2**62}, "bad_request"),  # ahead of head
            ({"sub": "s", "collection": coll, "snapshot": "yes"}, "validation_failed"),
            ({"sub": "s", "channel": "bad name!"}, "validation_failed"),
        ]
        for fields, code in cases:
            await refused(ws, "subscribe", code, **fields)
        await ws.subscribe("dup", collection=coll)
        await refused(ws, "subscribe", "conflict", sub="dup", channel="ch")
        await refused(ws, "unsubscribe", "not_found", sub="nope")
        await refused(ws, "leave", "not_found", channel="ch")
        await refused(ws, "publish", "validation_failed", channel="ch")
        await refused(ws, "put", "validation_failed", collection=coll, key="", value=1)
        assert (await ws.request("ping"))["type"] == "pong"


async def test_ids_of_any_json_scalar_are_echoed(server: ServerProcess) -> None:
    async with ws_client(server) as ws:
        for request_id in ("x", 0, 12345678901, 1.5):
            await ws.send({"op": "ping", "id": request_id})
            assert await ws.next_frame() == {"type": "pong", "id": request_id}
        await ws.send({"op": "ping"})
        assert await ws.next_frame() == {"type": "pong", "id": None}


async def test_subscribe_reply_change_frames_and_unsubscribe(
    server: ServerProcess, client: httpx.Client, coll: str
) -> None:
    epoch = client.get("/healthz").headers["x-levelstream-epoch"]
    async with ws_client(server) as ws:
        reply = await ws.subscribe("mine", collection=coll)
        assert reply["epoch"] == epoch
        head = reply["seq"]
        rev = client.put(f"/v1/collections/{coll}/docs/k", json={"v": 1}).json()["rev"]
        assert rev > head
        frame = await ws.expect(lambda f: f["type"] == "change")
        assert frame["sub"] == "mine"
        async with httpx.AsyncClient(base_url=server.url, headers=server.headers()) as rest:
            assert [frame["change"]] == await log_changes(rest, coll, since=head)
        assert frame["change"]["op"] == "put" and frame["change"]["value"] == {"v": 1}

        assert (await ws.ok("unsubscribe", sub="mine"))["sub"] == "mine"
        client.put(f"/v1/collections/{coll}/docs/k", json={"v": 2})
        # A write is queued to subscribers before it is acknowledged, so anything
        # delivered for it would be ahead of this pong.
        await ws.request("ping")
        assert not [f for f in ws.pending if f["type"] == "change"]


# --- limits ------------------------------------------------------------------------------


async def test_too_many_subscriptions_close_4009(tight: ServerProcess, coll: str) -> None:
    async with ws_client(tight) as ws:
        await ws.subscribe("a", collection=coll)
        await ws.subscribe("b", collection="*")
        await ws.subscribe("c", channel="ch")
        await ws.send({"op": "subscribe", "sub": "d", "collection": coll, "id": "over"})
        code, _ = await ws.closed()
        assert code == 4009
    async with ws_client(tight) as ws:  # the limit is per connection
        for sub in ("a", "b", "c"):
            await ws.subscribe(sub, collection=coll)
        await ws.ok("unsubscribe", sub="a")
        await ws.subscribe("d", collection=coll)


async def test_too_many_connections_close_4009(tmp_path: Path) -> None:
    server = start_server(tmp_path, LEVELSTREAM_WS_MAX_CONNECTIONS="2")
    try:
        async with ws_client(server) as one, ws_client(server) as two:
            await one.request("ping")
            await two.request("ping")
            async with ws_client(server) as three:
                code, _ = await three.closed()
                assert code == 4009
        # The two closed: there is room again once the server has noticed.
        for _ in range(100):
            async with ws_client(server) as again:
                try:
                    await again.request("ping")
                    break
                except ConnectionClosed:
                    await asyncio.sleep(0.05)
        else:
            raise AssertionError("closed connections still count against the limit")
    finally:
        server.stop()


async def test_frame_over_the_limit_closes_1009(tight: ServerProcess, coll: str) -> None:
    async with ws_client(tight) as ws:
        # Just under the limit is fine.
        await ws.ok("put", collection=coll, key="k", value="x" * 3000)
        await ws.ws.send('{"op": "ping", "pad": "' + "x" * 5000 + '"}')
        code, _ = await ws.closed()
        assert code == 1009


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        (None, True),  # not a browser
        (ALLOWED_ORIGIN, True),
        ("same-origin", True),
        ("https://evil.example", False),
        ("https://app.example.evil.com", False),
        ("http://app.example", False),
        ("https://app.example:8443", False),
        ("null", False),
    ],
)
async def test_origin_is_checked_before_the_socket_is_accepted(
    tight: ServerProcess, origin: str | None, allowed: bool
) -> None:
    if origin == "same-origin":
        origin = tight.url
    options = ws_options(origin=origin)
    if allowed:
        async with connect(ws_url(tight), **options) as raw:
            assert (await WsClient(raw).request("ping"))["type"] == "pong"
        return
    with pytest.raises(InvalidStatus) as refused:
        async with connect(ws_url(tight), **options):
            pass
    assert refused.value.response.status_code == 403
