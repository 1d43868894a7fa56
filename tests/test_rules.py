"""Rules as data (docs/rules.md) through a real server, on both stores: the rule API,
the notes app of the contract with two users' JWTs, a matrix of every document route
and WebSocket op x each rule entry allowed/refused, and the live paths (WebSocket,
SSE, long-poll, snapshots) showing what the read rule shows, with enter/leave."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cluster_support import running_cluster, store_env
from tests.helpers import assert_problem
from tests.realtime_clients import sse_stream, ws_client
from tests.server import ServerProcess

ORIGIN = "https://app.example.com"
MAX_SCAN = 40
NOTES_RULE = {
    "read": "doc.public || doc.owner == auth.sub",
    "create": "new.owner == auth.sub",
    "update": "doc.owner == auth.sub && new.owner == doc.owner",
    "delete": "doc.owner == auth.sub",
}
SECRET = "s3cret-value-never-shown"


@pytest.fixture(scope="module")
def rules_server(
    tmp_path_factory: pytest.TempPathFactory, store_kind: str
) -> Iterator[ServerProcess]:
    """Its own server: rules are server-wide, and `*` subscriptions of other modules'
    tests must not meet them."""
    with store_env(store_kind) as env:
        proc = ServerProcess(
            tmp_path_factory.mktemp("rules") / "data",
            **env,
            LEVELSTREAM_ALLOWED_ORIGINS=ORIGIN,
            LEVELSTREAM_MAX_SCAN=str(MAX_SCAN),
        ).start()
        yield proc
        proc.stop()


@pytest.fixture
def admin(rules_server: ServerProcess) -> Iterator[httpx.Client]:
    with rules_server.client() as c:
        yield c


def new_collection() -> str:
    return "r" + uuid.uuid4().hex[:12]


def put_rule(admin: httpx.Client, glob: str, rule: dict[str, str]) -> dict[str, Any]:
    response = admin.put(f"/v1/rules/{glob}", json=rule)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def api_key(admin: httpx.Client, collections: list[str]) -> str:
    spec = {"name": "app", "permissions": ["read", "write", "delete"], "collections": collections}
    response = admin.post("/v1/keys", json=spec)
    assert response.status_code == 201, response.text
    token: str = response.json()["token"]
    return token


def mint(server: ServerProcess, key: str, sub: str, **extra: Any) -> str:
    with user(server, key) as c:
        response = c.post("/v1/auth/token", json={"sub": sub, **extra})
    assert response.status_code == 200, response.text
    token: str = response.json()["token"]
    return token


def user(server: ServerProcess, token: str, origin: bool = False) -> httpx.Client:
    headers = server.headers(token)
    if origin:
        headers["Origin"] = ORIGIN
    return httpx.Client(base_url=server.url, headers=headers, timeout=30)


def async_user(server: ServerProcess, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=server.url, headers=server.headers(token), timeout=30)


def problem_shape(response: httpx.Response) -> tuple[int, str, str, dict[str, str]]:
    """What a caller can tell apart between two refusals (not the request id)."""
    body = response.json()
    kept = {k: v for k, v in response.headers.items() if k.lower() in ("etag", "content-type")}
    return response.status_code, body["code"], body["detail"], kept


def doc(admin: httpx.Client, collection: str, key: str) -> dict[str, Any] | None:
    response = admin.get(f"/v1/collections/{collection}/docs/{key}")
    if response.status_code == 404:
        return None
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# --- the rule API ------------------------------------------------------------------------


def test_rule_crud_versions_422_and_access_log(
    rules_server: ServerProcess, admin: httpx.Client
) -> None:
    glob = new_collection() + "*"
    first = put_rule(admin, glob, NOTES_RULE)
    assert first["glob"] == glob and first["read"] == NOTES_RULE["read"]
    version = first["version"]
    assert admin.get(f"/v1/rules/{glob}").json() == first
    listed = admin.get("/v1/rules").json()
    assert listed["version"] == version and first in listed["items"]

    # A bad entry: 422 naming the entry and the position; nothing saved, no new version.
    bad = admin.put(f"/v1/rules/{glob}", json={"read": "true", "update": "doc.owner == "})
    problem = assert_problem(bad, 422, "validation_failed")
    assert problem["detail"].startswith("update: ") and "offset 13" in problem["detail"]
    assert problem["entry"] == "update" and problem["offset"] == 13
    assert admin.get("/v1/rules").json()["version"] == version
    assert admin.get(f"/v1/rules/{glob}").json() == first
    assert_problem(admin.put(f"/v1/rules/{glob}", json={"reed": "true"}), 422, "validation_failed")
    assert_problem(
        admin.put(f"/v1/rules/{glob}", json={"read": "unknown_fn(doc)"}), 422, "validation_failed"
    )

    second = put_rule(admin, glob, {"read": "true"})
    assert second["version"] == version + 1 and second["update"] is None
    deleted = admin.delete(f"/v1/rules/{glob}")
    assert deleted.status_code == 200 and deleted.json() == {"glob": glob, "version": version + 2}
    assert_problem(admin.get(f"/v1/rules/{glob}"), 404, "not_found")
    assert_problem(admin.delete(f"/v1/rules/{glob}"), 404, "not_found")

    # Admin only.
    key = api_key(admin, ["*"])
    with user(rules_server, key) as c:
        assert_problem(c.put(f"/v1/rules/{glob}", json={"read": "true"}), 403, "forbidden")
        assert_problem(c.get("/v1/rules"), 403, "forbidden")

    # Each change is in the access log, with its glob (the path) and the new version.
    deadline = time.monotonic() + 10
    wanted = {("PUT", version + 1), ("DELETE", version + 2)}
    while time.monotonic() < deadline:
        lines = [json.loads(x) for x in rules_server.log_tail(200_000).splitlines() if x[:1] == "{"]
        seen = {
            (line["method"], line.get("rules_version"))
            for line in lines
            if line.get("path") == f"/v1/rules/{glob}" and line.get("status") == 200
        }
        if wanted <= seen:
            break
        time.sleep(0.1)
    assert wanted <= seen
    assert key not in rules_server.log_tail(200_000)


def test_rules_survive_a_restart(tmp_path: Path, store_kind: str) -> None:
    with store_env(store_kind) as env:
        proc = ServerProcess(tmp_path / "data", **env).start()
        try:
            with proc.client() as c:
                saved = put_rule(c, "kept", {"read": "doc.public"})
            proc.restart()
            with proc.client() as c:
                assert c.get("/v1/rules/kept").json() == saved
        finally:
            proc.stop()


# --- the notes app of the contract ---------------------------------------------------------


def test_notes_app_two_users(rules_server: ServerProcess, admin: httpx.Client) -> None:
    notes = new_collection()
    put_rule(admin, notes, NOTES_RULE)
    key = api_key(admin, [notes])
    alice, bob = mint(rules_server, key, "alice"), mint(rules_server, key, "bob")
    url = f"/v1/collections/{notes}/docs"
    with user(rules_server, alice) as a, user(rules_server, bob) as b:
        assert a.put(f"{url}/a-pub", json={"owner": "alice", "public": True}).status_code == 201
        assert (
            a.put(f"{url}/a-priv", json={"owner": "alice", "public": False, "s": SECRET})
        ).status_code == 201
        assert b.put(f"{url}/b-priv", json={"owner": "bob", "public": False}).status_code == 201

        # Reads: public to both, own to the owner; an unreadable GET is a missing one.
        assert a.get(f"{url}/a-priv").json()["value"]["s"] == SECRET
        assert b.get(f"{url}/a-pub").status_code == 200
        hidden, missing = b.get(f"{url}/a-priv"), b.get(f"{url}/nothing-here")
        assert hidden.status_code == 404 and SECRET not in hidden.text
        status, code, detail, headers = problem_shape(missing)
        detail = detail.replace("nothing-here", "a-priv")
        assert problem_shape(hidden) == (status, code, detail, headers)
        assert "etag" not in hidden.headers
        assert [i["key"] for i in b.get(url).json()["items"]] == ["a-pub", "b-priv"]
        assert [i["key"] for i in a.get(url).json()["items"]] == ["a-priv", "a-pub"]

        # Writes: only one's own; changing the owner is refused; nothing written.
        refused = b.put(f"{url}/b2", json={"owner": "alice"})
        assert notes in assert_problem(refused, 403, "forbidden")["detail"]
        assert "'create'" in refused.json()["detail"]
        assert doc(admin, notes, "b2") is None
        rev = doc(admin, notes, "a-priv")["rev"]  # type: ignore[index]
        for response in (
            b.put(f"{url}/a-priv", json={"owner": "bob"}),
            b.patch(f"{url}/a-priv", json={"public": True}),
            b.delete(f"{url}/a-priv"),
            b.put(f"{url}/a-priv", json={"owner": "alice"}, headers={"If-Match": '"1"'}),
        ):
            body = assert_problem(response, 403, "forbidden")
            assert SECRET not in response.text and "current_rev" not in body
        assert_problem(a.patch(f"{url}/a-priv", json={"owner": "bob"}), 403, "forbidden")
        assert doc(admin, notes, "a-priv")["rev"] == rev  # type: ignore[index]
        assert a.patch(f"{url}/a-priv", json={"public": False, "n": 1}).status_code == 200

        # A batch is all or nothing: one refused op refuses the whole.
        ops = [
            {"op": "put", "collection": notes, "key": "b3", "value": {"owner": "bob"}},
            {"op": "delete", "collection": notes, "key": "a-pub"},
        ]
        problem = assert_problem(b.post("/v1/batch", json={"ops": ops}), 403, "forbidden")
        assert problem["op_index"] == 1 and "'delete'" in problem["detail"]
        assert doc(admin, notes, "b3") is None and doc(admin, notes, "a-pub") is not None
        assert b.post("/v1/batch", json={"ops": ops[:1]}).status_code == 200

    # Admin is not subject to rules.
    assert admin.put(f"{url}/admin-doc", json={"owner": "nobody"}).status_code == 201
    assert admin.get(f"{url}/a-priv").status_code == 200

    # The WebSocket ops: refused alike.
    async def ws() -> None:
        async with ws_client(rules_server, bob) as c:
            got = await c.request("get", collection=notes, key="a-priv")
            assert got["ok"] is False and got["error"]["code"] == "not_found"
            assert SECRET not in json.dumps(got)
            assert (await c.request("get", collection=notes, key="a-pub"))["ok"] is True
            put = await c.request("put", collection=notes, key="a-priv", value={"owner": "bob"})
            assert put["ok"] is False and put["error"]["code"] == "forbidden"
            own = await c.request("put", collection=notes, key="b4", value={"owner": "bob"})
            assert own["ok"] is True

    asyncio.run(ws())
    assert doc(admin, notes, "a-priv")["rev"] != rev  # type: ignore[index]  # alice's patch


# --- the matrix: every route and WS op x each rule entry, allowed and refused ---------


RULE = {
    "read": "doc.ok == true",
    "create": "new.ok == true",
    "update": "doc.ok == true && new.ok == true",
    "delete": "doc.ok == true",
}


def _rest_case(c: httpx.Client, admin: httpx.Client, coll: str, case: str, allowed: bool) -> None:
    """One REST route under RULE: `allowed` picks values the rule accepts or refuses."""
    url = f"/v1/collections/{coll}/docs"
    k = uuid.uuid4().hex[:8]
    ok = {"ok": allowed, "s": SECRET}
    seeded = {"ok": allowed, "s": SECRET}
    if case in ("update-put", "update-patch", "delete", "read-get", "batch-delete"):
        assert admin.put(f"{url}/{k}", json=seeded).status_code == 201
    before = doc(admin, coll, k)
    if case == "create-put":
        response = c.put(f"{url}/{k}", json=ok)
    elif case == "create-post":
        response = c.post(url, json=ok)
    elif case == "update-put":
        response = c.put(f"{url}/{k}", json={"ok": True})
    elif case == "update-patch":
        response = c.patch(f"{url}/{k}", json={"n": 1})
    elif case == "delete":
        response = c.delete(f"{url}/{k}")
    elif case == "read-get":
        response = c.get(f"{url}/{k}")
    elif case == "batch-create":
        response = c.post(
            "/v1/batch", json={"ops": [{"op": "put", "collection": coll, "key": k, "value": ok}]}
        )
    else:  # batch-delete
        response = c.post(
            "/v1/batch", json={"ops": [{"op": "delete", "collection": coll, "key": k}]}
        )
    if allowed:
        assert response.status_code in (200, 201, 204), (case, response.text)
        return
    expected = 404 if case == "read-get" else 403
    problem = assert_problem(response, expected, "not_found" if expected == 404 else "forbidden")
    assert SECRET not in response.text and "current_rev" not in problem, case
    if case != "create-post":
        assert doc(admin, coll, k) == before, case  # nothing written


MATRIX_CASES = [
    "create-put",
    "create-post",
    "update-put",
    "update-patch",
    "delete",
    "read-get",
    "batch-create",
    "batch-delete",
]


@pytest.mark.parametrize("origin", [False, True], ids=["no-origin", "origin"])
def test_matrix_rest(rules_server: ServerProcess, admin: httpx.Client, origin: bool) -> None:
    coll = new_collection()
    put_rule(admin, coll, RULE)
    key = api_key(admin, [coll])
    with user(rules_server, key, origin=origin) as c:
        for case in MATRIX_CASES:
            for allowed in (True, False):
                _rest_case(c, admin, coll, case, allowed)
        # A range read shows only the readable documents.
        for k, flag in (("r1", True), ("r2", False), ("r3", True)):
            admin.put(f"/v1/collections/{coll}/docs/{k}", json={"ok": flag, "s": SECRET})
        page = c.get(f"/v1/collections/{coll}/docs", params={"prefix": "r", "keys_only": True})
        assert [i["key"] for i in page.json()["items"]] == ["r1", "r3"]
        assert SECRET not in page.text


def test_matrix_ws(rules_server: ServerProcess, admin: httpx.Client) -> None:
    coll = new_collection()
    put_rule(admin, coll, RULE)
    key = api_key(admin, [coll])
    url = f"/v1/collections/{coll}/docs"
    for k, flag in (("yes", True), ("no", False), ("dyes", True), ("dno", False)):
        admin.put(f"{url}/{k}", json={"ok": flag, "s": SECRET})

    async def run() -> None:
        async with ws_client(rules_server, key) as c:
            cases: list[tuple[str, dict[str, Any], bool]] = [
                ("get", {"key": "yes"}, True),
                ("get", {"key": "no"}, False),
                ("put", {"key": "new1", "value": {"ok": True}}, True),
                ("put", {"key": "new2", "value": {"ok": False}}, False),
                ("put", {"key": "yes", "value": {"ok": True}}, True),
                ("put", {"key": "no", "value": {"ok": True}}, False),
                ("patch", {"key": "yes", "value": {"n": 1}}, True),
                ("patch", {"key": "no", "value": {"ok": True}}, False),
                ("delete", {"key": "dyes"}, True),
                ("delete", {"key": "dno"}, False),
            ]
            for op, fields, allowed in cases:
                reply = await c.request(op, collection=coll, **fields)
                assert reply["ok"] is allowed, (op, fields, reply)
                if not allowed:
                    code = "not_found" if op == "get" else "forbidden"
                    assert reply["error"]["code"] == code
                    assert SECRET not in json.dumps(reply) and "current_rev" not in reply["error"]
            batch = [
                {"op": "put", "collection": coll, "key": "b1", "value": {"ok": True}},
                {"op": "put", "collection": coll, "key": "b2", "value": {"ok": False}},
            ]
            refused = await c.request("batch", ops=batch)
            assert refused["ok"] is False and refused["error"]["op_index"] == 1
            assert (await c.request("batch", ops=batch[:1]))["ok"] is True

    asyncio.run(run())
    assert doc(admin, coll, "new2") is None and doc(admin, coll, "dno") is not None
    assert doc(admin, coll, "no")["value"] == {"ok": False, "s": SECRET}  # type: ignore[index]


def test_rule_change_holds_from_the_next_request(
    rules_server: ServerProcess, admin: httpx.Client
) -> None:
    coll = new_collection()
    key = api_key(admin, [coll])
    admin.put(f"/v1/collections/{coll}/docs/d", json={"ok": False})
    with user(rules_server, key) as c:
        assert c.get(f"/v1/collections/{coll}/docs/d").status_code == 200
        put_rule(admin, coll, RULE)
        assert c.get(f"/v1/collections/{coll}/docs/d").status_code == 404
        admin.delete(f"/v1/rules/{coll}")
        assert c.get(f"/v1/collections/{coll}/docs/d").status_code == 200


def test_range_scan_budget_gives_short_pages_with_cursor(
    rules_server: ServerProcess, admin: httpx.Client
) -> None:
    coll = new_collection()
    put_rule(admin, coll, {"read": "doc.ok == true"})
    key = api_key(admin, [coll])
    ops = [
        {"op": "put", "collection": coll, "key": f"k{i:03d}", "value": {"ok": i >= 2 * MAX_SCAN}}
        for i in range(2 * MAX_SCAN + 3)
    ]
    assert admin.post("/v1/batch", json={"ops": ops}).status_code == 200
    with user(rules_server, key) as c:
        first = c.get(f"/v1/collections/{coll}/docs", params={"limit": 10}).json()
        assert first["items"] == [] and first["next_cursor"] is not None
        keys: list[str] = []
        cursor = first["next_cursor"]
        for _ in range(10):
            page = c.get(
                f"/v1/collections/{coll}/docs", params={"limit": 10, "cursor": cursor}
            ).json()
            keys += [i["key"] for i in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert keys == [f"k{i:03d}" for i in range(2 * MAX_SCAN, 2 * MAX_SCAN + 3)]


def test_read_rule_holds_on_a_where_the_index_decides(
    rules_server: ServerProcess, admin: httpx.Client
) -> None:
    """An index that answers the whole `where` spares the filter's check, never the
    read rule's: the hidden documents stay hidden, on every page."""
    coll = new_collection()
    put_rule(admin, coll, {"read": "doc.ok == true"})
    key = api_key(admin, [coll])
    ops = [
        {"op": "put", "collection": coll, "key": f"k{i}", "value": {"s": "a", "ok": i % 2 == 0}}
        for i in range(6)
    ]
    assert admin.post("/v1/batch", json={"ops": ops}).status_code == 200
    response = admin.put(f"/v1/collections/{coll}/indexes/by_s", json={"fields": ["s"]})
    assert response.status_code == 201, response.text
    for _ in range(200):
        if admin.get(f"/v1/collections/{coll}/indexes/by_s").json()["state"] == "ready":
            break
        time.sleep(0.05)
    where = {"where": 'doc.s == "a"', "limit": 2}
    plan = admin.get(f"/v1/collections/{coll}/docs", params={**where, "explain": True}).json()
    assert plan["index"] == "by_s"
    with user(rules_server, key) as c:
        keys: list[str] = []
        params: dict[str, Any] = dict(where)
        for _ in range(10):
            page = c.get(f"/v1/collections/{coll}/docs", params=params).json()
            keys += [i["key"] for i in page["items"]]
            if page["next_cursor"] is None:
                break
            params["cursor"] = page["next_cursor"]
        assert keys == ["k0", "k2", "k4"]


