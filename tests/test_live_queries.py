"""Filtered live queries (`where`, the contract's "Queries, indexes and rules") through a
real server on both stores: enter/update/leave over WebSocket, SSE and long-poll, live
and replayed from every seq with the same events, snapshots, key filters, refusals; and
a model-based test (hypothesis) of random writes, filters and resume points, with the
replays checked again after a restart."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.store.core.events import deliverable
from app.store.records import change_json, change_record
from tests.cluster_support import running_cluster, store_env
from tests.helpers import assert_problem
from tests.live_model import FILTERS, Applied, Doc, apply, events, observed, random_writes
from tests.realtime_clients import log_changes, sse_stream, ws_client
from tests.server import ServerProcess

# A document key no scenario writes: put last, it ends what a reader must wait for.
SENTINEL = "zz-end"
# A value each filter matches, for the sentinel.
SENTINEL_VALUES: dict[str, Doc] = {
    source: next(
        v
        for v in (
            {"status": "open", "n": 3, "tag": "a"},
            {"status": "closed", "n": 3, "tag": "a"},
        )
        if twin(v)
    )
    for source, twin in FILTERS.items()
}


@pytest.fixture(scope="module")
def live_server(
    tmp_path_factory: pytest.TempPathFactory, store_kind: str
) -> Iterator[ServerProcess]:
    """Its own server: one test restarts it."""
    with store_env(store_kind) as env:
        proc = ServerProcess(tmp_path_factory.mktemp("live") / "data", **env).start()
        yield proc
        proc.stop()


@pytest.fixture
def admin(live_server: ServerProcess) -> Iterator[httpx.Client]:
    with live_server.client() as c:
        yield c


def new_collection() -> str:
    return f"lq-{uuid.uuid4().hex[:10]}"


def end_with_sentinel(client: httpx.Client, collection: str, where: str) -> int:
    """Put the sentinel (it matches `where`); its seq."""
    url = f"/v1/collections/{collection}/docs/{SENTINEL}"
    response = client.put(url, json=SENTINEL_VALUES[where])
    assert response.status_code in (200, 201), response.text
    return int(response.json()["rev"])


def without_sentinel(changes: list[dict[str, Any]]) -> list[tuple]:
    return [observed(c) for c in changes if c["key"] != SENTINEL]


async def ws_events(
    server: ServerProcess, collection: str, where: str, since: int, until: int
) -> list[dict[str, Any]]:
    """A WebSocket subscription's changes from `since` up to seq `until` (a replay)."""
    async with ws_client(server) as c:
        await c.subscribe("f", collection=collection, where=where, since=since)
        return await c.changes("f", until)


async def sse_events(
    server: ServerProcess, collection: str, where: str, since: int, until: int
) -> list[dict[str, Any]]:
    async with (
        server.async_client() as client,
        sse_stream(client, collection=collection, where=where, since=since) as stream,
    ):
        return await stream.changes(until)


async def poll_events(
    server: ServerProcess, collection: str, where: str, since: int
) -> list[dict[str, Any]]:
    async with server.async_client() as client:
        return await log_changes(client, collection, since, where=where)


# --- one scenario by hand: every event kind, every transport ----------------------------

WHERE = 'doc.status == "open"'
SCENARIO: list[tuple[str, str, Doc | None]] = [
    ("put", "a", {"status": "open"}),  # enter
    ("put", "a", {"status": "open", "n": 1}),  # update
    ("put", "a", {"status": "closed"}),  # leave
    ("put", "a", {"status": "closed", "n": 2}),  # nothing
    ("patch", "a", {"status": "open"}),  # enter (a patch: put with the merged value)
    ("delete", "a", None),  # delete
    ("put", "b", {"status": "closed"}),  # nothing
    ("delete", "b", None),  # nothing: it never matched
]
EXPECTED = [
    ("put", "a", "enter", {"status": "open"}),
    ("put", "a", "update", {"status": "open", "n": 1}),
    ("leave", "a", None, None),
    ("put", "a", "enter", {"status": "open", "n": 2}),
    ("delete", "a", None, None),
]


