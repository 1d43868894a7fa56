"""Range reads through a real server: every bound combination, reverse, limit, keys_only,
cursor walks while other clients write, and hostile bounds that must stay in their collection."""

from __future__ import annotations

import base64
import itertools
import random
import threading
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import orjson
import pytest

from tests.helpers import assert_problem, read_range
from tests.server import ServerProcess

# UTF-8 byte order differs from UTF-16 order around U+FFFF: the contract says bytes.
KEYS = [
    "a",
    "a/1",
    "a/2",
    "a0",
    "ab",
    "b",
    "b/x",
    "ba",
    "c",
    "z",
    "~",
    "é",
    "日本",
    "\uffff",
    "\U0001f600",
]
BOUND_VALUES: dict[str, list[str | None]] = {
    "gt": [None, "a", "b/x"],
    "gte": [None, "a/1", "b"],
    "lt": [None, "é", "ba"],
    "lte": [None, "b", "\uffff"],
    "prefix": [None, "a", "b"],
}


def doc_url(collection: str, key: str) -> str:
    """The document's URL; `.` and `..` segments are escaped so clients do not resolve them."""
    segments = ["%2E" * len(s) if s in (".", "..") else quote(s, safe="") for s in key.split("/")]
    return f"/v1/collections/{collection}/docs/{'/'.join(segments)}"


def expected_keys(keys: list[str], bounds: dict[str, str], reverse: bool = False) -> list[str]:
    """The reference: filter by the bounds, order by UTF-8 bytes."""
    out = []
    for key in keys:
        raw = key.encode()
        if "prefix" in bounds and not key.startswith(bounds["prefix"]):
            continue
        if "gt" in bounds and not raw > bounds["gt"].encode():
            continue
        if "gte" in bounds and not raw >= bounds["gte"].encode():
            continue
        if "lt" in bounds and not raw < bounds["lt"].encode():
            continue
        if "lte" in bounds and not raw <= bounds["lte"].encode():
            continue
        out.append(key)
    return sorted(out, key=lambda k: k.encode(), reverse=reverse)


def all_bound_combinations() -> Iterator[dict[str, str]]:
    names = list(BOUND_VALUES)
    for values in itertools.product(*(BOUND_VALUES[n] for n in names)):
        yield {n: v for n, v in zip(names, values, strict=True) if v is not None}


@pytest.fixture(scope="module")
def populated(server: ServerProcess) -> str:
    collection = "r_" + uuid.uuid4().hex[:12]
    with server.client() as client:
        for key in KEYS:
            response = client.put(doc_url(collection, key), json={"k": key})
            assert response.status_code == 201, response.text
    return collection


def test_every_bound_combination_forward_and_reverse(client: httpx.Client, populated: str) -> None:
    checked = 0
    for bounds in all_bound_combinations():
        for reverse in (False, True):
            want = expected_keys(KEYS, bounds, reverse)
            params: dict[str, Any] = {**bounds, "reverse": reverse, "limit": 1000}
            response = client.get(f"/v1/collections/{populated}/docs", params=params)
            assert response.status_code == 200, response.text
            page = response.json()
            assert [item["key"] for item in page["items"]] == want, (bounds, reverse)
            assert page["next_cursor"] is None
            assert all(item["value"] == {"k": item["key"]} for item in page["items"])
            checked += 1
    assert checked == 2 * 3**5


def test_cursor_walks_match_single_pages_for_every_combination(
    client: httpx.Client, populated: str
) -> None:
    for index, bounds in enumerate(all_bound_combinations()):
        reverse = index % 2 == 1
        limit = 1 + index % 4
        items = read_range(client, populated, **bounds, reverse=reverse, limit=limit)
        assert [item["key"] for item in items] == expected_keys(KEYS, bounds, reverse), bounds


def test_limit_pages_and_the_last_cursor_is_null(client: httpx.Client, populated: str) -> None:
    url = f"/v1/collections/{populated}/docs"
    first = client.get(url, params={"limit": 4}).json()
    assert [i["key"] for i in first["items"]] == expected_keys(KEYS, {})[:4]
    assert isinstance(first["next_cursor"], str)
    everything = client.get(url, params={"limit": len(KEYS)}).json()
    assert len(everything["items"]) == len(KEYS)
    # Exactly `limit` items left: the page is full, but nothing follows it.
    assert everything["next_cursor"] is None
    default = client.get(url).json()
    assert len(default["items"]) == len(KEYS) and default["next_cursor"] is None


