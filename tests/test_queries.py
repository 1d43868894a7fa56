"""`where`, `order_by` and `explain` on range reads through a real server, on both stores:
every operator of the language, the key bounds, cursors, the scan budget and its
`needs_index` refusal, and a property test of cursor walks while another client writes."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.cluster_support import store_env
from tests.helpers import assert_problem, read_range
from tests.server import ServerProcess

MAX_SCAN = 60

DOCS: dict[str, Any] = {
    "a1": {"status": "open", "owner": "u1", "n": 1, "tags": ["x", "y"], "title": "Re: printer"},
    "a2": {"status": "closed", "owner": "u2", "n": 2.5, "tags": [], "title": "scanner"},
    "a3": {"status": "open", "owner": "u2", "n": 10, "public": True, "title": "Printer jam"},
    "b1": {"status": "pending", "n": -3, "tags": ["y"], "title": "fax", "meta": {"p": 2}},
    "b2": {"status": None, "owner": "u1", "n": "7", "title": "re: fax"},
    "c1": 42,
    "c2": ["list"],
}

# (where, the keys it matches): every operator and function of the language.
CASES = [
    ('doc.status == "open"', "a1 a3"),
    ('doc.status != "open"', "a2 b1 b2"),  # a missing field is no match, null is a value
    ("doc.n < 2", "a1 b1"),  # "7" is a string: no order against a number
    ("doc.n <= 2.5", "a1 a2 b1"),
    ("doc.n > 2", "a2 a3"),
    ("doc.n >= 10", "a3"),
    ('doc.status == "open" && doc.owner == "u2"', "a3"),
    ('doc.status == "pending" || doc.owner == "u1"', "a1 b1 b2"),
    ('!(doc.status == "open")', "a2 b1 b2"),
    ('doc.status in ["open", "pending"]', "a1 a3 b1"),
    ('"y" in doc.tags', "a1 b1"),
    ("has(doc.public)", "a3"),
    ("doc.tags.size() > 0", "a1 b1"),
    ("size(doc.title) == 3", "b1"),
    ('doc.title.startsWith("Re")', "a1"),
    ('doc.title.endsWith("fax")', "b1 b2"),
    ('doc.title.contains("rint")', "a1 a3"),
    ("int(doc.n) == 7", "b2"),
    ("double(doc.n) == 2.5", "a2"),
    ('string(doc.n) == "10"', "a3"),
    ('key.startsWith("b")', "b1 b2"),
    ("rev > 0", "a1 a2 a3 b1 b2 c1 c2"),
    ("doc.meta.p == 2", "b1"),
    ("doc == 42", "c1"),
    ("doc.status == null", "b2"),
]


@pytest.fixture(scope="module")
def qserver(tmp_path_factory: pytest.TempPathFactory, store_kind: str) -> Iterator[ServerProcess]:
    """A server whose filtered pages examine at most MAX_SCAN documents."""
    with store_env(store_kind) as env:
        data = tmp_path_factory.mktemp(f"queries-{store_kind}") / "data"
        proc = ServerProcess(data, LEVELSTREAM_MAX_SCAN=str(MAX_SCAN), **env).start()
        yield proc
        proc.stop()


@pytest.fixture
def qc(qserver: ServerProcess) -> Iterator[httpx.Client]:
    with qserver.client() as client:
        yield client


def new_collection() -> str:
    return "q_" + uuid.uuid4().hex[:12]


def put_all(client: httpx.Client, collection: str, docs: dict[str, Any]) -> None:
    items = list(docs.items())
    for start in range(0, len(items), 1000):
        ops = [
            {"op": "put", "collection": collection, "key": key, "value": value}
            for key, value in items[start : start + 1000]
        ]
        response = client.post("/v1/batch", json={"ops": ops})
        assert response.status_code == 200, response.text


def create_index(client: httpx.Client, collection: str, name: str, fields: list[str]) -> None:
    response = client.put(f"/v1/collections/{collection}/indexes/{name}", json={"fields": fields})
    assert response.status_code == 201, response.text
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        state = client.get(f"/v1/collections/{collection}/indexes/{name}").json()
        if state["state"] == "ready":
            return
        time.sleep(0.05)
    raise AssertionError(f"index {name} not ready: {state}")


def keys_of(items: list[dict[str, Any]]) -> list[str]:
    return [item["key"] for item in items]


def explain(client: httpx.Client, collection: str, **params: Any) -> dict[str, Any]:
    response = client.get(f"/v1/collections/{collection}/docs", params={**params, "explain": True})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


@pytest.fixture(scope="module")
def operators_collection(qserver: ServerProcess) -> str:
    collection = new_collection()
    with qserver.client() as client:
        put_all(client, collection, DOCS)
    return collection


@pytest.mark.parametrize(("where", "expected"), CASES)
def test_where_operators(
    qc: httpx.Client, operators_collection: str, where: str, expected: str
) -> None:
    assert keys_of(read_range(qc, operators_collection, where=where)) == expected.split()


def test_where_combines_with_bounds_limit_reverse_cursor_keys_only(
    qc: httpx.Client, operators_collection: str
) -> None:
    where = 'doc.status != "closed"'  # a1 a3 b1 b2
    coll = operators_collection
    assert keys_of(read_range(qc, coll, where=where, prefix="a")) == ["a1", "a3"]
    assert keys_of(read_range(qc, coll, where=where, gt="a1", lt="b2")) == ["a3", "b1"]
    assert keys_of(read_range(qc, coll, where=where, limit=1)) == ["a1", "a3", "b1", "b2"]
    walked = read_range(qc, coll, where=where, limit=1, reverse=True)
    assert keys_of(walked) == ["b2", "b1", "a3", "a1"]
    items = read_range(qc, coll, where=where, keys_only=True, lte="a3")
    assert keys_of(items) == ["a1", "a3"] and all("value" not in item for item in items)
    page = qc.get(f"/v1/collections/{coll}/docs", params={"where": where, "limit": 2}).json()
    assert keys_of(page["items"]) == ["a1", "a3"] and page["next_cursor"]


def test_explain_without_index(qc: httpx.Client, operators_collection: str) -> None:
    result = explain(qc, operators_collection, where='doc.owner == "u1"')
    assert result == {"index": None, "scanned": len(DOCS), "returned": 2}
    assert explain(qc, operators_collection, where="doc.n > 2", limit=1) == {
        "index": None,
        "scanned": 2,  # a1 no, a2 yes: the page is full
        "returned": 1,
    }


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"where": "doc.status == "}, "where"),
        ({"where": "user.id == 1"}, "where"),
        ({"where": "doc.a + 1 == 2"}, "where"),
        ({"where": "'open'"}, "where"),  # not a condition
        ({"where": "x" * 5000}, "where"),
        ({"order_by": "a..b"}, "order_by"),
        ({"order_by": "a b"}, "order_by"),
        ({"order_by": "status"}, "order_by"),  # no index on it
        ({"limit": 0, "where": "true"}, "limit"),
    ],
)
def test_bad_queries_are_422_naming_the_field(
    qc: httpx.Client, operators_collection: str, params: dict[str, Any], field: str
) -> None:
    response = qc.get(f"/v1/collections/{operators_collection}/docs", params=params)
    problem = assert_problem(response, 422, "validation_failed")
    assert problem["detail"].startswith(f"{field}:") or problem.get("field") == field, problem
    if "where" in params and field == "where" and len(params["where"]) < 100:
        assert "offset" in problem, problem


def test_cursor_of_another_plan_is_400(qc: httpx.Client) -> None:
    coll = new_collection()
    put_all(qc, coll, {f"k{i}": {"s": "x"} for i in range(5)})
    page = qc.get(f"/v1/collections/{coll}/docs", params={"where": 'doc.s == "x"', "limit": 2})
    cursor = page.json()["next_cursor"]
    create_index(qc, coll, "by_s", ["s"])
    again = qc.get(
        f"/v1/collections/{coll}/docs", params={"where": 'doc.s == "x"', "cursor": cursor}
    )
    assert_problem(again, 400, "bad_request")


def test_needs_index_past_max_scan_then_index(qc: httpx.Client) -> None:
    coll = new_collection()
    docs = {f"k{i:03d}": {"owner": f"u{i % 10}", "status": "open", "n": i} for i in range(150)}
    put_all(qc, coll, docs)
    where = 'doc.owner == "u3" && doc.n >= 100'
    response = qc.get(f"/v1/collections/{coll}/docs", params={"where": where})
    problem = assert_problem(response, 422, "validation_failed")
    assert problem["detail"].startswith("needs_index")
    assert problem["needs_index"] == ["owner", "n"] and problem["field"] == "where"
    assert explain(qc, coll, where=where) == {
        "index": None,
        "scanned": MAX_SCAN,
        "returned": 0,
        "needs_index": ["owner", "n"],
    }
    # Within the budget (a key range of fewer documents) the scan answers.
    assert keys_of(read_range(qc, coll, where='doc.owner == "u3"', lt="k050")) == [
        f"k{i:03d}" for i in range(3, 50, 10)
    ]
    # A filter no index could serve says so.
    odd = qc.get(f"/v1/collections/{coll}/docs", params={"where": 'doc.status.contains("z")'})
    assert assert_problem(odd, 422, "validation_failed")["needs_index"] == []

    create_index(qc, coll, "by_owner_n", ["owner", "n"])
    expected = [f"k{i:03d}" for i in range(103, 150, 10)]
    assert keys_of(read_range(qc, coll, where=where, limit=2)) == expected
    assert explain(qc, coll, where=where) == {
        "index": "by_owner_n",
        "scanned": len(expected),
        "returned": len(expected),
    }
    # `in` on the leading field: one range per value, in value order.
    where_in = 'doc.owner in ["u4", "u2"] && doc.n < 30'
    assert keys_of(read_range(qc, coll, where=where_in)) == [
        "k002",
        "k012",
        "k022",
        "k004",
        "k014",
        "k024",
    ]
    assert explain(qc, coll, where=where_in)["scanned"] == 6


def test_order_by(qc: httpx.Client) -> None:
    coll = new_collection()
    values: dict[str, Any] = {
        "m": {"owner": "u1"},  # v missing: first
        "n": {"v": None, "owner": "u1"},
        "f": {"v": False, "owner": "u2"},
        "t": {"v": True, "owner": "u1"},
        "neg": {"v": -1.5, "owner": "u1"},
        "two": {"v": 2, "owner": "u2"},
        "ten": {"v": 10, "owner": "u1"},
        "sa": {"v": "a", "owner": "u2"},
        "sb": {"v": "b", "owner": "u1"},
        "l": {"v": [1], "owner": "u1"},
    }
    put_all(qc, coll, values)
    need = qc.get(f"/v1/collections/{coll}/docs", params={"order_by": "v"})
    assert assert_problem(need, 422, "validation_failed")["needs_index"] == ["v"]
    create_index(qc, coll, "by_v", ["v"])
    order = ["m", "n", "f", "t", "neg", "two", "ten", "sa", "sb", "l"]
    assert keys_of(read_range(qc, coll, order_by="v", limit=3)) == order
    assert keys_of(read_range(qc, coll, order_by="v", limit=4, reverse=True)) == order[::-1]
    ranged = read_range(qc, coll, order_by="v", where="doc.v >= -2 && doc.v < 10")
    assert keys_of(ranged) == ["neg", "two"]
    # Ordering after fields pinned by ==: an index [owner, v].
    need_pair = qc.get(
        f"/v1/collections/{coll}/docs", params={"order_by": "v", "where": 'doc.owner == "u1"'}
    )
    assert keys_of(need_pair.json()["items"]) == ["m", "n", "t", "neg", "ten", "sb", "l"]
    assert explain(qc, coll, order_by="v", where='doc.owner == "u1"')["index"] == "by_v"
    create_index(qc, coll, "by_owner_v", ["owner", "v"])
    result = explain(qc, coll, order_by="v", where='doc.owner == "u1"')
    assert result == {"index": "by_owner_v", "scanned": 7, "returned": 7}
    assert keys_of(
        read_range(qc, coll, order_by="v", where='doc.owner == "u1"', reverse=True, limit=2)
    ) == ["l", "sb", "ten", "neg", "t", "n", "m"]


# --- cursor walks while another client writes ----------------------------------------------

KEYS = [f"k{i:02d}" for i in range(12)]
owners = st.sampled_from(["u1", "u2"])
statuses = st.sampled_from(["open", "closed"])
values = st.fixed_dictionaries(
    {"owner": owners, "status": statuses, "flag": st.booleans(), "n": st.integers(0, 9)}
)
writes = st.tuples(st.sampled_from(KEYS), st.none() | values)  # None: delete
FILTERS = {
    "index": ('doc.owner == "u1" && doc.status == "open"', "by_owner_status"),
    "index-residual": (
        'doc.owner == "u1" && doc.status == "open" && doc.n >= 3',
        "by_owner_status",
    ),
    "scan": ("doc.flag == true", None),
}


def matches(name: str, value: dict[str, Any] | None) -> bool:
    if value is None:
        return False
    if name == "index":
        return value["owner"] == "u1" and value["status"] == "open"
    if name == "index-residual":
        return value["owner"] == "u1" and value["status"] == "open" and value["n"] >= 3
    return bool(value["flag"])


@pytest.mark.parametrize("filter_name", list(FILTERS))
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    initial=st.dictionaries(st.sampled_from(KEYS), values),
    between=st.lists(st.lists(writes, max_size=4), min_size=1, max_size=8),
    reverse=st.booleans(),
)
def test_cursor_walk_while_writing_visits_each_steady_match_once(
    qc: httpx.Client,
    filter_name: str,
    initial: dict[str, dict[str, Any]],
    between: list[list[tuple[str, dict[str, Any] | None]]],
    reverse: bool,
) -> None:
    """Following next_cursor while writes land between pages visits every document that
    matched throughout exactly once, and no document twice."""
    where, index = FILTERS[filter_name]
    coll = new_collection()
    put_all(qc, coll, initial)
    if index is not None:
        create_index(qc, coll, index, ["owner", "status"])
    current: dict[str, dict[str, Any] | None] = {key: initial.get(key) for key in KEYS}
    steady = {key for key, value in current.items() if matches(filter_name, value)}
    seen: list[str] = []
    cursor: str | None = None
    rounds = iter(between)
    while True:
        params: dict[str, Any] = {"where": where, "limit": 2, "reverse": reverse}
        if cursor is not None:
            params["cursor"] = cursor
        page = qc.get(f"/v1/collections/{coll}/docs", params=params)
        assert page.status_code == 200, page.text
        body = page.json()
        seen.extend(keys_of(body["items"]))
        cursor = body["next_cursor"]
        if cursor is None:
            break
        for key, value in next(rounds, []):
            if value is None:
                qc.delete(f"/v1/collections/{coll}/docs/{key}")
            else:
                assert qc.put(f"/v1/collections/{coll}/docs/{key}", json=value).status_code < 300
            current[key] = value
            if not matches(filter_name, value):
                steady.discard(key)
    assert len(seen) == len(set(seen)), seen
    assert steady <= set(seen), (steady, seen)


def test_where_survives_restart_on_index(tmp_path: Path, store_kind: str) -> None:
    """Indexes and their entries are durable: after a restart the same plan answers."""
    with store_env(store_kind) as env:
        proc = ServerProcess(tmp_path / "data", **env).start()
        try:
            with proc.client() as client:
                put_all(client, "r", {f"k{i}": {"s": i % 3} for i in range(30)})
                create_index(client, "r", "by_s", ["s"])
            proc.stop()
            proc.start()
            with proc.client() as client:
                assert explain(client, "r", where="doc.s == 1") == {
                    "index": "by_s",
                    "scanned": 10,
                    "returned": 10,
                }
        finally:
            if proc.proc is not None:
                proc.stop()


# --- an index walk answers exactly what a scan answers -------------------------------------

# Values where the index encoding is at its edges: strings extended by NUL or cut at 64
# bytes, ints past 2**53 (encoded as the nearest double), ints against doubles, the
# other types, missing fields.
EDGE_VALUES = [
    "a",
    "a\x00",
    "a\x00b",
    "b",
    "x" * 63,
    "x" * 64,
    "x" * 64 + "a",
    "x" * 64 + "b",
    3,
    3.0,
    2.5,
    -1,
    2**53,
    2**53 + 1,
    True,
    False,
    None,
    ["a"],
    {"k": 1},
]
edge_values = st.sampled_from(EDGE_VALUES)
edge_docs = st.dictionaries(
    st.sampled_from([f"d{i:02d}" for i in range(20)]),
    st.dictionaries(st.sampled_from(["owner", "status", "n"]), edge_values),
    max_size=20,
)


def cel_literal(value: Any) -> str:
    """A scalar as a CEL literal (JSON's string escapes are CEL's too)."""
    if value is True or value is False or value is None:
        return {True: "true", False: "false", None: "null"}[value]
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, int):
        return str(value)
    return orjson.dumps(value).decode()


scalars = edge_values.filter(lambda v: not isinstance(v, list | dict))
conjunct = st.one_of(
    st.builds(
        lambda f, v: f"doc.{f} == {cel_literal(v)}", st.sampled_from(["owner", "status"]), scalars
    ),
    st.builds(
        lambda f, vs: f"doc.{f} in [{', '.join(cel_literal(v) for v in vs)}]",
        st.sampled_from(["owner", "status"]),
        st.lists(scalars, min_size=1, max_size=3),
    ),
    st.builds(
        lambda op, v: f"doc.status {op} {cel_literal(v)}",
        st.sampled_from(["<", "<=", ">", ">="]),
        scalars.filter(lambda v: v is not None),
    ),
    st.sampled_from(['key >= "d05"', "has(doc.n)"]),  # never served by an index: residual
)
filters = st.lists(conjunct, min_size=1, max_size=3).map(" && ".join)


def walk(client: httpx.Client, collection: str, where: str) -> tuple[int, list[Any]]:
    """Every page of a filtered read (3 at a time), or the refusal's status."""
    items: list[Any] = []
    params: dict[str, Any] = {"where": where, "limit": 3}
    while True:
        response = client.get(f"/v1/collections/{collection}/docs", params=params)
        if response.status_code != 200:
            return response.status_code, []
        body = response.json()
        items.extend(body["items"])
        if body["next_cursor"] is None:
            return 200, items
        params["cursor"] = body["next_cursor"]


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(docs=edge_docs, wheres=st.lists(filters, min_size=1, max_size=6))
def test_index_walk_equals_scan(
    qc: httpx.Client, docs: dict[str, dict[str, Any]], wheres: list[str]
) -> None:
    """Over random documents, a filter answered through an index (one that decides the
    filter alone, or with a residual check) gives the same documents as a scan by key,
    cursors followed."""
    scanned, indexed = new_collection(), new_collection()
    # Every edge value is in some document, so a filter on one meets its neighbours.
    edges = {f"e{i:02d}": {"owner": v, "status": v} for i, v in enumerate(EDGE_VALUES)}
    put_all(qc, scanned, {**edges, **docs})
    put_all(qc, indexed, {**edges, **docs})
    create_index(qc, indexed, "by_owner_status", ["owner", "status"])
    create_index(qc, indexed, "by_status", ["status"])
    for where in wheres:
        status, expected = walk(qc, scanned, where)
        assert walk(qc, indexed, where)[0] == status, where
        if status != 200:
            continue  # a filter the compiler refuses is refused the same on both
        got = walk(qc, indexed, where)[1]
        strip = [{k: item[k] for k in ("key", "value")} for item in expected]
        assert (
            sorted(({k: item[k] for k in ("key", "value")} for item in got), key=lambda i: i["key"])
            == strip
        ), where