def write_scenario(client: httpx.Client, collection: str) -> list[int]:
    seqs = []
    for op, key, value in SCENARIO:
        batch_op: dict[str, Any] = {"op": op, "collection": collection, "key": key}
        if value is not None:
            batch_op["value"] = value
        response = client.post("/v1/batch", json={"ops": [batch_op]})
        assert response.status_code == 200, response.text
        seqs.append(int(response.json()["seq"]))
    return seqs


def test_enter_update_leave_live_on_every_transport(
    live_server: ServerProcess, admin: httpx.Client
) -> None:
    coll = new_collection()

    async def run() -> tuple[list[Any], list[Any], list[Any]]:
        async with (
            ws_client(live_server) as ws,
            live_server.async_client() as client,
            sse_stream(client, collection=coll, where=WHERE) as sse,
        ):
            await ws.subscribe("f", collection=coll, where=WHERE)
            start = int(
                (await client.get("/v1/changes", params={"collection": coll})).json()["head_seq"]
            )
            # A long-poll waiting before the first write answers with the first event.
            poll = asyncio.create_task(
                client.get(
                    "/v1/changes",
                    params={"collection": coll, "where": WHERE, "since": start, "wait": 30},
                )
            )
            await asyncio.sleep(0.2)
            await asyncio.to_thread(write_scenario, admin, coll)
            until = await asyncio.to_thread(end_with_sentinel, admin, coll, WHERE)
            first = (await poll).json()["changes"]
            return await ws.changes("f", until), await sse.changes(until), first

    ws_got, sse_got, polled = asyncio.run(run())
    want = [(op, key, match, value) for op, key, match, value in EXPECTED]
    for got in (ws_got, sse_got):
        assert [(op, key, m, v) for _, op, key, m, v in without_sentinel(got)] == want
    assert [(op, key, m, v) for _, op, key, m, v in without_sentinel(polled)][:1] == want[:1]
    # A leave names the document and its previous rev, and carries no value.
    leave = next(c for c in ws_got if c["op"] == "leave")
    assert leave["value"] is None and leave["prev_rev"] == leave["seq"] - 1


def test_replay_from_every_seq_gives_the_live_events(
    live_server: ServerProcess, admin: httpx.Client
) -> None:
    coll = new_collection()
    seqs = write_scenario(admin, coll)
    until = end_with_sentinel(admin, coll, WHERE)
    start = seqs[0] - 1
    full = asyncio.run(poll_events(live_server, coll, WHERE, start))
    assert [(op, key, m, v) for _, op, key, m, v in without_sentinel(full)] == [
        (op, key, m, v) for op, key, m, v in EXPECTED
    ]
    for since in [start, *seqs]:
        suffix = [c for c in full if c["seq"] > since]
        assert asyncio.run(poll_events(live_server, coll, WHERE, since)) == suffix
        assert asyncio.run(ws_events(live_server, coll, WHERE, since, until)) == suffix
        assert asyncio.run(sse_events(live_server, coll, WHERE, since, until)) == suffix


def test_snapshot_holds_only_matching_documents_then_events(
    live_server: ServerProcess, admin: httpx.Client
) -> None:
    coll = new_collection()
    url = f"/v1/collections/{coll}/docs"
    for i in range(30):
        admin.put(f"{url}/d{i:02}", json={"status": "open" if i % 3 == 0 else "closed"})

    async def run() -> tuple[list[Any], list[Any], list[Any]]:
        async with ws_client(live_server) as ws:
            await ws.subscribe("f", collection=coll, where=WHERE, snapshot=True)
            items: list[Any] = []
            while True:
                frame = await ws.expect(lambda f: f.get("type") == "snapshot")
                items.extend(frame["items"])
                if frame["done"]:
                    break
            async with (
                live_server.async_client() as client,
                sse_stream(client, collection=coll, where=WHERE, snapshot="true") as sse,
            ):
                sse_items: list[Any] = []
                while True:
                    event = (await sse.expect("snapshot")).json()
                    sse_items.extend(event["items"])
                    if event["done"]:
                        break
            admin.put(f"{url}/d01", json={"status": "open"})  # enters
            admin.put(f"{url}/d00", json={"status": "closed"})  # leaves
            until = end_with_sentinel(admin, coll, WHERE)
            return items, sse_items, await ws.changes("f", until)

    items, sse_items, after = asyncio.run(run())
    want = [f"d{i:02}" for i in range(0, 30, 3)]
    assert [i["key"] for i in items] == want
    assert [i["key"] for i in sse_items] == want
    assert [(c["op"], c["key"], c.get("match")) for c in after] == [
        ("put", "d01", "enter"),
        ("leave", "d00", None),
        ("put", SENTINEL, "enter"),
    ]