def test_keys_only_leaves_out_values(client: httpx.Client, populated: str) -> None:
    full = client.get(f"/v1/collections/{populated}/docs", params={"prefix": "a"}).json()
    bare = client.get(
        f"/v1/collections/{populated}/docs", params={"prefix": "a", "keys_only": True}
    ).json()
    assert [i["key"] for i in bare["items"]] == expected_keys(KEYS, {"prefix": "a"})
    for with_value, without in zip(full["items"], bare["items"], strict=True):
        assert "value" not in without
        assert without == {k: v for k, v in with_value.items() if k != "value"}
        assert without["collection"] == populated


def test_empty_and_inverted_ranges(client: httpx.Client, populated: str) -> None:
    url = f"/v1/collections/{populated}/docs"
    for params in (
        {"gt": "z", "lt": "a"},
        {"gte": "b", "lte": "a"},
        {"gt": "b", "lte": "b"},
        {"prefix": "q"},
        {"prefix": "a", "gte": "b"},
        {"prefix": "b", "lt": "a"},
    ):
        for reverse in (False, True):
            page = client.get(url, params={**params, "reverse": reverse}).json()
            assert page == {"items": [], "next_cursor": None}, params
    both = client.get(url, params={"gte": "b", "lte": "b"}).json()
    assert [i["key"] for i in both["items"]] == ["b"]


