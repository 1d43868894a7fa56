"""Cluster mode: three nodes on loopback ports sharing one PostgreSQL database and Redis.

Every node takes writes and serves subscribers; the guarantees of the contract
must hold across them: one gap-free seq, every change delivered exactly once
and in the same order on every node, resume on any node (also after a node is
SIGKILLed), one winner for racing conditional writes, presence that dies with
its node, single-use tickets and key revocation cluster-wide.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.cluster_support import Cluster, database, require_services, running_cluster
from tests.realtime_clients import (
    TIMEOUT,
    WsClient,
    assert_exactly,
    log_changes,
    sse_stream,
    ws_client,
    ws_options,
)
from tests.server import ADMIN_TOKEN, ServerProcess

LEASE_S = 2.0


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Three nodes for the tests that keep them all alive."""
    require_services()
    with running_cluster(tmp_path_factory.mktemp("cluster")) as nodes:
        yield nodes


@pytest.fixture
def own_cluster(tmp_path: Path) -> Iterator[Cluster]:
    """Three fresh nodes (short presence lease) for a test that kills one."""
    require_services()
    with running_cluster(tmp_path, LEVELSTREAM_PRESENCE_LEASE_S=str(LEASE_S)) as nodes:
        yield nodes


def http(node: ServerProcess, token: str | None = ADMIN_TOKEN) -> httpx.AsyncClient:
    """A client of `node` with this credential (None: none), generous timeouts."""
    headers = {"X-API-Key": token} if token is not None else {}
    return httpx.AsyncClient(base_url=node.url, headers=headers, timeout=60)