def test_where_combines_with_a_key_filter(live_server: ServerProcess, admin: httpx.Client) -> None:
    coll = new_collection()
    url = f"/v1/collections/{coll}/docs"
    start = int(admin.get("/v1/changes", params={"collection": coll}).json()["head_seq"])
    admin.put(f"{url}/p-1", json={"status": "open"})
    admin.put(f"{url}/q-1", json={"status": "open"})  # outside the prefix
    admin.put(f"{url}/p-2", json={"status": "closed"})  # does not match
    admin.put(f"{url}/p-1", json={"status": "closed"})  # leaves
    got = admin.get(
        "/v1/changes", params={"collection": coll, "since": start, "prefix": "p-", "where": WHERE}
    ).json()["changes"]
    assert [(c["op"], c["key"], c.get("match")) for c in got] == [
        ("put", "p-1", "enter"),
        ("leave", "p-1", None),
    ]


@pytest.mark.parametrize(
    ("where", "position"),
    [
        ("doc.status ==", 13),
        ("doc.x + ", 6),
        ("nope(doc)", 0),
        ("(" * 200 + "true" + ")" * 200, None),
    ],
)
def test_a_bad_where_is_refused_everywhere(
    live_server: ServerProcess, admin: httpx.Client, where: str, position: int | None
) -> None:
    coll = new_collection()
    for response in (
        admin.get("/v1/changes", params={"collection": coll, "where": where}),
        admin.get("/v1/stream", params={"collection": coll, "where": where}),
        admin.get(f"/v1/collections/{coll}/docs", params={"where": where}),
    ):
        problem = assert_problem(response, 422, "validation_failed")
        assert problem["detail"].startswith("where: ")
        if position is not None:
            assert problem["offset"] == position, problem

    async def ws() -> dict[str, Any]:
        async with ws_client(live_server) as c:
            return await c.request("subscribe", sub="s", collection=coll, where=where)

    reply = asyncio.run(ws())
    assert reply["ok"] is False and reply["error"]["code"] == "validation_failed"
    assert reply["error"]["message"].startswith("where: ")


def test_owner_filters_reach_their_owners_before_and_after(
    live_server: ServerProcess, admin: httpx.Client
) -> None:
    """Many subscribers pinned to one owner each (the hub indexes them by value), several
    sharing one filter, one unpinned: a document changing owner leaves the old owner's
    views and enters the new one's; nobody else hears of it."""
    coll = new_collection()
    url = f"/v1/collections/{coll}/docs"
    owners = [f"u{i}" for i in range(60)]
    subs = {f"o{i}": f'doc.owner == "{owner}"' for i, owner in enumerate(owners)}
    subs |= {f"same{i}": 'doc.owner == "u7" && doc.n > 0' for i in range(5)}
    subs["big"] = "doc.n > 2"

    async def run() -> dict[str, list[tuple[str, str | None]]]:
        async with ws_client(live_server) as ws:
            for sub, where in subs.items():
                await ws.subscribe(sub, collection=coll, where=where)
            admin.put(f"{url}/d", json={"owner": "u7", "n": 1})
            admin.put(f"{url}/d", json={"owner": "u8", "n": 3})
            admin.delete(f"{url}/d")
            await ws.subscribe("all", collection=coll)
            admin.put(f"{url}/end", json={"owner": "nobody"})
            await ws.changes("all", 0)
            got: dict[str, list[tuple[str, str | None]]] = {}
            for frame in ws.pending:
                if frame.get("type") == "change":
                    change = frame["change"]
                    got.setdefault(frame["sub"], []).append((change["op"], change.get("match")))
            return got

    got = asyncio.run(run())
    assert got.pop("o7") == [("put", "enter"), ("leave", None)]
    assert got.pop("o8") == [("put", "enter"), ("delete", None)]
    for i in range(5):
        assert got.pop(f"same{i}") == [("put", "enter"), ("leave", None)]
    assert got.pop("big") == [("put", "enter"), ("delete", None)]
    assert got == {}


