"""Re-authentication narrows a WebSocket: after `auth` with a narrower token of the same
identity, every subscription, channel subscription and presence join is judged again.
Those the new rights no longer allow end with a `forbidden` error frame and deliver
nothing more; a `*` subscription goes on, filtered by the new scopes."""

from __future__ import annotations

from typing import Any

import httpx

from tests.security_helpers import Frame, SecServer, uid, ws_client
from tests.server import ADMIN_TOKEN


async def _put(admin: httpx.AsyncClient, collection: str, key: str) -> int:
    response = await admin.put(f"/v1/collections/{collection}/docs/{key}", json={"k": key})
    assert response.status_code in (200, 201), response.text
    return int(response.json()["rev"])


async def _publish(admin: httpx.AsyncClient, channel: str, data: Any) -> None:
    response = await admin.post(f"/v1/channels/{channel}/messages", json=data)
    assert response.status_code == 202, response.text


async def test_a_narrower_token_narrows_the_socket(sec_server: SecServer) -> None:
    a, b = uid("ra"), uid("rb")
    ca, cb = uid("cha"), uid("chb")
    key = sec_server.key(permissions=["read", "write"], collections=[a, b], channels=[ca, cb])
    sub = uid("user")
    wide = sec_server.mint(key.token, sub=sub, collections=[a, b], channels=[ca, cb])
    narrow = sec_server.mint(key.token, sub=sub, collections=[a], channels=[ca])
    async with (
        sec_server.async_client() as admin,
        ws_client(sec_server, token=wide) as ws,
        ws_client(sec_server, token=ADMIN_TOKEN) as watcher,  # sees presence on cb as an admin
    ):
        await watcher.ok("subscribe", sub="w", channel=cb)
        await ws.ok("subscribe", sub="sa", collection=a)
        await ws.ok("subscribe", sub="sb", collection=b)
        await ws.ok("subscribe", sub="all", collection="*")
        await ws.ok("subscribe", sub="ma", channel=ca)
        await ws.ok("subscribe", sub="mb", channel=cb)
        await ws.ok("join", channel=ca, state={"n": 1})
        joined = await ws.ok("join", channel=cb, state={"n": 2})
        await watcher.expect(lambda f: f.get("type") == "presence" and f["action"] == "join")
        # Before: b is delivered on both.
        seq = await _put(admin, b, "before")
        assert [c["seq"] for c in await ws.changes_until("sb", seq)] == [seq]
        assert [c["seq"] for c in await ws.changes_until("all", seq)] == [seq]

        await ws.ok("auth", token=narrow)
        ended: list[Frame] = []
        for _ in range(3):
            ended.append(await ws.expect(lambda f: f.get("type") == "error"))
        by_what = {(f.get("sub"), f.get("channel")): f for f in ended}
        assert set(by_what) == {("sb", None), ("mb", cb), (None, cb)}, ended
        for frame in ended:
            assert frame["code"] == "forbidden" and frame["error"]["code"] == "forbidden"
        # The join on cb is over: the others see it leave, and presence no longer lists it.
        left = await watcher.expect(
            lambda f: f.get("type") == "presence" and f["action"] == "leave"
        )
        assert left["client_id"] == joined["client_id"]
        presence = await admin.get(f"/v1/channels/{cb}/presence")
        assert presence.json()["items"] == []

        # After: b reaches nobody on this socket, a still does (on sa and on *).
        await _put(admin, b, "after")
        await _publish(admin, cb, {"to": "b"})
        await _publish(admin, ca, {"to": "a"})
        last = await _put(admin, a, "after")
        assert [c["key"] for c in await ws.changes_until("sa", last)] == ["after"]
        assert [c["collection"] for c in await ws.changes_until("all", last)] == [a]
        message = await ws.expect(lambda f: f.get("type") == "message")
        assert message["sub"] == "ma" and message["data"] == {"to": "a"}
        assert (await ws.request("ping"))["type"] == "pong"
        leftovers = [f for f in ws.pending if f.get("type") in ("change", "message", "error")]
        assert leftovers == [], leftovers
        # The ended ids are free again, and b is refused to the narrowed socket.
        await ws.refused("forbidden", "subscribe", sub="sb", collection=b)
        await ws.refused("forbidden", "join", channel=cb)


async def test_rights_narrowed_during_a_replay_filter_the_rest(sec_server: SecServer) -> None:
    """A `*` replay under way when the rights narrow sends no change of the lost scope
    after the `auth` reply."""
    a, b = uid("pa"), uid("pb")
    key = sec_server.key(permissions=["read"], collections=[a, b])
    sub = uid("user")
    wide = sec_server.mint(key.token, sub=sub, collections=[a, b])
    narrow = sec_server.mint(key.token, sub=sub, collections=[a])
    start = sec_server.head_seq()
    async with sec_server.async_client() as admin:
        for block in range(4):
            ops = [
                {"op": "put", "collection": (a, b)[i % 2], "key": f"k{block}-{i}", "value": i}
                for i in range(1000)
            ]
            response = await admin.post("/v1/batch", json={"ops": ops})
            assert response.status_code == 200, response.text
        last = int(response.json()["seq"])
    async with ws_client(sec_server, token=wide) as ws:
        await ws.send(
            {"op": "subscribe", "id": "s", "sub": "all", "collection": "*", "since": start}
        )
        await ws.send({"op": "auth", "id": "auth", "token": narrow})
        frames: list[Frame] = []
        for _ in range(100_000):
            frame = await ws.expect(lambda _f: True)
            frames.append(frame)
            if frame.get("type") == "change" and frame["change"]["seq"] >= last - 1:
                break
        replies = [i for i, f in enumerate(frames) if f.get("type") == "reply"]
        assert [frames[i]["id"] for i in replies] == ["s", "auth"], frames[:3]
        assert all(frames[i]["ok"] for i in replies)
        after_auth = [f["change"] for f in frames[replies[1] :] if f.get("type") == "change"]
        assert after_auth and {c["collection"] for c in after_auth} == {a}
        seqs = [f["change"]["seq"] for f in frames if f.get("type") == "change"]
        assert seqs == sorted(set(seqs))
