"""`POST /v1/batch` through a real server: all or nothing, consecutive seqs, result shapes."""

from __future__ import annotations

import threading
from typing import Any

import httpx

from tests.helpers import assert_problem, head_seq, read_changes
from tests.server import ServerProcess


def put(coll: str, key: str, value: Any, **extra: Any) -> dict[str, Any]:
    return {"op": "put", "collection": coll, "key": key, "value": value, **extra}


def assert_nothing_written(client: httpx.Client, before: int, coll: str, keys: list[str]) -> None:
    assert head_seq(client) == before
    for key in keys:
        assert client.get(f"/v1/collections/{coll}/docs/{key}").status_code == 404


def test_failing_if_rev_at_op_5_writes_nothing(client: httpx.Client, coll: str) -> None:
    rev = client.put(f"/v1/collections/{coll}/docs/guarded", json={"v": 0}).json()["rev"]
    before = head_seq(client)
    ops = [put(coll, f"k{i}", {"i": i}) for i in range(5)]
    ops.append(put(coll, "guarded", {"v": 1}, if_rev=rev + 1))
    ops += [put(coll, f"k{i}", {"i": i}) for i in range(5, 8)]
    problem = assert_problem(
        client.post("/v1/batch", json={"ops": ops}), 412, "precondition_failed"
    )
    assert problem["op_index"] == 5
    assert_nothing_written(client, before, coll, [f"k{i}" for i in range(8)])
    assert client.get(f"/v1/collections/{coll}/docs/guarded").json()["value"] == {"v": 0}
    # The same batch with the right rev goes through whole.
    ops[5]["if_rev"] = rev
    assert client.post("/v1/batch", json={"ops": ops}).status_code == 200
    assert client.get(f"/v1/collections/{coll}/docs/guarded").json()["value"] == {"v": 1}


def test_an_invalid_op_refuses_the_whole_batch(client: httpx.Client, coll: str) -> None:
    before = head_seq(client)
    bad_ops: list[dict[str, Any]] = [
        put("bad/name", "k", 1),
        put(coll, "a\x00b", 1),
        put(coll, "x" * 600, 1),
        put(coll, "k", None),
        {"op": "upsert", "collection": coll, "key": "k", "value": 1},
        {"op": "put", "collection": coll, "key": "k"},
        {"op": "patch", "collection": coll, "key": "k"},
        put(coll, "k", 1, if_rev="12"),
        put(coll, "k", 1, if_rev=-1),
        put(coll, "k", 1, ttl_s=0),
        put(coll, "k", 1, surprise=True),
        {"op": "delete", "collection": coll},
        "not an object",
    ]
    for bad in bad_ops:
        ops = [put(coll, f"k{i}", i) for i in range(3)] + [bad]
        problem = assert_problem(
            client.post("/v1/batch", json={"ops": ops}), 422, "validation_failed"
        )
        assert problem["op_index"] == 3, bad
    assert_nothing_written(client, before, coll, ["k0", "k1", "k2", "k"])


def test_delete_of_a_missing_document_is_404_and_writes_nothing(
    client: httpx.Client, coll: str
) -> None:
    before = head_seq(client)
    ops = [put(coll, "a", 1), put(coll, "b", 2), {"op": "delete", "collection": coll, "key": "zz"}]
    problem = assert_problem(client.post("/v1/batch", json={"ops": ops}), 404, "not_found")
    assert problem["op_index"] == 2
    assert_nothing_written(client, before, coll, ["a", "b"])
    patch_missing = [
        put(coll, "a", 1),
        {"op": "patch", "collection": coll, "key": "zz", "value": {}},
    ]
    problem = assert_problem(
        client.post("/v1/batch", json={"ops": patch_missing}), 404, "not_found"
    )
    assert problem["op_index"] == 1
    assert_nothing_written(client, before, coll, ["a"])


def test_a_one_op_batch_still_names_its_op(client: httpx.Client, coll: str) -> None:
    before = head_seq(client)
    missing = {"ops": [{"op": "delete", "collection": coll, "key": "zz"}]}
    problem = assert_problem(client.post("/v1/batch", json=missing), 404, "not_found")
    assert problem["op_index"] == 0
    stale = {"ops": [put(coll, "k", 1, if_rev=10**12)]}
    problem = assert_problem(client.post("/v1/batch", json=stale), 412, "precondition_failed")
    assert problem["op_index"] == 0
    assert head_seq(client) == before


