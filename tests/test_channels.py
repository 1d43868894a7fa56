"""Channels and presence through a real server: ephemeral messages to WS and SSE subscribers,
never stored; presence join/leave, including a client that vanishes without a goodbye."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.realtime_clients import (
    TIMEOUT,
    RawWebSocket,
    WsClient,
    head_seq,
    sse_stream,
    start_server,
    ws_client,
    ws_url,
)
from tests.server import ADMIN_TOKEN, ServerProcess


@pytest.fixture
def channel() -> str:
    return "ch_" + uuid.uuid4().hex[:12]


@pytest.fixture(scope="module")
def quick_pings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server that pings every 0.5 s, so a silent peer is dropped within about a second."""
    proc = start_server(tmp_path_factory.mktemp("pings"), LEVELSTREAM_WS_PING_S="0.5")
    yield proc
    proc.stop()


async def no_more(ws: WsClient, kind: str) -> None:
    """Nothing of `kind` arrived before a ping's answer (frames are delivered in order)."""
    await ws.request("ping")
    assert not [f for f in ws.pending if f["type"] == kind], list(ws.pending)


async def presence(rest: httpx.AsyncClient, channel: str) -> list[dict[str, Any]]:
    response = await rest.get(f"/v1/channels/{channel}/presence")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_messages_reach_ws_and_sse_subscribers_and_are_never_stored(
    server: ServerProcess, channel: str, coll: str
) -> None:
    async with (
        server.async_client() as rest,
        ws_client(server) as listener,
        ws_client(server) as publisher,
        ws_client(server) as elsewhere,
        sse_stream(rest, channel=channel) as stream,
        sse_stream(rest, channel=channel, collection=coll) as mixed,
    ):
        await listener.subscribe("chat", channel=channel)
        await elsewhere.subscribe("other", channel=channel + "_other")
        before = await head_seq(rest)

        response = await rest.post(f"/v1/channels/{channel}/messages", json={"hello": [1, 2]})
        assert response.status_code == 202 and response.json() == {"delivered": 3}
        frame = await listener.expect(lambda f: f["type"] == "message")
        assert frame["sub"] == "chat" and frame["channel"] == channel
        assert frame["data"] == {"hello": [1, 2]} and isinstance(frame["from"], str)
        event = await stream.expect("message")
        assert event.json() == {
            "channel": channel,
            "data": {"hello": [1, 2]},
            "from": frame["from"],
        }
        assert (await mixed.expect("message")).json()["data"] == {"hello": [1, 2]}

        reply = await publisher.ok("publish", channel=channel, data="typing")
        assert reply["delivered"] == 3
        me = (await publisher.ok("auth", token=ADMIN_TOKEN))["client_id"]  # its client id
        frame = await listener.expect(lambda f: f["type"] == "message")
        assert frame["data"] == "typing" and frame["from"] == me
        assert (await stream.expect("message")).json()["from"] == me
        assert (await mixed.expect("message")).json()["data"] == "typing"

        # The mixed stream also gets its collection's changes.
        rev = (await rest.put(f"/v1/collections/{coll}/docs/k", json=1)).json()["rev"]
        assert [c["seq"] for c in await mixed.changes(rev)] == [rev]

        # Ephemeral: only the document write took a seq; the log holds nothing else.
        assert await head_seq(rest) == before + 1 == rev
        changes = await rest.get("/v1/changes", params={"collection": "*", "since": before})
        assert [c["seq"] for c in changes.json()["changes"]] == [rev]
        # Other channels heard nothing.
        await no_more(elsewhere, "message")

        # Unsubscribed: no more messages; nobody listening: delivered 0.
        await listener.ok("unsubscribe", sub="chat")
        response = await rest.post(f"/v1/channels/{channel}/messages", json=1)
        assert response.json()["delivered"] == 2
        await no_more(listener, "message")
        lonely = await rest.post(f"/v1/channels/{channel}_nobody/messages", json=1)
        assert lonely.status_code == 202 and lonely.json() == {"delivered": 0}


async def test_rest_publish_refusals(server: ServerProcess) -> None:
    async with server.async_client() as rest:
        bad = await rest.post("/v1/channels/bad name!/messages", json=1)
        assert bad.status_code == 422
        assert (await rest.post("/v1/channels/ok/messages", content=b"{nope")).status_code == 400
        async with httpx.AsyncClient(base_url=server.url) as anonymous:
            assert (await anonymous.post("/v1/channels/ok/messages", json=1)).status_code == 401
            assert (await anonymous.get("/v1/channels/ok/presence")).status_code == 401