def uid(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


async def write_many(node: ServerProcess, coll: str, count: int, seed: int) -> list[int]:
    """Puts, patches, deletes and small batches on `node`; the seqs it was answered."""
    rng = random.Random(seed)
    revs: list[int] = []
    async with node.async_client() as rest:
        for i in range(count):
            key = f"k{rng.randrange(12)}"
            url = f"/v1/collections/{coll}/docs/{key}"
            roll = rng.random()
            if roll < 0.1:
                response = await rest.delete(url)
                assert response.status_code in (204, 404), response.text
                continue
            if roll < 0.2:
                ops = [
                    {"op": "put", "collection": coll, "key": f"b{seed}-{i}-{j}", "value": j}
                    for j in range(3)
                ]
                response = await rest.post("/v1/batch", json={"ops": ops})
                assert response.status_code == 200, response.text
                body = response.json()
                revs.extend(r["rev"] for r in body["results"])
                assert [r["rev"] for r in body["results"]] == list(
                    range(body["seq"] - 2, body["seq"] + 1)
                ), "a batch's seqs are consecutive"
                continue
            response = await rest.put(url, json={"seed": seed, "i": i})
            assert response.status_code in (200, 201), response.text
            revs.append(response.json()["rev"])
    return revs


async def ws_changes(ws: WsClient, sub: str, until: int) -> list[dict[str, Any]]:
    return await ws.changes(sub, until, timeout=60)


def test_cluster_mode_refuses_to_start_without_a_bus(tmp_path: Path) -> None:
    node = ServerProcess(
        tmp_path / "data",
        LEVELSTREAM_STORE_URL="postgresql://nobody@127.0.0.1:1/none",
        LEVELSTREAM_JWT_SECRET="x" * 40,
    )
    with pytest.raises(RuntimeError, match="exited with 2"):
        node.start(timeout=30)
    assert "needs LEVELSTREAM_BUS_URL" in node.log_tail()
    assert "nobody" not in node.log_tail(), "the store URL (it may hold a password) was printed"


async def test_writers_and_subscribers_on_every_node_agree(cluster: Cluster) -> None:
    coll = uid("all")
    async with cluster[0].async_client() as rest:
        start = (await rest.get("/v1/changes", params={"collection": "*", "limit": 1})).json()[
            "head_seq"
        ]
    async with contextlib.AsyncExitStack() as stack:
        subscribers = []
        for node in cluster.nodes:
            ws = await stack.enter_async_context(ws_client(node))
            await ws.subscribe("s", collection=coll, since=start)
            await ws.subscribe("all", collection="*", since=start)
            subscribers.append(ws)
        sse_rest = await stack.enter_async_context(http(cluster[1]))
        poller = await stack.enter_async_context(cluster[2].async_client())
        sse = await stack.enter_async_context(sse_stream(sse_rest, collection=coll, since=start))
        # A long-poll on node 2 wakes on a write to node 0.
        poll = asyncio.create_task(
            poller.get("/v1/changes", params={"collection": coll, "since": start, "wait": 30})
        )
        await asyncio.sleep(0.3)
        written = await asyncio.gather(
            *(write_many(node, coll, 70, seed) for seed, node in enumerate(cluster.nodes))
        )
        woke = await poll
        assert woke.status_code == 200 and woke.json()["changes"], woke.text

        async with cluster[2].async_client() as rest:
            expected = await log_changes(rest, coll, since=start)
            everything = await log_changes(rest, "*", since=start)
        seq_list = [c["seq"] for c in everything]
        assert seq_list == list(range(start + 1, start + 1 + len(seq_list))), "gap-free"
        ours = sorted(rev for revs in written for rev in revs)
        assert set(ours) <= set(seq_list) and len(set(ours)) == len(ours)
        last = expected[-1]["seq"]
        for ws in subscribers:
            assert_exactly(await ws_changes(ws, "s", last), expected)
            assert_exactly(await ws_changes(ws, "all", everything[-1]["seq"]), everything)
        assert_exactly(await sse.changes(last, timeout=60), expected)


async def test_a_killed_nodes_subscribers_resume_elsewhere_with_nothing_lost(
    own_cluster: Cluster,
) -> None:
    coll = uid("kill")
    doomed, survivors = own_cluster[2], own_cluster.nodes[:2]
    received: dict[str, list[dict[str, Any]]] = {"ws": [], "sse": []}

    async def follow_ws() -> None:
        for node in (doomed, survivors[0]):
            since = received["ws"][-1]["seq"] if received["ws"] else 0
            try:
                async with ws_client(node) as ws:
                    await ws.subscribe("s", collection=coll, since=since)
                    while True:
                        frame = await ws.expect(lambda f: f.get("type") == "change", 30)
                        received["ws"].append(frame["change"])
                        if frame["change"]["key"] == "end":
                            return
            except (ConnectionClosed, OSError):
                continue  # the node died: resume on a survivor

    async def follow_sse() -> None:
        for node in (doomed, survivors[1]):
            last = received["sse"][-1]["seq"] if received["sse"] else 0
            try:
                async with (
                    http(node) as rest,
                    sse_stream(rest, {"Last-Event-ID": str(last)}, collection=coll) as sse,
                ):
                    while True:
                        event = await sse.expect("change", 30)
                        received["sse"].append(event.json())
                        if event.json()["key"] == "end":
                            return
            except (httpx.HTTPError, AssertionError):
                continue

    async def writes_then_kill() -> None:
        async def writer(node: ServerProcess, seed: int) -> None:
            async with node.async_client() as rest:
                for i in range(150):
                    key = f"k{seed}-{i % 20}"
                    response = await rest.put(f"/v1/collections/{coll}/docs/{key}", json=i)
                    assert response.status_code in (200, 201)

        writers = [asyncio.create_task(writer(n, s)) for s, n in enumerate(survivors)]
        deadline = time.monotonic() + TIMEOUT
        while len(received["ws"]) < 40 or len(received["sse"]) < 40:
            assert time.monotonic() < deadline, "no changes reached the doomed node's subscribers"
            await asyncio.sleep(0.02)
        await asyncio.to_thread(doomed.kill)  # mid-stream
        await asyncio.gather(*writers)
        async with survivors[0].async_client() as rest:
            await rest.put(f"/v1/collections/{coll}/docs/end", json=True)

    await asyncio.wait_for(asyncio.gather(follow_ws(), follow_sse(), writes_then_kill()), 120)
    async with survivors[1].async_client() as rest:
        expected = await log_changes(rest, coll, since=0)
    assert_exactly(received["ws"], expected)
    assert_exactly(received["sse"], expected)


async def test_racing_if_match_on_two_nodes_has_exactly_one_winner(cluster: Cluster) -> None:
    coll = uid("race")
    url = f"/v1/collections/{coll}/docs/ticket"
    clients = [node.async_client() for node in cluster.nodes]
    try:
        rev = (await clients[0].put(url, json={"v": 0})).json()["rev"]
        for round_ in range(25):
            racers = [clients[round_ % 3], clients[(round_ + 1) % 3]]
            answers = await asyncio.gather(
                *(
                    c.put(url, json={"round": round_, "by": i}, headers={"If-Match": f'"{rev}"'})
                    for i, c in enumerate(racers)
                )
            )
            statuses = sorted(a.status_code for a in answers)
            assert statuses == [200, 412], [a.text for a in answers]
            rev = next(a for a in answers if a.status_code == 200).json()["rev"]
        # 30 writers on all three nodes with the same If-Match: one wins.
        answers = await asyncio.gather(
            *(clients[i % 3].delete(url, headers={"If-Match": f'"{rev}"'}) for i in range(30))
        )
        assert sorted(a.status_code for a in answers) == [204] + [412] * 29
    finally:
        for c in clients:
            await c.aclose()


async def test_channels_cross_nodes_and_presence_dies_with_its_node(
    own_cluster: Cluster,
) -> None:
    channel = uid("room")
    watcher_node, joiner_node, other = own_cluster[0], own_cluster[2], own_cluster[1]
    async with ws_client(watcher_node) as watcher, other.async_client() as rest:
        await watcher.subscribe("ch", channel=channel)
        # Messages published on one node reach subscribers on another.
        published = await rest.post(f"/v1/channels/{channel}/messages", json={"hello": 1})
        assert published.status_code == 202
        message = await watcher.expect(lambda f: f.get("type") == "message")
        assert message["data"] == {"hello": 1} and message["channel"] == channel

        joining = ws_client(joiner_node)
        joiner = await joining.__aenter__()  # never left: its node is killed under it
        await joiner.ok("join", channel=channel, state={"name": "ada"})
        joined = await watcher.expect(lambda f: f.get("type") == "presence")
        assert joined["action"] == "join" and joined["state"] == {"name": "ada"}
        listed = (await rest.get(f"/v1/channels/{channel}/presence")).json()["items"]
        assert [m["state"] for m in listed] == [{"name": "ada"}]

        await asyncio.to_thread(joiner_node.kill)
        killed_at = time.monotonic()
        left = await watcher.expect(lambda f: f.get("type") == "presence", LEASE_S + 5)
        gone_after = time.monotonic() - killed_at
        assert left["action"] == "leave" and left["client_id"] == joined["client_id"]
        assert gone_after <= LEASE_S, f"a killed node's member lingered {gone_after:.2f} s"
        # Every node drops it within the lease (each notices on its own heartbeat).
        while (await rest.get(f"/v1/channels/{channel}/presence")).json()["items"]:
            lingered = time.monotonic() - killed_at
            assert lingered <= LEASE_S, f"still listed {lingered:.2f} s after the kill"
            await asyncio.sleep(0.05)


async def test_a_ticket_works_once_across_all_nodes(cluster: Cluster) -> None:
    coll = uid("tkt")

    async def ticket() -> str:
        async with cluster[0].async_client() as rest:
            response = await rest.post("/v1/auth/ticket")
            assert response.status_code == 200, response.text
            return str(response.json()["ticket"])

    async def ws_with(node: ServerProcess, value: str) -> int | None:
        """None when the ticket was accepted (a subscribe worked), else the close code."""
        async with connect(f"{node.ws_url}/v1/ws?ticket={value}", **ws_options()) as raw:
            ws = WsClient(raw)
            try:
                await ws.subscribe("s", collection=coll)
                return None
            except ConnectionClosed as exc:
                return exc.rcvd.code if exc.rcvd else -1

    first = await ticket()
    assert await ws_with(cluster[1], first) is None
    assert await ws_with(cluster[2], first) == 4001
    assert await ws_with(cluster[0], first) == 4001
    second = await ticket()
    async with http(cluster[2], None) as anon:
        async with sse_stream(anon, collection=coll, ticket=second):
            pass
        async with http(cluster[1], None) as other:
            reuse = await other.get("/v1/stream", params={"collection": coll, "ticket": second})
            assert reuse.status_code == 401


async def test_revoking_a_key_closes_its_sockets_on_every_node(cluster: Cluster) -> None:
    coll = uid("rev")
    async with cluster[0].async_client() as admin:
        created = await admin.post(
            "/v1/keys", json={"name": "doomed", "permissions": ["read"], "collections": [coll]}
        )
        assert created.status_code == 201, created.text
        key = created.json()
        async with contextlib.AsyncExitStack() as stack:
            sockets = []
            for node in cluster.nodes[1:]:
                ws = await stack.enter_async_context(ws_client(node, key["token"]))
                await ws.subscribe("s", collection=coll)
                sockets.append(ws)
            # The key works on every node (created on node 0).
            user = await stack.enter_async_context(http(cluster[2], key["token"]))
            assert (await user.get(f"/v1/collections/{coll}/docs")).status_code == 200
            assert (await admin.delete(f"/v1/keys/{key['id']}")).status_code == 204
            revoked_at = time.monotonic()
            closes = await asyncio.gather(*(ws.closed(5) for ws in sockets))
            elapsed = time.monotonic() - revoked_at
            assert [code for code, _ in closes] == [4003, 4003]
            assert elapsed < 1.0, f"sockets closed {elapsed:.2f} s after the revocation"
            assert (await user.get(f"/v1/collections/{coll}/docs")).status_code == 401


async def test_a_new_key_works_at_once_on_every_other_node(cluster: Cluster) -> None:
    """Create a key on node 0 and use it on node 1 at once (and a JWT it mints on node 2):
    the other nodes hear of it by a bus event that may come later, so they look in the
    shared store before refusing. 1000 rounds, 0 refusals."""
    rounds, concurrency = 1000, 4
    refused: list[tuple[int, int, str]] = []
    async with (
        cluster[0].async_client() as admin,
        http(cluster[1], None) as node1,
        http(cluster[2], None) as node2,
    ):

        async def one(index: int) -> None:
            created = await admin.post(
                "/v1/keys", json={"name": f"fresh-{index}", "permissions": ["read"]}
            )
            assert created.status_code == 201, created.text
            key = created.json()
            used = await node1.get("/v1/collections", headers={"X-API-Key": key["token"]})
            if used.status_code != 200:
                refused.append((index, used.status_code, "key"))
            if index % 10 == 0:
                minted = await admin.post(
                    "/v1/auth/token", json={"sub": "u"}, headers={"X-API-Key": key["token"]}
                )
                assert minted.status_code == 200, minted.text
                jwt = minted.json()["token"]
                used = await node2.get("/v1/collections", headers={"X-API-Key": jwt})
                if used.status_code != 200:
                    refused.append((index, used.status_code, "jwt"))
            assert (await admin.delete(f"/v1/keys/{key['id']}")).status_code == 204

        async def worker(first: int) -> None:
            for index in range(first, rounds, concurrency):
                await one(index)

        await asyncio.gather(*(worker(i) for i in range(concurrency)))
    assert refused == [], f"{len(refused)} of {rounds} refused: {refused[:10]}"


async def test_a_keys_rate_limit_is_shared_by_all_nodes(cluster: Cluster) -> None:
    async with cluster[0].async_client() as admin:
        created = await admin.post(
            "/v1/keys", json={"name": "slow", "permissions": ["read"], "rate_limit_per_s": 5}
        )
        token = created.json()["token"]
    users = [http(node, token) for node in cluster.nodes]
    try:
        answers = await asyncio.gather(*(users[i % 3].get("/v1/collections") for i in range(15)))
    finally:
        for user in users:
            await user.aclose()
    statuses = [a.status_code for a in answers]
    # Per node the budget would let 15 through; shared, at most 5 in the window.
    assert statuses.count(200) <= 5 and statuses.count(429) >= 10, statuses


async def test_ttl_expiry_is_swept_once_for_the_whole_cluster(cluster: Cluster) -> None:
    coll = uid("ttl")
    async with cluster[0].async_client() as rest:
        for i in range(30):
            response = await rest.put(
                f"/v1/collections/{coll}/docs/k{i}", json=i, params={"ttl_s": 0.3}
            )
            assert response.status_code == 201
        deadline = time.monotonic() + 20
        while True:
            log = await log_changes(rest, coll, since=0)
            deletes = [c for c in log if c["op"] == "delete"]
            if len(deletes) >= 30 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
    assert sorted(c["key"] for c in deletes) == sorted(f"k{i}" for i in range(30))
    assert all(c["reason"] == "expired" for c in deletes)


async def test_a_leveldb_export_imports_into_the_cluster(tmp_path: Path) -> None:
    require_services()
    source = ServerProcess(tmp_path / "leveldb").start()
    try:
        async with source.async_client() as rest:
            for i in range(25):
                await rest.put(f"/v1/collections/moved/docs/k{i:02d}", json={"i": i})
            export = (await rest.get("/v1/admin/export")).content
    finally:
        source.stop()
    header = httpx.Response(200, content=export.split(b"\n", 1)[0]).json()
    with database() as url:
        cluster = Cluster(tmp_path / "cluster", url, 2)
        cluster.start()
        try:
            async with cluster[0].async_client() as rest:
                loaded = await rest.post(
                    "/v1/admin/import",
                    content=export,
                    headers={"Content-Type": "application/x-ndjson"},
                )
                assert loaded.status_code in (200, 201), loaded.text
            async with cluster[1].async_client() as rest:
                deadline = time.monotonic() + 10
                while (page := (await rest.get("/v1/changes", params={"collection": "*"})).json())[
                    "epoch"
                ] != header["epoch"]:
                    assert time.monotonic() < deadline, "node 1 kept the old epoch"
                    await asyncio.sleep(0.1)
                assert page["head_seq"] == header["seq"]
                docs = (await rest.get("/v1/collections/moved/docs", params={"limit": 100})).json()
                assert [d["value"]["i"] for d in docs["items"]] == list(range(25))
                after = await rest.put("/v1/collections/moved/docs/new", json=1)
                assert after.json()["rev"] == header["seq"] + 1
        finally:
            cluster.stop()
