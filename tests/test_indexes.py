"""JSON field indexes through a real server, on both stores: creation with build
progress, every write path keeping entries exact (put, patch, delete, batch, TTL
expiry), the online build racing writes, drop and re-create, and bad input.

"Exact" is observed through `explain`: for a filter that pins every indexed field
with `==`, the index walk examines exactly the entries with those values, so a
stale entry (a write that left one behind) or a missing one shows in `scanned`,
while `items` is compared with the documents themselves.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from typing import Any

import httpx
import pytest

from tests.helpers import assert_problem, read_range
from tests.server import ServerProcess
from tests.test_queries import create_index, explain, keys_of, put_all

# Enough values that each holds fewer than a page (1000) of the bulk tests' documents,
# so one explained page sees every entry of a value.
STATUSES = ["open", "closed", "pending", "s3", "s4", "s5", "s6", "s7"]


def new_collection() -> str:
    return "i_" + uuid.uuid4().hex[:12]


def assert_exact(
    client: httpx.Client, coll: str, index: str = "by_status", statuses: list[str] = STATUSES
) -> None:
    """For every status: the index walk sees exactly the documents that hold it."""
    truth: dict[str, list[str]] = {}
    for item in read_range(client, coll, limit=1000):
        value = item["value"]
        if isinstance(value, dict) and isinstance(value.get("status"), str):
            truth.setdefault(value["status"], []).append(item["key"])
    assert all(len(keys) < 1000 for keys in truth.values())  # one page each, below
    for status in statuses:
        where = f'doc.status == "{status}"'
        expected = truth.get(status, [])
        assert keys_of(read_range(client, coll, where=where, limit=1000)) == expected
        result = explain(client, coll, where=where, limit=1000)
        assert result == {"index": index, "scanned": len(expected), "returned": len(expected)}


def test_create_reports_progress_then_ready(client: httpx.Client) -> None:
    coll = new_collection()
    put_all(client, coll, {f"k{i:05d}": {"status": STATUSES[i % 8]} for i in range(5000)})
    url = f"/v1/collections/{coll}/indexes/by_status"
    created = client.put(url, json={"fields": ["status"]})
    assert created.status_code == 201, created.text
    assert created.json() == {
        "name": "by_status",
        "fields": ["status"],
        "state": "building",
        "done": 0,
        "total": 5000,
    }
    seen_states = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        state = client.get(url).json()
        seen_states.append(state["state"])
        assert 0 <= state["done"] <= state["total"] == 5000
        if state["state"] == "ready":
            break
        time.sleep(0.01)
    assert state == {**created.json(), "state": "ready", "done": 5000}
    listed = client.get(f"/v1/collections/{coll}/indexes").json()
    assert listed == {"items": [state]}
    again = client.put(url, json={"fields": ["status"]})
    assert again.status_code == 200 and again.json() == state
    other = client.put(url, json={"fields": ["owner"]})
    assert_problem(other, 409, "conflict")
    assert_exact(client, coll)


def test_every_write_path_maintains_the_index(client: httpx.Client) -> None:
    coll = new_collection()
    docs = f"/v1/collections/{coll}/docs"
    put_all(client, coll, {f"k{i}": {"status": STATUSES[i % 3], "n": i} for i in range(9)})
    create_index(client, coll, "by_status", ["status"])
    assert_exact(client, coll)
    # put: replace, create, and a value that is no map at all
    assert client.put(f"{docs}/k0", json={"status": "closed"}).status_code == 200
    assert client.put(f"{docs}/new", json={"status": "open"}).status_code == 201
    assert client.put(f"{docs}/k1", json=[1, 2]).status_code == 200
    assert_exact(client, coll)
    # patch: change the field, remove it, leave it
    assert client.patch(f"{docs}/k2", json={"status": "open"}).status_code == 200
    assert client.patch(f"{docs}/k3", json={"status": None}).status_code == 200
    assert client.patch(f"{docs}/k4", json={"n": 100}).status_code == 200
    assert_exact(client, coll)
    # delete, and POST (a server-chosen key)
    assert client.delete(f"{docs}/k5").status_code == 204
    assert client.post(docs, json={"status": "pending"}).status_code == 201
    assert_exact(client, coll)
    # batch: several ops on one document in one transaction, all or nothing
    ops = [
        {"op": "put", "collection": coll, "key": "k6", "value": {"status": "open"}},
        {"op": "patch", "collection": coll, "key": "k6", "value": {"status": "pending"}},
        {"op": "delete", "collection": coll, "key": "k7"},
        {"op": "put", "collection": coll, "key": "k7", "value": {"status": "closed"}},
    ]
    assert client.post("/v1/batch", json={"ops": ops}).status_code == 200
    failing = [
        {"op": "put", "collection": coll, "key": "k8", "value": {"status": "open"}},
        {"op": "delete", "collection": coll, "key": "absent"},
    ]
    assert client.post("/v1/batch", json={"ops": failing}).status_code == 404
    assert_exact(client, coll)
    # TTL: the sweep's delete removes the entry too
    assert client.put(f"{docs}/ttl", params={"ttl_s": 0.2}, json={"status": "open"}).status_code
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        changes = client.get(
            "/v1/changes", params={"collection": coll, "since": 0, "limit": 1000}
        ).json()["changes"]
        if any(c.get("reason") == "expired" for c in changes):
            break
        time.sleep(0.1)
    else:
        raise AssertionError("the TTL sweep did not run")
    assert_exact(client, coll)


def test_build_races_writes_and_ends_exact(client: httpx.Client, server: ServerProcess) -> None:
    """Writes land while the build runs (several batches): documents the builder has
    passed, has not reached, and is reading; at the end every entry is exact."""
    coll = new_collection()
    count = 24_000  # a dozen build batches
    statuses = [f"s{n}" for n in range(40)]
    put_all(client, coll, {f"k{i:05d}": {"status": statuses[i % 40]} for i in range(count)})
    stop = threading.Event()
    written = Counter[str]()

    def write_forever(seed: int) -> None:
        rng = random.Random(seed)
        with server.client() as writer:
            while not stop.is_set():
                key = f"k{rng.randrange(count + 200):05d}"
                if rng.random() < 0.2:
                    writer.delete(f"/v1/collections/{coll}/docs/{key}")
                else:
                    value = {"status": rng.choice(statuses)}
                    writer.put(f"/v1/collections/{coll}/docs/{key}", json=value)
                written["writes"] += 1

    threads = [threading.Thread(target=write_forever, args=(seed,)) for seed in range(3)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.1)
        create_index(client, coll, "by_status", ["status"])
        during = written["writes"]
        time.sleep(0.2)  # and writes after the build too
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert during > 0
    assert_exact(client, coll, statuses=statuses)


def test_drop_and_recreate(client: httpx.Client) -> None:
    coll = new_collection()
    put_all(client, coll, {f"k{i}": {"status": STATUSES[i % 3], "n": i} for i in range(30)})
    create_index(client, coll, "by_status", ["status"])
    url = f"/v1/collections/{coll}/indexes/by_status"
    assert client.delete(url).status_code == 204
    assert_problem(client.get(url), 404, "not_found")
    assert_problem(client.delete(url), 404, "not_found")
    assert explain(client, coll, where='doc.status == "open"')["index"] is None
    # Writes meanwhile, then the same name again: no entry of the old index shows.
    assert client.put(f"/v1/collections/{coll}/docs/k0", json={"status": "pending"}).is_success
    create_index(client, coll, "by_status", ["status"])
    assert_exact(client, coll)


@pytest.mark.parametrize(
    ("name", "body", "field"),
    [
        ("bad name", {"fields": ["a"]}, "index"),
        ("x" * 65, {"fields": ["a"]}, "index"),
        ("ok", {"fields": []}, "fields"),
        ("ok", {"fields": ["a", "b", "c", "d", "e"]}, "fields"),
        ("ok", {"fields": ["a..b"]}, "fields"),
        ("ok", {"fields": ["a b"]}, "fields"),
        ("ok", {"fields": ["a", "a"]}, "fields"),
        ("ok", {"fields": [1]}, "fields"),
        ("ok", {"fields": "status"}, "fields"),
        ("ok", {}, "fields"),
    ],
)
def test_bad_index_requests_are_422(
    client: httpx.Client, name: str, body: dict[str, Any], field: str
) -> None:
    coll = new_collection()
    response = client.put(f"/v1/collections/{coll}/indexes/{name}", json=body)
    problem = assert_problem(response, 422, "validation_failed")
    assert field in problem["detail"] or problem.get("field") == field, problem
    assert client.get(f"/v1/collections/{coll}/indexes").json() == {"items": []}


def test_bad_collection_and_non_admin(client: httpx.Client) -> None:
    bad = client.put("/v1/collections/bad%20name/indexes/ok", json={"fields": ["a"]})
    assert_problem(bad, 422, "validation_failed")
    created = client.post(
        "/v1/keys",
        json={"name": "rw", "permissions": ["read", "write"], "collections": ["*"]},
    )
    assert created.status_code == 201, created.text
    token = created.json()["token"]
    coll = new_collection()
    headers = {"Authorization": f"Bearer {token}"}
    url = f"/v1/collections/{coll}/indexes/ok"
    assert_problem(client.put(url, json={"fields": ["a"]}, headers=headers), 403, "forbidden")
    assert_problem(client.get(url, headers=headers), 403, "forbidden")
    assert_problem(client.delete(url, headers=headers), 403, "forbidden")
    assert client.get(f"/v1/collections/{coll}/indexes").json() == {"items": []}