async def test_presence_join_leave_and_leave_on_disconnect(
    server: ServerProcess, channel: str
) -> None:
    async with (
        server.async_client() as rest,
        ws_client(server) as watcher,
        sse_stream(rest, channel=channel) as stream,
    ):
        await watcher.subscribe("p", channel=channel)
        async with ws_client(server) as ann, ws_client(server) as bob:
            ann_id = (await ann.ok("join", channel=channel, state={"name": "ann"}))["client_id"]
            joined = await watcher.expect(lambda f: f["type"] == "presence")
            assert joined == {
                "type": "presence",
                "channel": channel,
                "action": "join",
                "client_id": ann_id,
                "state": {"name": "ann"},
            }
            event = await stream.expect("presence")
            assert event.json()["action"] == "join" and event.json()["client_id"] == ann_id

            bob_id = (await bob.ok("join", channel=channel, state=None))["client_id"]
            assert (await watcher.expect(lambda f: f["type"] == "presence"))["client_id"] == bob_id
            listed = await presence(rest, channel)
            assert {m["client_id"]: m["state"] for m in listed} == {
                ann_id: {"name": "ann"},
                bob_id: None,
            }
            assert all(m["joined_at"].endswith("Z") for m in listed)
            assert (await watcher.ok("presence", channel=channel))["items"] == listed

            await ann.ok("leave", channel=channel)
            left = await watcher.expect(lambda f: f["type"] == "presence")
            assert (left["action"], left["client_id"], left["state"]) == (
                "leave",
                ann_id,
                {"name": "ann"},
            )
            assert [m["client_id"] for m in await presence(rest, channel)] == [bob_id]
            # Bob closes his socket without leaving: he leaves all the same.
        left = await watcher.expect(lambda f: f["type"] == "presence")
        assert (left["action"], left["client_id"]) == ("leave", bob_id)
        assert await presence(rest, channel) == []
        actions = [(await stream.expect("presence")).json()["action"] for _ in range(3)]
        assert actions == ["join", "leave", "leave"]


async def wait_until_gone(rest: httpx.AsyncClient, channel: str, client_id: str) -> None:
    for _ in range(int(TIMEOUT / 0.05)):
        if client_id not in [m["client_id"] for m in await presence(rest, channel)]:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{client_id} is still listed as present: a ghost")


async def flood(rest: httpx.AsyncClient, collection: str, stop: asyncio.Event) -> None:
    """Changes of 20 KB each, until told to stop (bounded anyway)."""
    for _ in range(200):
        if stop.is_set():
            return
        ops = [
            {"op": "put", "collection": collection, "key": f"k{i}", "value": "x" * 20_000}
            for i in range(10)
        ]
        assert (await rest.post("/v1/batch", json={"ops": ops})).status_code == 200
        await asyncio.sleep(0.02)


VANISHING = [
    "tcp closed, no close frame",
    "process killed",
    "silent peer",  # the socket stays open, nothing is read or answered
    "stopped reading while changes flow",  # ... while the server has data queued for it
    "process stopped while changes flow",  # SIGSTOP: the kernel keeps the socket open
]


@pytest.mark.parametrize("how", VANISHING)
async def test_no_ghost_after_a_client_vanishes(
    quick_pings: ServerProcess, channel: str, coll: str, how: str
) -> None:
    """However a client goes away, it leaves its channels: at once when the TCP connection
    ends, else within the server's heartbeat (0.5 s here)."""
    server = quick_pings
    stop_flood = asyncio.Event()
    async with server.async_client() as rest, ws_client(server) as watcher:
        await watcher.subscribe("p", channel=channel)
        child: subprocess.Popen[str] | None = None
        raw: RawWebSocket | None = None
        flooding: asyncio.Task[None] | None = None
        try:
            if how.startswith("process"):
                child, client_id = await asyncio.to_thread(join_from_a_child, server, channel, coll)
            else:
                raw = RawWebSocket.open(server, rcvbuf=4096)
                raw.request({"op": "subscribe", "id": 0, "sub": "s", "collection": coll})
                reply = raw.request({"op": "join", "id": 1, "channel": channel, "state": 1})
                client_id = reply["client_id"]
            joined = await watcher.expect(lambda f: f["type"] == "presence")
            assert (joined["action"], joined["client_id"]) == ("join", client_id)
            assert client_id in [m["client_id"] for m in await presence(rest, channel)]

            if how == "tcp closed, no close frame":
                assert raw is not None
                raw.vanish()
            elif how == "process killed":
                assert child is not None
                child.kill()
                child.wait(TIMEOUT)
            elif how == "process stopped while changes flow":
                assert child is not None
                child.send_signal(signal.SIGSTOP)
            if how.endswith("while changes flow"):
                flooding = asyncio.create_task(flood(rest, coll, stop_flood))

            left = await watcher.expect(lambda f: f["type"] == "presence")
            assert (left["action"], left["client_id"], left["state"]) == ("leave", client_id, 1)
            await wait_until_gone(rest, channel, client_id)
        finally:
            stop_flood.set()
            if flooding is not None:
                await flooding
            if raw is not None:
                raw.vanish()
            if child is not None and child.poll() is None:
                child.kill()
                child.wait(TIMEOUT)