def test_claims_in_minted_tokens(rules_server: ServerProcess, admin: httpx.Client) -> None:
    coll = new_collection()
    put_rule(admin, coll, {"read": 'auth.claims.role == "editor"', "create": "true"})
    key = api_key(admin, [coll])
    admin.put(f"/v1/collections/{coll}/docs/d", json={"x": 1})
    editor = mint(rules_server, key, "e", claims={"role": "editor"})
    viewer = mint(rules_server, key, "v", claims={"role": "viewer"})
    with user(rules_server, editor) as e, user(rules_server, viewer) as v:
        assert e.get(f"/v1/collections/{coll}/docs/d").status_code == 200
        assert v.get(f"/v1/collections/{coll}/docs/d").status_code == 404
    # The API key itself: sub is key:<id>, no claims.
    with user(rules_server, key) as k:
        assert k.get(f"/v1/collections/{coll}/docs/d").status_code == 404
    with user(rules_server, key) as k:
        for claims in ({"sub": "x"}, {"permissions": ["admin"]}, {"exp": 1}, {"big": "x" * 5000}):
            response = k.post("/v1/auth/token", json={"sub": "u", "claims": claims})
            assert_problem(response, 422, "validation_failed")


def test_api_key_sub(rules_server: ServerProcess, admin: httpx.Client) -> None:
    coll = new_collection()
    key = api_key(admin, [coll])
    key_id = key.split("_")[1]
    put_rule(admin, coll, {"create": "new.by == auth.sub && auth.key_id == " + json.dumps(key_id)})
    with user(rules_server, key) as k:
        url = f"/v1/collections/{coll}/docs"
        assert k.put(f"{url}/a", json={"by": f"key:{key_id}"}).status_code == 201
        assert_problem(k.put(f"{url}/b", json={"by": "someone"}), 403, "forbidden")


