"""`GET /v1/changes` through a real server: paging semantics, filters, long-poll, retention."""

from __future__ import annotations

import re
import threading
import time
from typing import Any

import httpx

from tests.helpers import assert_problem, head_seq, read_changes
from tests.server import ServerProcess

TS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def changes(client: httpx.Client, **params: Any) -> dict[str, Any]:
    response = client.get("/v1/changes", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    page: dict[str, Any] = response.json()
    assert set(page) == {"changes", "last_seq", "head_seq", "epoch"}
    assert page["epoch"] == response.headers["x-levelstream-epoch"]
    return page


def test_since_limit_last_seq_and_head_seq(client: httpx.Client, coll: str) -> None:
    since = head_seq(client)
    revs = [client.put(f"/v1/collections/{coll}/docs/k{i}", json=i).json()["rev"] for i in range(5)]
    assert revs == list(range(since + 1, since + 6))

    page = changes(client, collection=coll, since=since)
    assert [c["seq"] for c in page["changes"]] == revs
    assert page["head_seq"] == since + 5
    assert page["last_seq"] == page["head_seq"]  # fewer than limit matched

    # Paging: last_seq is the last change returned while pages are full.
    first = changes(client, collection=coll, since=since, limit=2)
    assert [c["seq"] for c in first["changes"]] == revs[:2]
    assert first["last_seq"] == revs[1] and first["head_seq"] == since + 5
    second = changes(client, collection=coll, since=first["last_seq"], limit=2)
    assert [c["seq"] for c in second["changes"]] == revs[2:4]
    third = changes(client, collection=coll, since=second["last_seq"], limit=2)
    assert [c["seq"] for c in third["changes"]] == revs[4:]
    assert third["last_seq"] == third["head_seq"]
    done = changes(client, collection=coll, since=third["last_seq"], limit=2)
    assert done["changes"] == [] and done["last_seq"] == done["head_seq"]

    # Another collection's writes move head_seq; last_seq follows when nothing more matched.
    client.put(f"/v1/collections/{coll}x/docs/other", json=1)
    after = changes(client, collection=coll, since=since)
    assert [c["seq"] for c in after["changes"]] == revs
    assert after["head_seq"] == since + 6 and after["last_seq"] == since + 6


def test_without_since_only_later_changes(client: httpx.Client, coll: str) -> None:
    client.put(f"/v1/collections/{coll}/docs/before", json=1)
    page = changes(client, collection=coll)
    assert page["changes"] == []
    assert page["last_seq"] == page["head_seq"] == head_seq(client)


def test_change_shapes_for_create_replace_patch_delete(client: httpx.Client, coll: str) -> None:
    since = head_seq(client)
    url = f"/v1/collections/{coll}/docs/t-1"
    created = client.put(url, json={"title": "Printer", "n": 1}).json()["rev"]
    replaced = client.put(url, json={"title": "Scanner", "n": 1}).json()["rev"]
    patched = client.patch(url, json={"n": None, "done": True}).json()["rev"]
    assert client.delete(url).status_code == 204
    log = changes(client, collection=coll, since=since)["changes"]
    assert len(log) == 4
    for change in log:
        assert change["rev"] == change["seq"] and change["collection"] == coll
        assert change["key"] == "t-1" and TS.fullmatch(change["ts"])
        assert "reason" not in change
    assert log[0] | {"ts": None} == {
        "seq": created,
        "op": "put",
        "collection": coll,
        "key": "t-1",
        "value": {"title": "Printer", "n": 1},
        "rev": created,
        "prev_rev": None,
        "ts": None,
    }
    assert log[1]["op"] == "put" and log[1]["prev_rev"] == created
    assert log[2]["op"] == "put" and log[2]["seq"] == patched and log[2]["prev_rev"] == replaced
    assert log[2]["value"] == {"title": "Scanner", "done": True}
    assert log[3]["op"] == "delete" and log[3]["value"] is None and log[3]["prev_rev"] == patched


def test_filters_key_prefix_range_and_star(client: httpx.Client, coll: str) -> None:
    other = coll + "-b"
    since = head_seq(client)
    keys = ["a/1", "a/2", "b", "b/1", "c", "a/1"]
    for key in keys:
        client.put(f"/v1/collections/{coll}/docs/{key}", json={"k": key})
        client.put(f"/v1/collections/{other}/docs/{key}", json={"k": key})
    client.delete(f"/v1/collections/{coll}/docs/a/2")

    def keys_of(**flt: Any) -> list[str]:
        return [c["key"] for c in read_changes(client, coll, since=since, **flt)]

    assert keys_of() == [*keys, "a/2"]
    assert keys_of(key="a/1") == ["a/1", "a/1"]
    assert keys_of(prefix="a/") == ["a/1", "a/2", "a/1", "a/2"]
    assert keys_of(gte="b", lt="c") == ["b", "b/1"]
    assert keys_of(gt="a/2") == ["b", "b/1", "c"]
    assert keys_of(lte="a/2") == ["a/1", "a/2", "a/1", "a/2"]
    assert keys_of(key="nope") == []

    everything = read_changes(client, "*", since=since)
    seqs = [c["seq"] for c in everything]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    mine = [(c["collection"], c["key"]) for c in everything if c["collection"] in (coll, other)]
    expected = [(name, key) for key in keys for name in (coll, other)] + [(coll, "a/2")]
    assert mine == expected
    star_prefix = read_changes(client, "*", since=since, prefix="b/")
    assert [(c["collection"], c["key"]) for c in star_prefix] == [(coll, "b/1"), (other, "b/1")]


def test_at_most_one_filter_kind(client: httpx.Client, coll: str) -> None:
    for params in (
        {"key": "a", "prefix": "a"},
        {"key": "a", "gt": "a"},
        {"prefix": "a", "lte": "b"},
        {"key": "a", "prefix": "b", "gte": "c"},
    ):
        assert_problem(
            client.get("/v1/changes", params={"collection": coll, "since": 0, **params}),
            422,
            "validation_failed",
        )
    # One range with several bounds is one filter kind.
    assert client.get("/v1/changes", params={"collection": coll, "gt": "a", "lt": "b"}).is_success


def test_bad_since_wait_limit_and_collection(client: httpx.Client, coll: str) -> None:
    head = head_seq(client)
    ahead = assert_problem(
        client.get("/v1/changes", params={"collection": coll, "since": head + 1}),
        400,
        "bad_request",
    )
    assert ahead["head_seq"] == head
    assert_problem(
        client.get("/v1/changes", params={"collection": coll, "since": 2**63 - 1}),
        400,
        "bad_request",
    )
    # Even a long-poll answers a future cursor at once, never with a silent live stream.
    started = time.monotonic()
    assert_problem(
        client.get("/v1/changes", params={"collection": coll, "since": head + 5, "wait": 30}),
        400,
        "bad_request",
    )
    assert time.monotonic() - started < 10
    for params in (
        {"since": "abc"},
        {"since": -1},
        {"since": 2**63},
        {"since": 10**30},
        {"since": "1.5"},
        {"since": ""},
        {"wait": 61},
        {"wait": -1},
        {"wait": "soon"},
        {"limit": 0},
        {"limit": 1001},
        {"collection": "bad/name"},
        {"collection": "-x"},
        {"collection": None},
        {"key": ""},
        {"prefix": "a\x00"},
    ):
        query = {"collection": coll, **params}
        query = {k: v for k, v in query.items() if v is not None}
        assert_problem(client.get("/v1/changes", params=query), 422, "validation_failed")


def poll_in_thread(
    server: ServerProcess, params: dict[str, Any]
) -> tuple[threading.Thread, dict[str, Any]]:
    result: dict[str, Any] = {}

    def run() -> None:
        with server.client() as own:
            started = time.monotonic()
            result["response"] = own.get("/v1/changes", params=params)
            result["elapsed"] = time.monotonic() - started

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


def test_long_poll_wakes_on_a_write(server: ServerProcess, client: httpx.Client, coll: str) -> None:
    since = head_seq(client)
    thread, result = poll_in_thread(server, {"collection": coll, "since": since, "wait": 30})
    time.sleep(0.5)
    assert thread.is_alive(), "the long-poll answered before anything was written"
    rev = client.put(f"/v1/collections/{coll}/docs/wake", json={"up": True}).json()["rev"]
    thread.join(35)
    response = result["response"]
    assert response.status_code == 200
    assert [c["seq"] for c in response.json()["changes"]] == [rev]
    # Generous: it must answer on the write, far sooner than the 30 s wait.
    assert result["elapsed"] < 10


def test_long_poll_without_since_waits_for_the_next_change(
    server: ServerProcess, client: httpx.Client, coll: str
) -> None:
    client.put(f"/v1/collections/{coll}/docs/old", json=1)
    thread, result = poll_in_thread(server, {"collection": coll, "wait": 30})
    time.sleep(0.5)
    rev = client.put(f"/v1/collections/{coll}/docs/new", json=2).json()["rev"]
    thread.join(35)
    assert [c["key"] for c in result["response"].json()["changes"]] == ["new"]
    assert result["response"].json()["changes"][0]["seq"] == rev
    assert result["elapsed"] < 10


def test_long_poll_ignores_other_collections_and_answers_empty_after_the_wait(
    server: ServerProcess, client: httpx.Client, coll: str
) -> None:
    since = head_seq(client)
    thread, result = poll_in_thread(server, {"collection": coll, "since": since, "wait": 1.0})
    time.sleep(0.3)
    client.put(f"/v1/collections/{coll}-other/docs/k", json=1)
    thread.join(20)
    page = result["response"].json()
    assert result["response"].status_code == 200 and page["changes"] == []
    assert page["last_seq"] == page["head_seq"] == since + 1
    assert result["elapsed"] >= 0.9

    started = time.monotonic()
    quiet = changes(client, collection=coll, since=page["last_seq"], wait=0.5)
    assert quiet["changes"] == [] and time.monotonic() - started >= 0.45


def test_long_poll_with_pending_changes_answers_at_once(client: httpx.Client, coll: str) -> None:
    since = head_seq(client)
    client.put(f"/v1/collections/{coll}/docs/k", json=1)
    started = time.monotonic()
    page = changes(client, collection=coll, since=since, wait=30)
    assert len(page["changes"]) == 1 and time.monotonic() - started < 10


def test_epoch_is_per_database(server: ServerProcess, fresh_server: ServerProcess) -> None:
    with server.client() as shared:
        shared_epoch = changes(shared, collection="*")["epoch"]
    fresh_server.start()
    with fresh_server.client() as fresh:
        epoch = changes(fresh, collection="*")["epoch"]
        assert epoch and epoch != shared_epoch
        assert fresh.get("/healthz").headers["x-levelstream-epoch"] == epoch
    fresh_server.restart()
    with fresh_server.client() as fresh:
        assert changes(fresh, collection="*")["epoch"] == epoch


def test_retention_gives_history_compacted(fresh_server: ServerProcess) -> None:
    fresh_server.env.update(
        LEVELSTREAM_RETENTION_CHANGES="10", LEVELSTREAM_MAINTENANCE_INTERVAL_S="0.2"
    )
    fresh_server.start()
    with fresh_server.client() as client:
        for i in range(50):
            assert client.put(f"/v1/collections/c/docs/k{i}", json=i).status_code == 201
        # The trimmer may run while the writes go on: wait until it has caught up with
        # the head, i.e. only the last 10 of the 50 changes are left.
        deadline = time.monotonic() + 15
        while True:
            response = client.get("/v1/changes", params={"collection": "c", "since": 0})
            caught_up = response.status_code == 410 and response.json()["oldest_seq"] == 41
            if caught_up or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        problem = assert_problem(response, 410, "history_compacted")
        oldest = problem["oldest_seq"]
        assert oldest == 41
        for flt in ({"collection": "c"}, {"collection": "*"}, {"collection": "c", "key": "k0"}):
            gone = client.get("/v1/changes", params={**flt, "since": oldest - 2})
            assert assert_problem(gone, 410, "history_compacted")["oldest_seq"] == oldest
            page = changes(client, **flt, since=oldest - 1)
            if "key" not in flt:
                assert [c["seq"] for c in page["changes"]] == list(range(oldest, 51))
        # A long-poll below the floor is refused at once too.
        assert_problem(
            client.get("/v1/changes", params={"collection": "c", "since": 0, "wait": 30}),
            410,
            "history_compacted",
        )
        # Documents are untouched by log retention.
        assert client.get("/v1/collections/c/docs/k0").json()["value"] == 0
    fresh_server.restart()
    with fresh_server.client() as client:
        gone = client.get("/v1/changes", params={"collection": "c", "since": 0})
        assert assert_problem(gone, 410, "history_compacted")["oldest_seq"] >= oldest