CHILD = """
import sys, json
from websockets.sync.client import connect
ws = connect(sys.argv[1], proxy=None, compression=None, max_queue=1)
ws.send(json.dumps({"op": "subscribe", "id": 0, "sub": "s", "collection": sys.argv[3]}))
ws.recv(timeout=20)
ws.send(json.dumps({"op": "join", "id": 1, "channel": sys.argv[2], "state": 1}))
print(json.loads(ws.recv(timeout=20))["client_id"], flush=True)
sys.stdin.read()  # hold the socket until killed
"""


def join_from_a_child(
    server: ServerProcess, channel: str, coll: str
) -> tuple[subprocess.Popen[str], str]:
    """A separate process that subscribes to `coll`, joins the channel, prints its client id,
    then holds on to the socket."""
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, ws_url(server), channel, coll],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    client_id = child.stdout.readline().strip()
    assert client_id, "the child did not join"
    return child, client_id


async def test_presence_state_is_bounded(server: ServerProcess, channel: str) -> None:
    """A join's state over LEVELSTREAM_PRESENCE_STATE_BYTES (default 4096, encoded) is
    refused with payload_too_large and joins nothing; at the limit it is taken."""
    async with server.async_client() as rest, ws_client(server) as ws:
        huge = await ws.request("join", channel=channel, state={"blob": "x" * 3_900_000})
        assert huge["ok"] is False and huge["error"]["code"] == "payload_too_large", huge
        over = await ws.request("join", channel=channel, state="x" * 4095)  # 4097 bytes
        assert over["ok"] is False and over["error"]["code"] == "payload_too_large", over
        assert await presence(rest, channel) == []
        await ws.ok("join", channel=channel, state="x" * 4094)  # 4096 bytes: at the limit
        assert [m["state"] for m in await presence(rest, channel)] == ["x" * 4094]


async def test_presence_joins_count_against_the_subscription_cap(
    tmp_path: Path, channel: str
) -> None:
    proc = start_server(tmp_path, LEVELSTREAM_WS_MAX_SUBSCRIPTIONS="3")
    try:
        async with proc.async_client() as rest, ws_client(proc) as ws:
            await ws.subscribe("s", collection="c")
            await ws.ok("join", channel=channel + "1", state=1)
            await ws.ok("join", channel=channel + "1", state=2)  # an update: no new join
            await ws.ok("join", channel=channel + "2", state=1)
            # Fourth thing held: refused as a fourth subscription is (4009).
            await ws.send({"op": "join", "id": "j", "channel": channel + "3", "state": 1})
            code, _reason = await ws.closed()
            assert code == 4009
            for n in (1, 2, 3):
                assert await presence(rest, channel + str(n)) == []
    finally:
        proc.stop()


async def test_message_from_names_no_credential_unless_asked(
    server: ServerProcess, channel: str
) -> None:
    """`from` is an opaque client id (the one presence shows, on a WebSocket; a fresh one
    per REST request); the credential (`key:<id>`) only with `as_self`."""
    async with server.async_client() as admin:
        spec = {"name": channel, "permissions": ["read", "write"], "channels": [channel]}
        created = await admin.post("/v1/keys", json=spec)
        assert created.status_code == 201, created.text
        key_id, token = created.json()["id"], created.json()["token"]
    async with (
        httpx.AsyncClient(base_url=server.url, headers={"X-API-Key": token}) as keyed,
        ws_client(server) as listener,
        ws_client(server, token) as publisher,
    ):
        await listener.subscribe("m", channel=channel)

        async def heard(data: Any) -> str:
            frame = await listener.expect(lambda f: f["type"] == "message")
            assert frame["data"] == data, frame
            sender: str = frame["from"]
            return sender

        path = f"/v1/channels/{channel}/messages"
        assert (await keyed.post(path, json=1)).status_code == 202
        assert (await keyed.post(path, json=2)).status_code == 202
        first, second = await heard(1), await heard(2)
        for sender in (first, second):
            assert re.fullmatch(r"[0-9a-f]{32}", sender) and key_id not in sender, sender
        assert first != second  # no connection: nothing ties two requests together
        assert (await keyed.post(path, json=3, params={"as_self": "true"})).status_code == 202
        assert await heard(3) == f"key:{key_id}"
        refused = await keyed.post(path, json=4, params={"as_self": "maybe"})
        assert refused.status_code == 422, refused.text

        client_id = (await publisher.ok("join", channel=channel))["client_id"]
        await listener.expect(lambda f: f["type"] == "presence")
        await publisher.ok("publish", channel=channel, data=5)
        assert await heard(5) == client_id
        await publisher.ok("publish", channel=channel, data=6, as_self=True)
        assert await heard(6) == f"key:{key_id}"
        bad = await publisher.request("publish", channel=channel, data=7, as_self="yes")
        assert bad["ok"] is False and bad["error"]["code"] == "validation_failed", bad
        await no_more(listener, "message")