def test_a_one_field_filter_decided_by_its_value_index_keeps_cel_equality(
    live_server: ServerProcess, admin: httpx.Client
) -> None:
    """A filter that is one `doc.path == literal` is decided by the hub's value index
    without evaluating it; its events still follow CEL's equality and field selection:
    1 equals 1.0 but not true or "1", a missing field is not null, and a path through a
    value that is not a map selects nothing."""
    coll = new_collection()
    url = f"/v1/collections/{coll}/docs"
    subs = {"n1": "doc.n == 1", "ab": 'doc.a.b == "x"', "null": "doc.z == null"}
    writes: list[tuple[str, dict[str, object] | None]] = [
        ("n", {"n": 1}),  # n1 enter
        ("n", {"n": 1.0}),  # n1 update (1 == 1.0)
        ("n", {"n": True}),  # n1 leave
        ("n", {"n": "1"}),  # nothing
        ("n", {"n": 1}),  # n1 enter
        ("n", None),  # n1 delete
        ("e", {"a": {"b": "x"}}),  # ab enter
        ("e", {"a": "x"}),  # ab leave (`a` is not a map)
        ("e", {"a": {"b": "x", "c": 1}}),  # ab enter
        ("f", {"z": None}),  # null enter
        ("f", {"y": None}),  # null leave (missing is not null)
        ("f", {"z": None, "n": 2}),  # null enter
    ]

    async def run() -> dict[str, list[tuple[str, str, str | None]]]:
        async with ws_client(live_server) as ws:
            for sub, where in subs.items():
                await ws.subscribe(sub, collection=coll, where=where)
            for key, value in writes:
                if value is None:
                    admin.delete(f"{url}/{key}").raise_for_status()
                else:
                    admin.put(f"{url}/{key}", json=value).raise_for_status()
            await ws.subscribe("all", collection=coll)
            admin.put(f"{url}/end", json={}).raise_for_status()
            await ws.changes("all", 0)
            got: dict[str, list[tuple[str, str, str | None]]] = {}
            for frame in ws.pending:
                if frame.get("type") == "change":
                    change = frame["change"]
                    got.setdefault(frame["sub"], []).append(
                        (change["key"], change["op"], change.get("match"))
                    )
            return got

    got = asyncio.run(run())
    assert got.pop("n1") == [
        ("n", "put", "enter"),
        ("n", "put", "update"),
        ("n", "leave", None),
        ("n", "put", "enter"),
        ("n", "delete", None),
    ]
    assert got.pop("ab") == [("e", "put", "enter"), ("e", "leave", None), ("e", "put", "enter")]
    assert got.pop("null") == [
        ("f", "put", "enter"),
        ("f", "leave", None),
        ("f", "put", "enter"),
    ]
    assert got == {}


def test_one_filter_shared_by_many_subscription_ids_and_streams(
    live_server: ServerProcess, admin: httpx.Client
) -> None:
    """One filter group (the hub builds each event once for it) holding 20 subscription
    ids on two WebSocket connections, interleaved (more ids than a change keeps frames
    for), and two SSE streams: each subscription gets every event once, in a frame that
    names it, with the same enter/update/leave as a lone subscriber."""
    coll = new_collection()
    ids = [f"g{i}" for i in range(20)]

    async def run() -> tuple[dict[str, list[dict[str, Any]]], list[dict[str, Any]]]:
        async with (
            ws_client(live_server) as one,
            ws_client(live_server) as two,
            live_server.async_client() as client,
            sse_stream(client, collection=coll, where=WHERE) as sse_a,
            sse_stream(client, collection=coll, where=WHERE) as sse_b,
        ):
            sockets = (one, two)
            for i, sub in enumerate(ids):
                await sockets[i % 2].subscribe(sub, collection=coll, where=WHERE)
            await asyncio.to_thread(write_scenario, admin, coll)
            until = await asyncio.to_thread(end_with_sentinel, admin, coll, WHERE)
            got = {sub: await sockets[i % 2].changes(sub, until) for i, sub in enumerate(ids)}
            got["sse a"] = await sse_a.changes(until)
            got["sse b"] = await sse_b.changes(until)
            # Nothing else arrived: no frame twice, none naming another subscription.
            await one.request("ping")
            await two.request("ping")
            extra = [f for ws in sockets for f in ws.pending if f.get("type") == "change"]
            return got, extra

    got, extra = asyncio.run(run())
    want = [(op, key, match, value) for op, key, match, value in EXPECTED]
    for sub, changes in got.items():
        assert [(op, key, m, v) for _, op, key, m, v in without_sentinel(changes)] == want, sub
    assert extra == []


