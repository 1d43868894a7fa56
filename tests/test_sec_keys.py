"""Authorization over REST: every permission and scope on every route, batch atomicity,
admin-only key management, escalation through /v1/auth/token and PATCH /v1/keys,
and per-key rate limits. Each refusal is checked for its problem `code` and for its
absence of effect: no document read, no seq spent (so nothing written or published).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.security_helpers import Key, SecServer, assert_problem, bearer, uid

PERMS = ("read", "write", "delete", "admin")


@dataclass
class World:
    inside: str  # the collection the keys are scoped to
    outside: str  # another collection
    ch_in: str
    ch_out: str
    keys: dict[str, Key]  # permission -> a key with only that permission, scoped to `inside`


@pytest.fixture(scope="module")
def world(sec_server: SecServer) -> World:
    inside, outside = uid("kin"), uid("kout")
    ch_in, ch_out = uid("chin"), uid("chout")
    keys = {
        perm: sec_server.key(permissions=[perm], collections=[inside], channels=[ch_in])
        for perm in PERMS
    }
    return World(inside, outside, ch_in, ch_out, keys)


@dataclass
class Target:
    """One document (with a marker that must not leak) in one collection."""

    collection: str
    channel: str
    key: str
    marker: str


Op = Callable[[httpx.Client, Target], httpx.Response]


def _stream(client: httpx.Client, t: Target) -> httpx.Response:
    with client.stream(
        "GET", "/v1/stream", params={"collection": t.collection, "since": 0}
    ) as response:
        if response.status_code != 200:
            response.read()
        return response


OPS: dict[str, tuple[str, int, Op]] = {
    # name: (permission needed, success status, the request)
    "get": ("read", 200, lambda c, t: c.get(f"/v1/collections/{t.collection}/docs/{t.key}")),
    "put_new": (
        "write",
        201,
        lambda c, t: c.put(f"/v1/collections/{t.collection}/docs/{t.key}-new", json={"x": 1}),
    ),
    "put_replace": (
        "write",
        200,
        lambda c, t: c.put(f"/v1/collections/{t.collection}/docs/{t.key}", json={"hacked": 1}),
    ),
    "patch": (
        "write",
        200,
        lambda c, t: c.patch(f"/v1/collections/{t.collection}/docs/{t.key}", json={"hacked": 1}),
    ),
    "delete": (
        "delete",
        204,
        lambda c, t: c.delete(f"/v1/collections/{t.collection}/docs/{t.key}"),
    ),
    "post": ("write", 201, lambda c, t: c.post(f"/v1/collections/{t.collection}/docs", json=1)),
    "range": ("read", 200, lambda c, t: c.get(f"/v1/collections/{t.collection}/docs")),
    "range_keys_only": (
        "read",
        200,
        lambda c, t: c.get(f"/v1/collections/{t.collection}/docs", params={"keys_only": True}),
    ),
    "changes": (
        "read",
        200,
        lambda c, t: c.get("/v1/changes", params={"collection": t.collection, "since": 0}),
    ),
    "changes_key": (
        "read",
        200,
        lambda c, t: c.get(
            "/v1/changes", params={"collection": t.collection, "key": t.key, "since": 0}
        ),
    ),
    "stream": ("read", 200, _stream),
    "batch_put": (
        "write",
        200,
        lambda c, t: c.post(
            "/v1/batch",
            json={"ops": [{"op": "put", "collection": t.collection, "key": t.key, "value": 2}]},
        ),
    ),
    "batch_patch": (
        "write",
        200,
        lambda c, t: c.post(
            "/v1/batch",
            json={"ops": [{"op": "patch", "collection": t.collection, "key": t.key, "value": {}}]},
        ),
    ),
    "batch_delete": (
        "delete",
        200,
        lambda c, t: c.post(
            "/v1/batch", json={"ops": [{"op": "delete", "collection": t.collection, "key": t.key}]}
        ),
    ),
    "publish": ("write", 202, lambda c, t: c.post(f"/v1/channels/{t.channel}/messages", json=1)),
    "presence": ("read", 200, lambda c, t: c.get(f"/v1/channels/{t.channel}/presence")),
}


def _target(server: SecServer, world: World, inside: bool) -> Target:
    collection = world.inside if inside else world.outside
    key, marker = uid("doc"), uid("marker")
    server.seed(collection, key, {"secret": marker})
    return Target(collection, world.ch_in if inside else world.ch_out, key, marker)


@pytest.mark.parametrize("where", ["in_scope", "out_of_scope"])
@pytest.mark.parametrize("op_name", list(OPS))
@pytest.mark.parametrize("perm", PERMS)
def test_permission_matrix(
    sec_server: SecServer, world: World, perm: str, op_name: str, where: str
) -> None:
    needed, ok_status, op = OPS[op_name]
    target = _target(sec_server, world, where == "in_scope")
    allowed = perm == "admin" or (perm == needed and where == "in_scope")
    before = sec_server.head_seq()
    client = sec_server.http(world.keys[perm].token)
    response = op(client, target)
    if allowed:
        assert response.status_code == ok_status, response.text
        return
    assert_problem(response, 403, "forbidden")
    assert target.marker not in response.text
    # Nothing written, deleted or published: no seq was spent, the document is as seeded.
    assert sec_server.head_seq() == before
    admin = sec_server.http()
    doc = admin.get(f"/v1/collections/{target.collection}/docs/{target.key}")
    assert doc.json()["value"] == {"secret": target.marker}
    new = admin.get(f"/v1/collections/{target.collection}/docs/{target.key}-new")
    assert new.status_code == 404


@pytest.mark.parametrize(
    "headers",
    [
        {},
        bearer("lsk_0123456789abcdef_not-the-secret"),
        bearer("eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl"),
        {"X-API-Key": "garbage"},
        {"Authorization": "Basic YWRtaW46YWRtaW4="},
        {"Authorization": "Bearer"},
    ],
    ids=["none", "wrong_secret", "bogus_jwt", "garbage_key", "basic", "empty_bearer"],
)
@pytest.mark.parametrize("op_name", list(OPS))
def test_no_valid_credential_is_401(
    sec_server: SecServer, world: World, op_name: str, headers: dict[str, str]
) -> None:
    target = _target(sec_server, world, inside=True)
    before = sec_server.head_seq()
    with httpx.Client(base_url=sec_server.url, headers=headers, timeout=30) as client:
        response = OPS[op_name][2](client, target)
    assert_problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert target.marker not in response.text
    assert sec_server.head_seq() == before


def test_collection_list_shows_only_readable_collections(
    sec_server: SecServer, world: World
) -> None:
    sec_server.seed(world.inside, uid("doc"), 1)
    sec_server.seed(world.outside, uid("doc"), 1)
    for perm, expected in (
        ("read", {world.inside}),
        ("write", set()),
        ("delete", set()),
    ):
        client = sec_server.http(world.keys[perm].token)
        response = client.get("/v1/collections")
        assert response.status_code == 200
        assert {item["name"] for item in response.json()["items"]} == expected, perm
    client = sec_server.http(world.keys["admin"].token)
    names = {item["name"] for item in client.get("/v1/collections").json()["items"]}
    assert {world.inside, world.outside} <= names


def test_changes_star_is_filtered_to_the_scope(sec_server: SecServer, world: World) -> None:
    sec_server.seed(world.outside, uid("doc"), 1)
    sec_server.seed(world.inside, uid("doc"), 1)
    client = sec_server.http(world.keys["read"].token)
    response = client.get("/v1/changes", params={"collection": "*", "since": 0, "limit": 1000})
    assert response.status_code == 200
    changes = response.json()["changes"]
    assert changes and {c["collection"] for c in changes} == {world.inside}
    for perm in ("write", "delete"):
        client = sec_server.http(world.keys[perm].token)
        refused = client.get("/v1/changes", params={"collection": "*", "since": 0})
        assert_problem(refused, 403, "forbidden")


def test_glob_and_wildcard_names_are_not_filters(sec_server: SecServer, world: World) -> None:
    """A scope is checked against a real name: globs in a request never widen it."""
    client = sec_server.http(world.keys["read"].token)
    for collection in (world.inside[:4] + "*", "?" * len(world.inside), "[a-z]*", "**"):
        response = client.get("/v1/changes", params={"collection": collection, "since": 0})
        assert_problem(response, 422, "validation_failed")
        response = client.get(f"/v1/collections/{quote(collection, safe='')}/docs")
        assert response.status_code in (403, 404, 422), response.text
        assert response.json().get("items") is None


# --- batch: atomic authorization --------------------------------------------------------------


@pytest.mark.parametrize("bad_index", [0, 1, 2])
def test_batch_with_one_forbidden_op_writes_nothing(
    sec_server: SecServer, world: World, bad_index: int
) -> None:
    writer = sec_server.key(permissions=["write"], collections=[world.inside])
    keep = _target(sec_server, world, inside=True)
    ops: list[dict[str, Any]] = [
        {"op": "put", "collection": world.inside, "key": uid("a"), "value": 1},
        {"op": "patch", "collection": world.inside, "key": keep.key, "value": {"x": 1}},
        {"op": "put", "collection": world.inside, "key": uid("b"), "value": 2},
    ]
    forbidden = [
        {"op": "put", "collection": world.outside, "key": uid("x"), "value": 3},
        {"op": "delete", "collection": world.inside, "key": keep.key},
        {"op": "put", "collection": world.outside, "key": keep.key, "value": 4},
    ][bad_index]
    ops[bad_index] = forbidden
    before = sec_server.head_seq()
    client = sec_server.http(writer.token)
    response = client.post("/v1/batch", json={"ops": ops})
    problem = assert_problem(response, 403, "forbidden")
    assert problem["op_index"] == bad_index
    assert sec_server.head_seq() == before
    admin = sec_server.http()
    for op in ops:
        doc = admin.get(f"/v1/collections/{op['collection']}/docs/{op['key']}")
        if op["key"] == keep.key and op["collection"] == world.inside:
            assert doc.json()["value"] == {"secret": keep.marker}
        else:
            assert doc.status_code == 404


# --- key management is admin-only ---------------------------------------------------------------


@pytest.fixture
def victim(sec_server: SecServer, world: World) -> Key:
    return sec_server.key(permissions=["read"], collections=[world.inside])


def _key_routes(victim: Key) -> list[tuple[str, str, dict[str, Any] | None]]:
    return [
        ("POST", "/v1/keys", {"name": "evil", "permissions": ["admin"]}),
        ("GET", "/v1/keys", None),
        ("GET", f"/v1/keys/{victim.id}", None),
        ("PATCH", f"/v1/keys/{victim.id}", {"permissions": ["admin"], "collections": ["*"]}),
        ("DELETE", f"/v1/keys/{victim.id}", None),
        ("GET", "/v1/admin/export", None),
        ("POST", "/v1/admin/import", {"epoch": "x", "seq": 0}),
    ]


@pytest.mark.parametrize("who", ["read", "write", "delete", "jwt", "all_but_admin"])
def test_key_and_admin_routes_are_admin_only(
    sec_server: SecServer, world: World, victim: Key, who: str
) -> None:
    if who == "jwt":
        token = sec_server.mint(world.keys["write"].token)
    elif who == "all_but_admin":
        token = sec_server.key(permissions=["read", "write", "delete"], collections=["*"]).token
    else:
        token = world.keys[who].token
    admin = sec_server.http()
    count = len(admin.get("/v1/keys").json()["items"])
    client = sec_server.http(token)
    for method, path, body in _key_routes(victim):
        response = client.request(method, path, json=body)
        problem = assert_problem(response, 403, "forbidden")
        assert "lsk_" not in response.text and "token" not in problem
    admin = sec_server.http()
    assert len(admin.get("/v1/keys").json()["items"]) == count
    stored = admin.get(f"/v1/keys/{victim.id}").json()
    assert stored["permissions"] == ["read"] and stored["collections"] == [world.inside]
    client = sec_server.http(victim.token)
    assert client.get(f"/v1/collections/{world.inside}/docs").status_code == 200


def test_admin_permission_key_manages_keys_and_listing_hides_secrets(
    sec_server: SecServer, world: World
) -> None:
    client = sec_server.http(world.keys["admin"].token)
    created = client.post("/v1/keys", json={"name": "by-admin-key", "permissions": ["read"]})
    assert created.status_code == 201
    sec_server.ledger.remember(created.json()["token"])
    listed = client.get("/v1/keys")
    assert listed.status_code == 200
    one = client.get(f"/v1/keys/{created.json()['id']}")
    assert client.delete(f"/v1/keys/{created.json()['id']}").status_code == 204
    for body in (listed.text, one.text):
        assert created.json()["token"] not in body
        assert "secret" not in body and "token" not in body


# --- escalation through /v1/auth/token -----------------------------------------------------------


@pytest.fixture(scope="module")
def narrow(sec_server: SecServer, world: World) -> Key:
    return sec_server.key(
        permissions=["read", "write"],
        collections=[f"{world.inside}.*", world.inside],
        channels=[world.ch_in],
    )


@pytest.mark.parametrize(
    "ask",
    [
        {"permissions": ["delete"]},
        {"permissions": ["read", "admin"]},
        {"collections": ["*"]},
        {"collections": ["k*"]},
        {"collections": ["other"]},
        {"collections": ["*.*"]},
        {"channels": ["*"]},
        {"channels": ["other"]},
    ],
    ids=lambda a: "-".join(f"{k}={'+'.join(v)}" for k, v in a.items()),
)
def test_token_wider_than_the_key_is_refused(
    sec_server: SecServer, narrow: Key, ask: dict[str, list[str]]
) -> None:
    client = sec_server.http(narrow.token)
    response = client.post("/v1/auth/token", json={"sub": "escalate", **ask})
    assert_problem(response, 403, "forbidden")
    assert "token" not in response.json()


def test_token_as_narrow_as_asked_works_and_stays_narrow(
    sec_server: SecServer, world: World, narrow: Key
) -> None:
    sub_collection = f"{world.inside}.sub"
    jwt = sec_server.mint(
        narrow.token, permissions=["read"], collections=[f"{world.inside}.*"], channels=[]
    )
    client = sec_server.http(jwt)
    assert client.get(f"/v1/collections/{sub_collection}/docs").status_code == 200
    # Narrower than the key: the key could, the token cannot.
    assert_problem(client.get(f"/v1/collections/{world.inside}/docs"), 403, "forbidden")
    put = client.put(f"/v1/collections/{sub_collection}/docs/x", json=1)
    assert_problem(put, 403, "forbidden")
    assert_problem(client.get(f"/v1/channels/{world.ch_in}/presence"), 403, "forbidden")


def test_a_jwt_cannot_mint(sec_server: SecServer, narrow: Key) -> None:
    jwt = sec_server.mint(narrow.token)
    client = sec_server.http(jwt)
    response = client.post("/v1/auth/token", json={"sub": "again"})
    assert_problem(response, 403, "forbidden")


def test_jwt_never_outlives_its_key(sec_server: SecServer, world: World) -> None:
    expires = datetime.now(UTC) + timedelta(seconds=90)
    short = sec_server.key(
        permissions=["read"], collections=[world.inside], expires_at=expires.isoformat()
    )
    client = sec_server.http(short.token)
    response = client.post("/v1/auth/token", json={"sub": "long", "ttl_s": 86_400})
    assert response.status_code == 200, response.text
    sec_server.ledger.remember(response.json()["token"])
    issued = datetime.fromisoformat(response.json()["expires_at"].replace("Z", "+00:00"))
    assert issued <= expires
    client = sec_server.http(world.keys["read"].token)
    too_long = client.post("/v1/auth/token", json={"sub": "x", "ttl_s": 10**9})
    assert_problem(too_long, 422, "validation_failed")


def test_expired_key_and_its_tokens_are_refused(sec_server: SecServer, world: World) -> None:
    key = sec_server.key(permissions=["read"], collections=[world.inside])
    jwt = sec_server.mint(key.token)
    past = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    admin = sec_server.http()
    assert admin.patch(f"/v1/keys/{key.id}", json={"expires_at": past}).status_code == 200
    for token in (key.token, jwt):
        client = sec_server.http(token)
        assert_problem(client.get(f"/v1/collections/{world.inside}/docs"), 401, "unauthorized")
        assert_problem(client.post("/v1/auth/ticket"), 401, "unauthorized")


# --- escalation through PATCH /v1/keys and narrowing a key -------------------------------------


def test_patch_by_non_admin_cannot_widen_itself(sec_server: SecServer, world: World) -> None:
    key = sec_server.key(permissions=["read", "write", "delete"], collections=[world.inside])
    client = sec_server.http(key.token)
    for body in (
        {"permissions": ["admin"]},
        {"collections": ["*"]},
        {"allowed_ips": []},
        {"rate_limit_per_s": 1_000_000},
    ):
        assert_problem(client.patch(f"/v1/keys/{key.id}", json=body), 403, "forbidden")
    assert_problem(client.get(f"/v1/collections/{world.outside}/docs"), 403, "forbidden")
    admin = sec_server.http()
    stored = admin.get(f"/v1/keys/{key.id}").json()
    assert stored["permissions"] == ["read", "write", "delete"]
    assert stored["collections"] == [world.inside]


def test_narrowing_a_key_narrows_the_tokens_it_minted(sec_server: SecServer, world: World) -> None:
    """A JWT minted while the key was wide must not keep the old rights after a PATCH."""
    key = sec_server.key(permissions=["read", "write"], collections=[world.inside])
    jwt = sec_server.mint(key.token)  # rights: the key's, as of now
    admin = sec_server.http()
    patched = admin.patch(f"/v1/keys/{key.id}", json={"permissions": ["read"]})
    assert patched.status_code == 200
    before = sec_server.head_seq()
    for token in (key.token, jwt):
        client = sec_server.http(token)
        response = client.put(f"/v1/collections/{world.inside}/docs/{uid('n')}", json=1)
        assert response.status_code in (401, 403), response.text
    assert sec_server.head_seq() == before


# --- rate limits ---------------------------------------------------------------------------------


def test_rate_limit_429_with_retry_after_and_nothing_written(
    sec_server: SecServer, world: World
) -> None:
    key = sec_server.key(
        permissions=["read", "write"], collections=[world.inside], rate_limit_per_s=3
    )
    before = sec_server.head_seq()
    statuses = []
    client = sec_server.http(key.token)
    for i in range(12):
        response = client.put(f"/v1/collections/{world.inside}/docs/rl-{i}", json=i)
        statuses.append(response.status_code)
        if response.status_code == 429:
            assert_problem(response, 429, "rate_limited")
            assert int(response.headers["retry-after"]) >= 1
    assert set(statuses) == {201, 429}, statuses
    # Refused writes left nothing behind: exactly one seq per accepted write.
    assert sec_server.head_seq() == before + statuses.count(201)
    admin = sec_server.http()
    for i, status in enumerate(statuses):
        exists = admin.get(f"/v1/collections/{world.inside}/docs/rl-{i}").status_code == 200
        assert exists == (status == 201)


def test_minted_jwt_shares_the_key_budget(sec_server: SecServer, world: World) -> None:
    key = sec_server.key(permissions=["read"], collections=[world.inside], rate_limit_per_s=2)
    jwt = sec_server.mint(key.token)
    by_key, by_jwt = sec_server.http(key.token), sec_server.http(jwt)
    path = f"/v1/collections/{world.inside}/docs"
    # Spend the key's budget, then ask with the token at once: refused, as it shares
    # the key's budget. (Retried, bounded, in case the 1 s window slid in between on
    # a slow machine; with a budget of its own the token would never be refused.)
    for _ in range(5):
        time.sleep(1.1)  # a full window
        if not any(by_key.get(path).status_code == 429 for _ in range(20)):
            raise AssertionError("the key was never rate limited")
        response = by_jwt.get(path)
        if response.status_code == 429:
            assert_problem(response, 429, "rate_limited")
            return
    raise AssertionError("the token did not share the key's budget")