def test_ops_get_consecutive_seqs_and_results_have_the_contract_shape(
    client: httpx.Client, coll: str
) -> None:
    client.put(f"/v1/collections/{coll}/docs/old", json={"a": 1, "b": 2})
    client.put(f"/v1/collections/{coll}/docs/gone", json=1)
    ops = [
        put(coll, "n1", {"x": 1}),
        {"op": "patch", "collection": coll, "key": "old", "value": {"b": None, "c": 3}},
        {"op": "delete", "collection": coll, "key": "gone"},
        put(coll, "n2", [1, 2]),
        put(coll, "n1", "replaced"),
    ]
    response = client.post("/v1/batch", json={"ops": ops})
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"results", "seq"}
    results, last = body["results"], body["seq"]
    assert len(results) == len(ops)
    assert [r.get("rev") for r in results] == [last - 4, last - 3, None, last - 1, last]
    assert results[2] == {"collection": coll, "key": "gone", "deleted": True}
    for result, op in zip(results, ops, strict=True):
        assert result["collection"] == coll and result["key"] == op["key"]
        if op["op"] != "delete":
            assert set(result) >= {"value", "rev", "created_at", "updated_at"}
    assert results[0]["value"] == {"x": 1}
    assert results[1]["value"] == {"a": 1, "c": 3}
    assert results[4]["value"] == "replaced"
    # Later ops see earlier ones: n1 was created then replaced in the same batch.
    assert results[4]["created_at"] == results[0]["created_at"]
    assert client.get(f"/v1/collections/{coll}/docs/n1").json() == results[4]
    assert client.get(f"/v1/collections/{coll}/docs/gone").status_code == 404

    changes = read_changes(client, coll, since=last - 5)
    assert [c["seq"] for c in changes] == list(range(last - 4, last + 1))
    assert [c["op"] for c in changes] == ["put", "put", "delete", "put", "put"]
    assert changes[2]["value"] is None and changes[2]["rev"] == last - 2
    assert changes[4]["prev_rev"] == last - 4


def test_1000_ops_pass_and_1001_are_refused(client: httpx.Client, coll: str) -> None:
    before = head_seq(client)
    too_many = [put(coll, f"k{i:04d}", i) for i in range(1001)]
    response = client.post("/v1/batch", json={"ops": too_many})
    assert 400 <= response.status_code < 500
    assert response.headers["content-type"].startswith("application/problem+json")
    assert head_seq(client) == before
    response = client.post("/v1/batch", json={"ops": too_many[:1000]})
    assert response.status_code == 200
    assert response.json()["seq"] == before + 1000
    assert_problem(client.post("/v1/batch", json={"ops": []}), 422, "validation_failed")
    assert_problem(client.post("/v1/batch", json={"op": "put"}), 422, "validation_failed")
    assert_problem(client.post("/v1/batch", json=[put(coll, "k", 1)]), 422, "validation_failed")


def test_unknown_op_is_422(client: httpx.Client, coll: str) -> None:
    before = head_seq(client)
    for name in ("frobnicate", "PUT", "create", "expire", None, 3):
        ops = [{"op": name, "collection": coll, "key": "k", "value": 1}]
        problem = assert_problem(
            client.post("/v1/batch", json={"ops": ops}), 422, "validation_failed"
        )
        assert problem["op_index"] == 0
    assert head_seq(client) == before


def test_a_batch_is_contiguous_in_the_change_log_under_concurrent_writes(
    server: ServerProcess, client: httpx.Client, coll: str
) -> None:
    since = head_seq(client)
    stop = threading.Event()

    def single_writer(n: int) -> None:
        with server.client() as own:
            i = 0
            while not stop.is_set():
                own.put(f"/v1/collections/{coll}/docs/single-{n}-{i % 5}", json=i)
                i += 1

    threads = [threading.Thread(target=single_writer, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    batches: list[tuple[int, list[str]]] = []
    try:
        for b in range(15):
            keys = [f"batch-{b}-{i}" for i in range(20)]
            ops = [put(coll, key, {"b": b}) for key in keys]
            response = client.post("/v1/batch", json={"ops": ops})
            assert response.status_code == 200
            batches.append((response.json()["seq"], keys))
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    by_seq = {c["seq"]: c for c in read_changes(client, coll, since=since)}
    assert sorted(by_seq) == list(range(since + 1, since + 1 + len(by_seq)))
    for last, keys in batches:
        run = [by_seq[seq] for seq in range(last - 19, last + 1)]
        assert [c["key"] for c in run] == keys
        assert all(c["op"] == "put" and c["rev"] == c["seq"] for c in run)
