"""A write-only or delete-only key cannot read through its writes.

A write's answer normally carries the current document and a failed condition
names the current revision. Without `read` on the collection the answer holds
only `{collection, key, rev}` (and `deleted`), and a 412 is the same whether
the document exists at another revision or not at all: over REST, batch and
WebSocket write ops alike.
"""

from __future__ import annotations

from typing import Any

from tests.security_helpers import SecServer, assert_problem, uid, ws_client

MARKER = "secret-marker-only-readers-see"


def _minimal(body: dict[str, Any], collection: str, key: str, **extra: Any) -> None:
    assert set(body) == {"collection", "key", "rev", *extra}, body
    assert (body["collection"], body["key"]) == (collection, key)
    assert isinstance(body["rev"], int)
    for name, value in extra.items():
        assert body[name] == value
    assert MARKER not in str(body)


def _no_disclosure(problem: dict[str, Any]) -> dict[str, Any]:
    """The parts of a 412 that may differ between two refusals (none may tell state)."""
    assert "current_rev" not in problem, problem
    return {k: v for k, v in problem.items() if k not in ("request_id",)}


def test_rest_writes_without_read_show_no_document(sec_server: SecServer) -> None:
    collection = uid("wo")
    writer = sec_server.key(permissions=["write"], collections=[collection])
    deleter = sec_server.key(permissions=["delete"], collections=[collection])
    both = sec_server.key(permissions=["read", "write"], collections=[collection])
    seeded = sec_server.seed(collection, "doc", {"marker": MARKER, "n": 1})
    http = sec_server.http(writer.token)

    # PATCH {} would echo the whole stored value.
    patched = http.patch(f"/v1/collections/{collection}/docs/doc", json={})
    assert patched.status_code == 200, patched.text
    _minimal(patched.json(), collection, "doc")
    assert patched.headers["etag"] == f'"{patched.json()["rev"]}"'
    put = http.put(f"/v1/collections/{collection}/docs/new", json={"marker": MARKER})
    assert put.status_code == 201
    _minimal(put.json(), collection, "new")
    posted = http.post(f"/v1/collections/{collection}/docs", json={"marker": MARKER})
    assert posted.status_code == 201
    _minimal(posted.json(), collection, posted.json()["key"])

    # A failed If-Match: same answer for "exists at another rev" and "missing".
    stale = {"If-Match": f'"{seeded["rev"]}"'}
    on_existing = assert_problem(
        http.patch(f"/v1/collections/{collection}/docs/doc", json={"n": 2}, headers=stale),
        412,
        "precondition_failed",
    )
    on_missing = assert_problem(
        http.patch(f"/v1/collections/{collection}/docs/gone", json={"n": 2}, headers=stale),
        412,
        "precondition_failed",
    )
    assert (
        _no_disclosure(on_existing)["detail"].replace("'doc'", "'gone'")
        == (_no_disclosure(on_missing)["detail"])
    )
    on_existing = assert_problem(
        http.put(f"/v1/collections/{collection}/docs/doc", json={"n": 3}, headers=stale),
        412,
        "precondition_failed",
    )
    assert "current_rev" not in on_existing

    # A delete-only key learns nothing from If-Match either.
    dhttp = sec_server.http(deleter.token)
    for key in ("doc", "gone"):
        problem = assert_problem(
            dhttp.delete(f"/v1/collections/{collection}/docs/{key}", headers=stale),
            412,
            "precondition_failed",
        )
        _no_disclosure(problem)

    # A key that may read still gets the envelope and the current rev.
    full = sec_server.http(both.token).patch(f"/v1/collections/{collection}/docs/doc", json={})
    assert full.status_code == 200 and full.json()["value"]["marker"] == MARKER
    problem = assert_problem(
        sec_server.http(both.token).patch(
            f"/v1/collections/{collection}/docs/doc", json={}, headers=stale
        ),
        412,
        "precondition_failed",
    )
    assert problem["current_rev"] == full.json()["rev"]


def test_batch_without_read_shows_no_document(sec_server: SecServer) -> None:
    collection = uid("wob")
    key = sec_server.key(permissions=["write", "delete"], collections=[collection])
    seeded = sec_server.seed(collection, "doc", {"marker": MARKER})
    sec_server.seed(collection, "old", {"marker": MARKER})
    http = sec_server.http(key.token)
    ops = [
        {"op": "patch", "collection": collection, "key": "doc", "value": {}},
        {"op": "put", "collection": collection, "key": "k2", "value": {"marker": MARKER}},
        {"op": "delete", "collection": collection, "key": "old"},
    ]
    response = http.post("/v1/batch", json={"ops": ops})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    _minimal(results[0], collection, "doc")
    _minimal(results[1], collection, "k2")
    _minimal(results[2], collection, "old", deleted=True)

    stale = seeded["rev"]
    refusals = []
    for target in ("doc", "missing"):
        bad = [
            {"op": "put", "collection": collection, "key": "x", "value": 1},
            {"op": "patch", "collection": collection, "key": target, "value": {}, "if_rev": stale},
        ]
        problem = assert_problem(
            http.post("/v1/batch", json={"ops": bad}), 412, "precondition_failed"
        )
        assert problem["op_index"] == 1
        refusals.append(_no_disclosure(problem)["detail"].replace("'doc'", "'missing'"))
    assert refusals[0] == refusals[1]


async def test_websocket_writes_without_read_show_no_document(sec_server: SecServer) -> None:
    collection = uid("wows")
    key = sec_server.key(permissions=["write", "delete"], collections=[collection])
    seeded = sec_server.seed(collection, "doc", {"marker": MARKER})
    async with ws_client(sec_server, token=key.token) as ws:
        reply = await ws.ok("patch", collection=collection, key="doc", value={})
        _minimal(reply["result"], collection, "doc")
        reply = await ws.ok("put", collection=collection, key="k", value={"marker": MARKER})
        _minimal(reply["result"], collection, "k")
        reply = await ws.ok(
            "batch", ops=[{"op": "patch", "collection": collection, "key": "doc", "value": {}}]
        )
        _minimal(reply["result"]["results"][0], collection, "doc")
        details = []
        for target in ("doc", "missing"):
            for op in ("patch", "delete"):
                fields: dict[str, Any] = {"value": {}} if op == "patch" else {}
                refused = await ws.refused(
                    "precondition_failed",
                    op,
                    collection=collection,
                    key=target,
                    if_rev=seeded["rev"],
                    **fields,
                )
                assert "current_rev" not in refused["error"], refused
                details.append(refused["error"]["message"].replace("'doc'", "'missing'"))
        assert details[:2] == details[2:]
