"""Output limits (LEVELSTREAM_MAX_TXN_BYTES), on both stores, through a real server.

A write may not make the server produce or store much more than the limit (a
73 KB batch of 1000 patches of one 1 MB document made a 1 GB response and
5 GB of server memory): it is refused with 413 and writes nothing. A range
page or a snapshot frame ends early, with a cursor, instead of growing past it.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from websockets.asyncio.client import connect

from tests.cluster_support import store_env
from tests.helpers import assert_problem, head_seq, read_changes
from tests.server import ServerProcess

MAX_TXN_BYTES = 16 * 1024 * 1024  # the default of LEVELSTREAM_MAX_TXN_BYTES
# A value just under the default LEVELSTREAM_MAX_VALUE_BYTES (1 MiB).
BLOB = "x" * 1_000_000
PATCHES = 1000
# The server's peak resident memory after the attacks: today's main reached 5.2 GB.
MAX_SERVER_HWM_MB = 400
# As long as the clients wait (tests/server.py): today's main needed 47 s to answer.
ANSWER_TIMEOUT_S = 30


@pytest.fixture(scope="module")
def limit_server(
    tmp_path_factory: pytest.TempPathFactory, store_kind: str
) -> Iterator[ServerProcess]:
    """A server of its own: its peak memory belongs to these tests alone."""
    with store_env(store_kind) as env:
        proc = ServerProcess(
            tmp_path_factory.mktemp("limits") / "data", LEVELSTREAM_DURABILITY="async", **env
        )
        proc.start()
        yield proc
        proc.stop()


@pytest.fixture
def http(limit_server: ServerProcess) -> Iterator[httpx.Client]:
    with limit_server.client() as client:
        yield client


def new_collection() -> str:
    return "lim_" + uuid.uuid4().hex[:10]


def writer_token(http: httpx.Client, collection: str) -> str:
    """A key that may read and write one collection and nothing else."""
    body = {"name": "writer", "permissions": ["read", "write"], "collections": [collection]}
    created = http.post("/v1/keys", json=body)
    assert created.status_code == 201, created.text
    token: str = created.json()["token"]
    return token


def server_hwm_mb(server: ServerProcess) -> float:
    """The server process's peak resident memory (VmHWM), in MB."""
    assert server.proc is not None
    for line in Path(f"/proc/{server.proc.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc/<pid>/status")


def patch_ops(collection: str, key: str) -> list[dict[str, Any]]:
    return [
        {"op": "patch", "collection": collection, "key": key, "value": {"n": i}}
        for i in range(PATCHES)
    ]