def test_cursor_walk_visits_every_key_once_while_others_write(
    server: ServerProcess, client: httpx.Client, coll: str
) -> None:
    stable = [f"k{i:04d}" for i in range(0, 400, 2)]
    volatile = [f"k{i:04d}" for i in range(1, 400, 2)]
    batch = [{"op": "put", "collection": coll, "key": k, "value": {"k": k}} for k in stable]
    assert client.post("/v1/batch", json={"ops": batch}).status_code == 200
    stop = threading.Event()
    errors: list[str] = []

    def writer(seed: int) -> None:
        rng = random.Random(seed)
        with server.client() as own:
            while not stop.is_set():
                roll = rng.random()
                if roll < 0.4:
                    key = rng.choice(volatile)
                    response = own.put(doc_url(coll, key), json={"k": key})
                    ok = response.status_code in (200, 201)
                elif roll < 0.7:
                    response = own.delete(doc_url(coll, rng.choice(volatile)))
                    ok = response.status_code in (204, 404)
                else:
                    key = rng.choice(stable)
                    response = own.put(doc_url(coll, key), json={"k": key, "n": rng.random()})
                    ok = response.status_code == 200
                if not ok:
                    errors.append(response.text)

    threads = [threading.Thread(target=writer, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    try:
        for walk in range(6):
            reverse = walk % 2 == 1
            items = read_range(client, coll, limit=7, reverse=reverse, keys_only=walk % 3 == 0)
            seen = [item["key"] for item in items]
            ordered = sorted(seen, reverse=reverse)
            assert seen == ordered and len(set(seen)) == len(seen), "out of order or repeated"
            assert set(stable) <= set(seen), set(stable) - set(seen)
            assert set(seen) <= set(stable) | set(volatile)
            assert all(item["collection"] == coll for item in items)
            if walk % 3 != 0:
                assert all(item["value"]["k"] == item["key"] for item in items)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert not errors


NEIGHBOUR_SUFFIXES = ["", "s", "_", "-", ".x", "s.y", "0"]
HOSTILE_KEYS = [
    "k",
    "a/../../other/docs/k",
    "../x",
    "docs/k",
    "%00",
    "\\",
    " ",
    "\x80",
    "\U0010ffff",
    "\U0010ffff" * 128,
]


@pytest.fixture
def neighbours(client: httpx.Client, coll: str) -> list[str]:
    """Collections that are prefixes of each other (`user`, `users`, ...), same keys in each."""
    names = [coll[:-1]] + [coll + suffix for suffix in NEIGHBOUR_SUFFIXES]
    ops = [
        {"op": "put", "collection": name, "key": key, "value": {"in": name}}
        for name in names
        for key in HOSTILE_KEYS
    ]
    response = client.post("/v1/batch", json={"ops": ops})
    assert response.status_code == 200, response.text
    return names


def test_hostile_bounds_never_leave_the_collection(
    client: httpx.Client, neighbours: list[str]
) -> None:
    hostile: list[dict[str, str]] = [
        {},
        {"gte": " "},
        {"gt": " "},
        {"lte": "\U0010ffff" * 128},
        {"lt": "\U0010ffff"},
        {"gte": " ", "lte": "\U0010ffff" * 128},
        {"prefix": " "},
        {"prefix": "\U0010ffff"},
        {"prefix": ".."},
        {"prefix": "/"},
        {"gt": "\U0010ffff" * 128},
        {"lt": " "},
        {"gte": "\U0010ffff" * 128, "lte": " "},
        {"prefix": "a/../../"},
        {"gt": "ÿÿ"},
    ]
    for name in neighbours:
        for bounds in hostile:
            for reverse in (False, True):
                # keys_only takes another path through the reader: cover it too.
                items = read_range(
                    client, name, **bounds, reverse=reverse, keys_only=reverse, limit=4
                )
                assert all(item["collection"] == name for item in items), (name, bounds)
                if not reverse:
                    assert all(item["value"] == {"in": name} for item in items)
                want = expected_keys(HOSTILE_KEYS, bounds, reverse)
                assert [i["key"] for i in items] == want, (name, bounds)


def test_hostile_keys_are_stored_in_their_own_collection(
    client: httpx.Client, neighbours: list[str]
) -> None:
    for name in neighbours:
        for key in HOSTILE_KEYS:
            response = client.get(doc_url(name, key))
            assert response.status_code == 200, (name, key)
            assert response.json()["collection"] == name and response.json()["key"] == key
            assert response.json()["value"] == {"in": name}
    counts = {c["name"]: c["count"] for c in client.get("/v1/collections").json()["items"]}
    for name in neighbours:
        assert counts[name] == len(HOSTILE_KEYS)


def test_invalid_bounds_are_refused(client: httpx.Client, coll: str) -> None:
    client.put(doc_url(coll, "k"), json=1)
    url = f"/v1/collections/{coll}/docs"
    for params in (
        {"gt": ""},
        {"prefix": ""},
        {"gte": "a\x00"},
        {"lt": "\x1f"},
        {"lte": "x\x7f"},
        {"prefix": "a" * 513},
        {"limit": 0},
        {"limit": 1001},
        {"reverse": "sideways"},
    ):
        assert_problem(client.get(url, params=params), 422, "validation_failed")


def forged(payload: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(payload)).decode().rstrip("=")


def test_bad_cursors_are_400(client: httpx.Client, populated: str, coll: str) -> None:
    url = f"/v1/collections/{populated}/docs"
    forward = client.get(url, params={"limit": 2}).json()["next_cursor"]
    backward = client.get(url, params={"limit": 2, "reverse": True}).json()["next_cursor"]
    assert forward and backward
    client.put(doc_url(coll, "k"), json=1)
    bad = [
        "!!!not-base64!!!",
        "a",
        base64.urlsafe_b64encode(b"not json").decode(),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        forged([1, 2, 3]),
        forged({"c": populated}),
        forged({"c": populated, "k": 7, "r": False}),
        forged({"c": populated, "k": None, "r": False}),
        forged({"c": populated, "k": "a\x00b", "r": False}),
        forged({"c": populated, "k": "a" * 600, "r": False}),
        forged({"c": populated, "k": "", "r": False}),
    ]
    for cursor in bad:
        assert_problem(client.get(url, params={"cursor": cursor}), 400, "bad_request")
    # A cursor belongs to its collection and direction.
    assert_problem(client.get(url, params={"cursor": backward}), 400, "bad_request")
    assert_problem(client.get(url, params={"cursor": forward, "reverse": True}), 400, "bad_request")
    other = f"/v1/collections/{coll}/docs"
    assert_problem(client.get(other, params={"cursor": forward}), 400, "bad_request")
    assert_problem(client.get(url, params={"cursor": "x" * 3000}), 422, "validation_failed")


def test_query_spellings_read_as_fastapi_reads_them(client: httpx.Client, populated: str) -> None:
    """Range reads take a fast path that parses the query itself and hands anything
    unusual to FastAPI: both must read every spelling the same way."""
    url = f"/v1/collections/{populated}/docs"
    everything = expected_keys(KEYS, {})

    def keys(query: str) -> list[str]:
        response = client.get(f"{url}?{query}")
        assert response.status_code == 200, (query, response.text)
        return [item["key"] for item in response.json()["items"]]

    # Plain spellings (the fast path) and FastAPI's other boolean spellings agree.
    for spelling in ("true", "1", "yes", "on", "True"):
        assert keys(f"reverse={spelling}&limit=3") == everything[::-1][:3], spelling
    for spelling in ("false", "0", "no", "off"):
        assert keys(f"reverse={spelling}&limit=3") == everything[:3], spelling
    # A repeated name: the last value wins; unknown names are ignored.
    assert keys("limit=5&limit=2&colour=blue") == everything[:2]
    assert keys("limit=02") == everything[:2]
    assert keys("limit=1000") == everything
    # Percent-encoded UTF-8 bounds.
    assert keys(f"gte={quote('日本')}") == expected_keys(KEYS, {"gte": "日本"})
    for query in ("limit=abc", "limit=-1", "limit=1e2", "limit=", "keys_only=maybe"):
        assert_problem(client.get(f"{url}?{query}"), 422, "validation_failed")