HOSTILE = [
    "(" * 40 + "true" + ")" * 40,  # nesting past 32
    "!" * 40 + "true",
    " || ".join(f"doc.a == {i}" for i in range(600)),  # past 512 nodes
    "doc." + ".".join(["a"] * 40) + " == 1",  # 40 selections in a row
    'doc.s == "' + "x" * 2000 + '"',  # a string literal past 1024 characters
    "doc.n in [" + ", ".join(str(i) for i in range(300)) + "]",  # a list past 256 items
    "doc.n == 99999999999999999999",  # an int past 64 bits
    "doc.tags.all(t, t == 1)",  # macros: not in the language
    "doc.tags.exists(t, t.exists(u, u == 1))",
    "matches(doc.s, 'a+')",  # unknown function
    "doc.s.matches('(a+)+$')",
    "x" * 5000,  # past 4096 characters
]


@pytest.mark.parametrize("where", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_expressions_are_refused_at_compile_time_everywhere(
    live_server: ServerProcess, admin: httpx.Client, where: str
) -> None:
    coll = new_collection()
    for response in (
        admin.get("/v1/changes", params={"collection": coll, "where": where}),
        admin.get("/v1/stream", params={"collection": coll, "where": where}),
        admin.get(f"/v1/collections/{coll}/docs", params={"where": where}),
        admin.put(f"/v1/rules/{coll}", json={"read": where}),
    ):
        assert_problem(response, 422, "validation_failed")

    async def ws() -> dict[str, Any]:
        async with ws_client(live_server) as c:
            return await c.request("subscribe", sub="s", collection=coll, where=where)

    reply = asyncio.run(ws())
    assert reply["ok"] is False and reply["error"]["code"] == "validation_failed"
    assert admin.get(f"/v1/rules/{coll}").status_code == 404  # nothing was saved


# --- the model: random writes, random filters, random resume points ---------------------


def check_scenario(
    server: ServerProcess,
    coll: str,
    applied: list[Applied],
    where: str,
    resume_points: list[int],
    until: int,
) -> None:
    twin = FILTERS[where]
    for since in resume_points:
        want = events(applied, twin, since)
        polled = asyncio.run(poll_events(server, coll, where, since))
        assert without_sentinel(polled) == want, (where, since)
    since = resume_points[0]
    want = events(applied, twin, since)
    assert without_sentinel(asyncio.run(ws_events(server, coll, where, since, until))) == want
    assert without_sentinel(asyncio.run(sse_events(server, coll, where, since, until))) == want


def live_run(
    server: ServerProcess, client: httpx.Client, coll: str, where: str, writes: list[Any]
) -> tuple[list[Applied], list[dict[str, Any]], int, int]:
    """A live WebSocket subscriber while `writes` are sent; (applied, its events, the
    seq before the writes, the sentinel's seq)."""

    async def run() -> tuple[list[Applied], list[dict[str, Any]], int, int]:
        async with ws_client(server) as ws:
            reply = await ws.subscribe("f", collection=coll, where=where)
            applied = await asyncio.to_thread(apply, client, coll, writes)
            until = await asyncio.to_thread(end_with_sentinel, client, coll, where)
            return applied, await ws.changes("f", until), int(reply["seq"]), until

    return asyncio.run(run())


# Scenarios the model test ran, by server (each store has its own), replayed after a restart.
RAN: dict[str, list[tuple[str, list[Applied], str, int, int]]] = {}


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    seed=st.integers(0, 2**32 - 1),
    count=st.integers(1, 30),
    where=st.sampled_from(sorted(FILTERS)),
    picks=st.lists(st.floats(0, 1), min_size=1, max_size=3),
)
def test_model_live_and_replayed(
    live_server: ServerProcess,
    admin: httpx.Client,
    seed: int,
    count: int,
    where: str,
    picks: list[float],
) -> None:
    coll = new_collection()
    writes = random_writes(random.Random(seed), count)
    applied, live, start, until = live_run(live_server, admin, coll, where, writes)
    assert without_sentinel(live) == events(applied, FILTERS[where], start)
    seqs = [start] + [a.seq for a in applied]
    resume_points = [seqs[int(p * (len(seqs) - 1))] for p in picks]
    check_scenario(live_server, coll, applied, where, resume_points, until)
    RAN.setdefault(live_server.url, []).append((coll, applied, where, start, until))