def seed_big_document(http: httpx.Client, token: str, collection: str) -> dict[str, Any]:
    response = http.put(
        f"/v1/collections/{collection}/docs/big",
        json={"blob": BLOB, "n": -1},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201, response.text[:300]
    envelope: dict[str, Any] = response.json()
    return envelope


def assert_unchanged(http: httpx.Client, collection: str, before_seq: int, rev: int) -> None:
    assert head_seq(http) == before_seq, "the refused batch wrote changes"
    current = http.get(f"/v1/collections/{collection}/docs/big").json()
    assert current["rev"] == rev and current["value"]["n"] == -1


def test_patch_amplification_batch_is_refused_over_rest(
    limit_server: ServerProcess, http: httpx.Client
) -> None:
    collection = new_collection()
    token = writer_token(http, collection)
    rev = seed_big_document(http, token, collection)["rev"]
    before = head_seq(http)
    body = orjson.dumps({"ops": patch_ops(collection, "big")})
    assert len(body) < 100_000  # the request itself is small
    response = http.post(
        "/v1/batch",
        content=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    problem = assert_problem(response, 413, "payload_too_large")
    assert len(response.content) < 10_000
    assert "op_index" in problem and problem["op_index"] < 20, problem
    assert_unchanged(http, collection, before, rev)
    # A batch under the limit still goes through whole.
    small = http.post(
        "/v1/batch",
        json={"ops": patch_ops(collection, "big")[:3]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert small.status_code == 200, small.text[:300]
    assert [r["value"]["n"] for r in small.json()["results"]] == [0, 1, 2]
    assert server_hwm_mb(limit_server) < MAX_SERVER_HWM_MB


def test_patch_amplification_batch_is_refused_over_websocket(
    limit_server: ServerProcess, http: httpx.Client
) -> None:
    collection = new_collection()
    token = writer_token(http, collection)
    rev = seed_big_document(http, token, collection)["rev"]
    before = head_seq(http)

    async def attack() -> dict[str, Any]:
        url = f"{limit_server.ws_url}/v1/ws"
        headers = {"Authorization": f"Bearer {token}"}
        async with connect(
            url, additional_headers=headers, proxy=None, compression=None, max_size=None
        ) as ws:
            await ws.send(
                orjson.dumps({"op": "batch", "id": "b", "ops": patch_ops(collection, "big")})
            )
            while True:
                frame: dict[str, Any] = orjson.loads(
                    await asyncio.wait_for(ws.recv(), ANSWER_TIMEOUT_S)
                )
                if frame.get("type") == "reply" and frame.get("id") == "b":
                    return frame

    reply = asyncio.run(attack())
    assert reply["ok"] is False and reply["error"]["code"] == "payload_too_large", str(reply)[:300]
    assert_unchanged(http, collection, before, rev)
    assert server_hwm_mb(limit_server) < MAX_SERVER_HWM_MB


BIG_DOCS = 20  # ~19 MB: more than one page at the default limit


@pytest.fixture(scope="module")
def big_docs(limit_server: ServerProcess) -> tuple[str, list[str]]:
    """A collection of BIG_DOCS documents of ~1 MB each."""
    collection = new_collection()
    names = [f"doc{i:03d}" for i in range(BIG_DOCS)]
    with limit_server.client() as http:
        for name in names:
            response = http.put(f"/v1/collections/{collection}/docs/{name}", json={"blob": BLOB})
            assert response.status_code == 201, response.text[:300]
    return collection, names


@pytest.mark.parametrize("reverse", [False, True])
def test_a_range_page_stops_at_the_byte_limit_with_a_cursor(
    limit_server: ServerProcess, http: httpx.Client, big_docs: tuple[str, list[str]], reverse: bool
) -> None:
    collection, names = big_docs
    seen: list[str] = []
    pages = 0
    cursor: str | None = None
    for _ in range(BIG_DOCS + 1):  # every page holds at least one document
        params: dict[str, Any] = {"limit": 1000, "reverse": reverse}
        if cursor is not None:
            params["cursor"] = cursor
        response = http.get(f"/v1/collections/{collection}/docs", params=params)
        assert response.status_code == 200, response.text[:300]
        page = response.json()
        assert page["items"], "a page holds at least one document"
        assert len(response.content) <= MAX_TXN_BYTES + 2 * len(BLOB)
        seen += [item["key"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages > 1, "a page of ~19 MB of documents should have been cut short"
    assert seen == sorted(names, reverse=reverse), "every key once, in order"
    assert server_hwm_mb(limit_server) < MAX_SERVER_HWM_MB


def test_snapshot_frames_stop_at_the_byte_limit(
    limit_server: ServerProcess, big_docs: tuple[str, list[str]]
) -> None:
    collection, names = big_docs

    async def snapshot() -> list[list[str]]:
        url = f"{limit_server.ws_url}/v1/ws"
        async with connect(
            url,
            additional_headers=limit_server.headers(),
            proxy=None,
            compression=None,
            max_size=None,
        ) as ws:
            await ws.send(
                orjson.dumps(
                    {
                        "op": "subscribe",
                        "id": "s",
                        "sub": "s",
                        "collection": collection,
                        "snapshot": True,
                    }
                )
            )
            frames: list[list[str]] = []
            for _ in range(BIG_DOCS + 2):
                raw = await asyncio.wait_for(ws.recv(), ANSWER_TIMEOUT_S)
                assert len(raw) <= MAX_TXN_BYTES + 2 * len(BLOB)
                frame = orjson.loads(raw)
                if frame.get("type") != "snapshot":
                    continue
                assert frame["items"], "a snapshot frame holds at least one document"
                frames.append([item["key"] for item in frame["items"]])
                if frame["done"]:
                    return frames
            raise AssertionError("the snapshot did not end")

    frames = asyncio.run(snapshot())
    assert len(frames) > 1, "~19 MB of documents should have taken more than one frame"
    assert [key for frame in frames for key in frame] == names
    assert server_hwm_mb(limit_server) < MAX_SERVER_HWM_MB


# --- change reads by narrowly scoped keys: bounded work, nothing missed ----------------------

LOG_FILL = 60_000  # log entries of a collection the scoped keys may not read
GLOB_COLLECTIONS = 70  # more than the store walks index by index (INDEX_WALK_MAX)


def server_cpu_s(server: ServerProcess) -> float:
    """User + system CPU time the server process has used so far."""
    assert server.proc is not None
    fields = Path(f"/proc/{server.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def scoped_token(http: httpx.Client, collections: list[str]) -> str:
    body = {"name": "reader", "permissions": ["read"], "collections": collections}
    created = http.post("/v1/keys", json=body)
    assert created.status_code == 201, created.text
    token: str = created.json()["token"]
    return token


@pytest.fixture(scope="module")
def long_log(limit_server: ServerProcess) -> tuple[str, list[str]]:
    """LOG_FILL changes of one collection, with changes of GLOB_COLLECTIONS collections
    (named <prefix>b…) before, between and after them."""
    prefix = new_collection()
    globbed = [f"{prefix}b{i:03d}" for i in range(GLOB_COLLECTIONS)]
    with limit_server.client() as http:

        def batch(ops: list[dict[str, Any]]) -> None:
            response = http.post("/v1/batch", json={"ops": ops})
            assert response.status_code == 200, response.text[:300]

        for round_ in range(3):
            batch(
                [{"op": "put", "collection": c, "key": f"k{round_}", "value": {}} for c in globbed]
            )
            if round_ < 2:
                for n in range(LOG_FILL // 2000):
                    batch(
                        [
                            {
                                "op": "put",
                                "collection": f"{prefix}a",
                                "key": f"k{n}-{i}",
                                "value": i,
                            }
                            for i in range(1000)
                        ]
                    )
    return prefix, globbed


def poll(http: httpx.Client, token: str, since: int) -> dict[str, Any]:
    response = http.get(
        "/v1/changes",
        params={"collection": "*", "since": since, "limit": 1000},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text[:300]
    page: dict[str, Any] = response.json()
    return page


def test_a_key_of_one_empty_collection_does_not_scan_the_log(
    limit_server: ServerProcess, http: httpx.Client, long_log: tuple[str, list[str]]
) -> None:
    prefix, _ = long_log
    token = scoped_token(http, [f"{prefix}empty"])
    head = head_seq(http)
    assert head >= LOG_FILL
    cpu_before = server_cpu_s(limit_server)
    for _ in range(10):
        page = poll(http, token, 0)
        assert page["changes"] == []
        assert page["last_seq"] == head  # nothing of its collection anywhere: caught up
    # Work, not time: today's main walked all LOG_FILL entries each poll (0.88 s of
    # server CPU for the ten here); walking the collection's log index, ~0.01 s.
    assert server_cpu_s(limit_server) - cpu_before < 0.3


def test_a_glob_scoped_key_gets_every_change_once_across_polls(
    http: httpx.Client, long_log: tuple[str, list[str]]
) -> None:
    prefix, globbed = long_log
    token = scoped_token(http, [f"{prefix}b*"])
    expected = [
        c["seq"] for c in read_changes(http, "*", 0) if c["collection"].startswith(f"{prefix}b")
    ]
    assert len(expected) == 3 * GLOB_COLLECTIONS
    got: list[int] = []
    since, polls, stopped_early = 0, 0, False
    for _ in range(200):
        polls += 1
        page = poll(http, token, since)
        got += [c["seq"] for c in page["changes"]]
        assert all(c["collection"] in globbed for c in page["changes"])
        assert page["last_seq"] >= since
        if page["last_seq"] >= page["head_seq"]:
            break
        stopped_early = stopped_early or len(page["changes"]) < 1000
        since = page["last_seq"]
    assert got == [s for s in expected if s <= page["last_seq"]], "a gap or a duplicate"
    assert set(expected) <= set(got)
    assert stopped_early, "every poll walked to the head: the scan had no budget"
    assert polls > 1


def test_a_sparse_key_filter_reads_the_log_in_bounded_steps(
    http: httpx.Client, long_log: tuple[str, list[str]]
) -> None:
    """A key that changed twice in a long log: each read examines a bounded part of the
    log (both stores), answers with how far it got, and the walk finds each change once."""
    prefix, _ = long_log
    collection, key = f"{prefix}a", "k0-5"
    got: list[dict[str, Any]] = []
    since, reads = 0, 0
    for _ in range(100):
        reads += 1
        response = http.get(
            "/v1/changes", params={"collection": collection, "key": key, "since": since}
        )
        assert response.status_code == 200, response.text[:300]
        page = response.json()
        got += page["changes"]
        if page["last_seq"] >= page["head_seq"]:
            break
        since = page["last_seq"]
    assert [(c["collection"], c["key"]) for c in got] == [(collection, key)] * 2
    assert got[0]["seq"] < got[1]["seq"]
    assert reads > 1, "one read walked the whole log for a sparse key"