# --- live paths: what the read rule shows, with enter/leave ----------------------------


def test_live_reads_show_what_the_read_rule_shows(
    rules_server: ServerProcess, admin: httpx.Client
) -> None:
    """Alice's WebSocket (snapshot, then live; her own collection and `*`), SSE and
    long-poll see public notes and her own; a note of Bob's enters her view when it
    becomes public and leaves it when it stops being; nothing hidden leaks."""
    notes = new_collection()
    put_rule(admin, notes, NOTES_RULE)
    key = api_key(admin, [notes])
    alice = mint(rules_server, key, "alice")
    url = f"/v1/collections/{notes}/docs"
    admin.put(f"{url}/b-priv", json={"owner": "bob", "public": False, "s": SECRET})
    admin.put(f"{url}/b-pub", json={"owner": "bob", "public": True})
    admin.put(f"{url}/a-own", json={"owner": "alice", "public": False})
    start = int(admin.get("/v1/changes", params={"collection": notes}).json()["head_seq"])
    writes: list[tuple[str, dict[str, Any] | None]] = [
        ("b-priv", {"owner": "bob", "public": False, "s": SECRET, "n": 1}),  # hidden: nothing
        ("b-priv", {"owner": "bob", "public": True}),  # enters
        ("b-priv", {"owner": "bob", "public": False, "s": SECRET}),  # leaves
        ("b-pub", None),  # a visible delete
        ("b-priv", None),  # a hidden delete: nothing
        ("a-new", {"owner": "alice", "public": False}),  # her own: enters
    ]
    want = [
        ("put", "b-priv", "enter"),
        ("leave", "b-priv", None),
        ("delete", "b-pub", None),
        ("put", "a-new", "enter"),
    ]

    def shape(changes: list[dict[str, Any]]) -> list[tuple[str, str, str | None]]:
        return [(c["op"], c["key"], c.get("match")) for c in changes]

    async def run() -> None:
        async with (
            ws_client(rules_server, alice) as ws,
            async_user(rules_server, alice) as client,
            sse_stream(client, collection=notes) as sse,
        ):
            await ws.subscribe("n", collection=notes, snapshot=True)
            await ws.subscribe("all", collection="*")
            snapshot = await ws.expect(lambda f: f.get("type") == "snapshot")
            assert [i["key"] for i in snapshot["items"]] == ["a-own", "b-pub"]
            until = 0
            for doc_key, value in writes:
                if value is None:
                    response = admin.delete(f"{url}/{doc_key}")
                    assert response.status_code in (204, 404)
                else:
                    response = admin.put(f"{url}/{doc_key}", json=value)
                    until = int(response.json()["rev"])
            got = {sub: await ws.changes(sub, until) for sub in ("n", "all")}
            got_sse = await sse.changes(until)
            for changes in (got["n"], got["all"], got_sse):
                assert shape(changes) == want
                assert SECRET not in json.dumps(changes)
            polled = await client.get(
                "/v1/changes", params={"collection": notes, "since": start, "wait": 5}
            )
            assert shape(polled.json()["changes"]) == want
            assert SECRET not in polled.text
            assert all(f.get("type") != "change" for f in ws.pending)

    asyncio.run(run())
    # With an Origin (a browser): the same events.
    with user(rules_server, alice, origin=True) as c:
        polled = c.get("/v1/changes", params={"collection": notes, "since": start})
        assert shape(polled.json()["changes"]) == want