def test_model_replays_survive_a_restart(live_server: ServerProcess, admin: httpx.Client) -> None:
    rng = random.Random(15)
    runs = list(RAN.get(live_server.url, []))
    for where in sorted(FILTERS):  # every filter at least once, whatever ran before
        coll = new_collection()
        applied, _, start, until = live_run(live_server, admin, coll, where, random_writes(rng, 25))
        runs.append((coll, applied, where, start, until))
    live_server.restart()
    for coll, applied, where, start, until in runs:
        seqs = [start] + [a.seq for a in applied]
        check_scenario(live_server, coll, applied, where, [start, rng.choice(seqs)], until)


def test_a_change_recorded_without_its_previous_value_is_taken_to_have_matched() -> None:
    """Records written before changes kept the previous value: a filtered reader may get
    an `update` or a `leave` it did not need, and never misses one (docs/decisions.md)."""
    data = change_json(9, "put", "c", "k", b'{"status":"closed"}', 8, 0)

    def is_open(collection: str, key: str, rev: int | None, value: Any) -> bool:
        return bool(value.get("status") == "open")

    left = deliverable(is_open, data)
    assert left is not None and orjson.loads(left)["op"] == "leave"
    entered = deliverable(is_open, change_json(10, "put", "c", "k", b'{"status":"open"}', 9, 0))
    assert entered is not None and orjson.loads(entered)["match"] == "update"
    created = change_json(11, "put", "c", "n", b'{"status":"closed"}', None, 0)
    assert deliverable(is_open, created) is None
    # With the previous value kept, the same change is decided by it.
    assert deliverable(is_open, change_record(data, b'{"status":"closed"}')) is None


# --- cluster mode: a filtered subscription on one node, writes and rules on another --------


@pytest.mark.leveldb_only  # runs once: it is a PostgreSQL cluster whatever the module's store
def test_enter_leave_and_rule_resets_across_nodes(tmp_path: Path) -> None:
    with running_cluster(tmp_path, nodes=2) as cluster:
        coll = new_collection()
        node_a, node_b = cluster
        with node_a.client() as a:
            start = int(a.get("/v1/changes", params={"collection": coll}).json()["head_seq"])

            async def run() -> tuple[list[dict[str, Any]], dict[str, Any]]:
                async with ws_client(node_b) as ws, ws_client(node_b, user_token) as user_ws:
                    await ws.subscribe("f", collection=coll, where=WHERE)
                    await user_ws.subscribe("u", collection=coll)
                    await asyncio.to_thread(write_scenario, a, coll)
                    until = await asyncio.to_thread(end_with_sentinel, a, coll, WHERE)
                    live = await ws.changes("f", until)
                    await user_ws.changes("u", until)
                    rule = {"read": 'doc.status == "open"'}
                    assert a.put(f"/v1/rules/{coll}", json=rule).status_code == 200
                    reset = await user_ws.expect(lambda f: f.get("type") == "reset", timeout=15)
                    return live, reset

            key = a.post(
                "/v1/keys", json={"name": "u", "permissions": ["read"], "collections": [coll]}
            )
            user_token = key.json()["token"]
            live, reset = asyncio.run(run())
        want = [(op, k, m, v) for op, k, m, v in EXPECTED]
        assert [(op, k, m, v) for _, op, k, m, v in without_sentinel(live)] == want
        assert reset == {"type": "reset", "sub": "u", "reason": "rules_changed"}
        # Replayed on the other node: the same events.
        assert asyncio.run(poll_events(node_a, coll, WHERE, start)) == live