def test_a_read_rule_change_resets_open_subscriptions(
    rules_server: ServerProcess, admin: httpx.Client
) -> None:
    """A rule change that alters what a subscription sees ends it with a `reset`
    (reason `rules_changed`) before the next change: the client takes a new snapshot.
    One that leaves its view alone (a write rule) does not touch it."""
    coll = new_collection()
    key = api_key(admin, [coll])
    url = f"/v1/collections/{coll}/docs"

    async def run() -> None:
        async with (
            ws_client(rules_server, key) as c,
            async_user(rules_server, key) as client,
            sse_stream(client, collection=coll) as sse,
        ):
            await c.subscribe("s", collection=coll)
            await c.subscribe("all", collection="*")
            put_rule(admin, coll, {"create": "new.ok == true"})  # writes only: no reset
            admin.put(f"{url}/x", json={"ok": True})
            assert [ch["key"] for ch in await c.changes("s", 0)] == ["x"]
            assert [ch["key"] for ch in await c.changes("all", 0)] == ["x"]
            put_rule(admin, coll, {"read": "doc.ok == true", "create": "new.ok == true"})
            admin.put(f"{url}/y", json={"ok": False, "s": SECRET})
            for sub in ("s", "all"):
                frame = await c.expect(lambda f, sub=sub: f.get("sub") == sub)
                assert frame == {"type": "reset", "sub": sub, "reason": "rules_changed"}
            reset = await sse.expect("reset")
            assert reset.json() == {"reason": "rules_changed"}
            assert SECRET not in json.dumps([e.data for e in await sse.end()])
            # Subscribing again: the new rules' view, from a snapshot.
            await c.subscribe("s2", collection=coll, snapshot=True)
            snapshot = await c.expect(lambda f: f.get("type") == "snapshot")
            assert [i["key"] for i in snapshot["items"]] == ["x"]
            pong = await c.request("ping")
            assert pong["type"] == "pong"
            assert all(SECRET not in json.dumps(f) for f in c.pending)

    asyncio.run(run())


# --- cluster mode: a rule saved on one node holds on the others ---------------------------


@pytest.mark.leveldb_only  # runs once: it is a PostgreSQL cluster whatever the module's store
def test_rule_change_reaches_every_node(tmp_path: Path) -> None:
    with running_cluster(tmp_path, nodes=2) as cluster:
        coll = new_collection()
        with cluster[0].client() as a0, cluster[1].client() as a1:
            key = api_key(a0, [coll])
            assert a0.put(f"/v1/collections/{coll}/docs/d", json={"ok": False}).status_code == 201
            saved = put_rule(a0, coll, {"read": "doc.ok == true"})
            with user(cluster[1], key) as c:
                deadline = time.monotonic() + 15
                status = 0
                while time.monotonic() < deadline:
                    status = c.get(f"/v1/collections/{coll}/docs/d").status_code
                    if status == 404:
                        break
                    time.sleep(0.05)
                assert status == 404
            assert a1.get(f"/v1/rules/{coll}").json() == saved
