"""Hostile names: `..`, NUL, separators, percent-encoding and look-alike collections must
never read or write another collection, and never answer 500. Paths are sent byte for
byte (http.client), since httpx would normalise `..` and re-encode `%2F`.
"""

from __future__ import annotations

import http.client
import unicodedata
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import orjson
import pytest

from tests.security_helpers import Key, SecServer, assert_problem, uid, ws_client


@dataclass
class Tenants:
    mine: str  # the collection the key may use
    victim: str  # a collection it may not
    key: Key
    marker: str


@pytest.fixture(scope="module")
def tenants(sec_server: SecServer) -> Tenants:
    mine, victim, marker = uid("mine"), uid("victim"), uid("marker")
    sec_server.seed(victim, "doc", {"marker": marker})
    sec_server.seed(victim, "docs/doc", {"marker": marker})
    key = sec_server.key(permissions=["read", "write", "delete"], collections=[mine])
    return Tenants(mine, victim, key, marker)


def raw(
    server: SecServer, method: str, path: str, token: str, body: Any = None
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.proc.port, timeout=30)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        conn.putheader("Authorization", f"Bearer {token}")
        data = orjson.dumps(body) if body is not None else None
        if data is not None:
            conn.putheader("Content-Type", "application/json")
            conn.putheader("Content-Length", str(len(data)))
        conn.endheaders(data)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def _victim_untouched(server: SecServer, t: Tenants) -> None:
    admin = server.http()
    for key in ("doc", "docs/doc"):
        doc = admin.get(f"/v1/collections/{t.victim}/docs/{key}")
        assert doc.status_code == 200 and doc.json()["value"] == {"marker": t.marker}
    changes = admin.get("/v1/changes", params={"collection": t.victim, "since": 0}).json()
    assert len(changes["changes"]) == 2, changes
    names = {item["name"] for item in admin.get("/v1/collections").json()["items"]}
    assert all("\x00" not in n and not n.startswith(".") for n in names)


TRAVERSALS = [
    "a/../../{victim}/docs/doc",
    "../../{victim}/docs/doc",
    "..%2F..%2F{victim}%2Fdocs%2Fdoc",
    "%2E%2E/%2E%2E/{victim}/docs/doc",
    "..%252F..%252F{victim}%252Fdocs%252Fdoc",
    "./../{victim}/docs/doc",
    "docs/../../../{victim}/docs/doc",
    "a;b=../{victim}",
    "%5C..%5C{victim}%5Cdocs%5Cdoc",
]


@pytest.mark.parametrize("template", TRAVERSALS)
def test_traversal_in_a_key_stays_in_the_callers_collection(
    sec_server: SecServer, tenants: Tenants, template: str
) -> None:
    encoded = template.format(victim=tenants.victim)
    path = f"/v1/collections/{tenants.mine}/docs/{encoded}"
    status, _headers, body = raw(sec_server, "PUT", path, tenants.key.token, {"mine": 1})
    assert status in (200, 201), body
    envelope = orjson.loads(body)
    assert envelope["collection"] == tenants.mine
    # The same raw path reads back the same document, from the caller's collection.
    status, _headers, body = raw(sec_server, "GET", path, tenants.key.token)
    assert status == 200 and orjson.loads(body)["key"] == envelope["key"]
    assert tenants.marker not in body.decode()
    listed = sec_server.http(tenants.key.token).get(
        f"/v1/collections/{tenants.mine}/docs", params={"prefix": envelope["key"]}
    )
    assert [i["key"] for i in listed.json()["items"]][:1] == [envelope["key"]]
    status, _headers, _body = raw(sec_server, "DELETE", path, tenants.key.token)
    assert status == 204
    _victim_untouched(sec_server, tenants)


HOSTILE_PATHS = [
    "/v1/collections/../docs/doc",
    "/v1/collections/%2E%2E/docs/doc",
    "/v1/collections/./docs/doc",
    "/v1/collections/{mine}%2F..%2F{victim}/docs/doc",
    "/v1/collections/{mine}/../{victim}/docs/doc",
    "/v1/collections/{victim}%00/docs/doc",
    "/v1/collections/{mine}%00{victim}/docs/doc",
    "/v1/collections/{mine}/docs/x%00y",
    "/v1/collections/{mine}/docs/%00",
    "/v1/collections/{mine}/docs/a%0Ab",
    "/v1/collections/{mine}/docs/a%7Fb",
    "/v1/collections/{mine};v={victim}/docs/doc",
    "/v1/collections/{mine}%5C..%5C{victim}/docs/doc",
    "/v1/collections/{mine}*/docs/doc",
    "/v1/collections/{mine}/docs/",
    "/v1/collections/{mine}/docs/" + "k" * 513,
    "/v1/collections/" + "c" * 65 + "/docs/doc",
    "/v1/collections/%FF%FE/docs/doc",
    "/v1/collections/{mine}/docs/%C0%AE%C0%AE",  # overlong UTF-8 for ..
    "/v1/collections/{mine}/docs/%ED%A0%80",  # a lone surrogate
]


@pytest.mark.parametrize("template", HOSTILE_PATHS)
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_hostile_paths_are_refused_without_crossing(
    sec_server: SecServer, tenants: Tenants, template: str, method: str
) -> None:
    path = template.format(mine=tenants.mine, victim=tenants.victim)
    before = sec_server.head_seq()
    body = {"owned": True} if method == "PUT" else None
    status, headers, data = raw(sec_server, method, path, tenants.key.token, body)
    assert 400 <= status < 500, (status, data)
    assert tenants.marker not in data.decode(errors="replace")
    if status != 307:
        assert headers["content-type"].startswith("application/problem+json")
    assert sec_server.head_seq() == before
    _victim_untouched(sec_server, tenants)


@pytest.mark.parametrize(
    ("collection", "key"),
    [
        ("{mine}", "x\x00y"),
        ("{mine}", "\x00"),
        ("{mine}", ""),
        ("{mine}", "a\r\nb"),
        ("{mine}\x00", "doc"),
        ("{mine}/../{victim}", "doc"),
        ("..", "doc"),
        ("", "doc"),
        ("{mine}", "k" * 513),
        ("{mine}", 7),
        (["{victim}"], "doc"),
    ],
)
def test_hostile_names_in_batch_bodies(
    sec_server: SecServer, tenants: Tenants, collection: Any, key: Any
) -> None:
    def fill(value: Any) -> Any:
        if isinstance(value, str):
            return value.format(mine=tenants.mine, victim=tenants.victim)
        if isinstance(value, list):
            return [fill(v) for v in value]
        return value

    ops = [
        {"op": "put", "collection": tenants.mine, "key": "fine", "value": 1},
        {"op": "put", "collection": fill(collection), "key": fill(key), "value": {"owned": 1}},
    ]
    before = sec_server.head_seq()
    response = sec_server.http(tenants.key.token).post("/v1/batch", json={"ops": ops})
    problem = assert_problem(response, 422, "validation_failed")
    assert problem["op_index"] == 1
    assert sec_server.head_seq() == before
    _victim_untouched(sec_server, tenants)


def test_collection_that_prefixes_another_never_sees_its_documents(
    sec_server: SecServer,
) -> None:
    user = uid("user")
    for collection in (user, f"{user}s", f"{user}.x", f"{user}_"):
        sec_server.seed(collection, "k", {"in": collection})
    sec_server.seed(user, "k2", {"in": user})
    key = sec_server.key(permissions=["read"], collections=[user])
    client = sec_server.http(key.token)
    page = client.get(f"/v1/collections/{user}/docs").json()
    assert {i["collection"] for i in page["items"]} == {user} and len(page["items"]) == 2
    for params in (
        {"prefix": "k"},
        {"gte": " "},
        {"lte": "\U0010ffff"},
        {"gt": "k", "lt": "\U0010ffff"},
        {"reverse": True},
    ):
        items = client.get(f"/v1/collections/{user}/docs", params=params).json()["items"]
        assert {i["collection"] for i in items} <= {user}, params
        assert all("secret_sha256" not in str(i) for i in items)
    for other in (f"{user}s", f"{user}.x", f"{user}_"):
        assert_problem(client.get(f"/v1/collections/{other}/docs"), 403, "forbidden")
    changes = client.get("/v1/changes", params={"collection": user, "since": 0}).json()
    assert {c["collection"] for c in changes["changes"]} == {user}


def test_bounds_outside_the_key_space_are_refused(sec_server: SecServer, tenants: Tenants) -> None:
    client = sec_server.http(tenants.key.token)
    for params in ({"gte": ""}, {"prefix": ""}, {"gt": "\x00"}, {"lt": "\x7f"}, {"cursor": "!!"}):
        response = client.get(f"/v1/collections/{tenants.mine}/docs", params=params)
        assert response.status_code in (400, 422), (params, response.text)
        assert tenants.marker not in response.text
    forged = "eyJjIjoidmljdGltIiwiayI6ImRvYyIsInIiOmZhbHNlfQ"  # {"c":"victim",...}
    response = client.get(f"/v1/collections/{tenants.mine}/docs", params={"cursor": forged})
    assert_problem(response, 400, "bad_request")


def test_unicode_forms_are_distinct_and_stay_put(sec_server: SecServer, tenants: Tenants) -> None:
    """No normalisation: NFC and NFD are two keys, each read back by its own form."""
    client = sec_server.http(tenants.key.token)
    nfc = unicodedata.normalize("NFC", "caf\u00e9")
    nfd = unicodedata.normalize("NFD", nfc)
    for form, value in ((nfc, "nfc"), (nfd, "nfd"), ("a\uff0fb", "fullwidth"), ("\u202eab", "rtl")):
        path = f"/v1/collections/{tenants.mine}/docs/{quote(form)}"
        assert client.put(path, json=value).status_code in (200, 201)
        got = client.get(path).json()
        assert (got["collection"], got["key"], got["value"]) == (tenants.mine, form, value)
    _victim_untouched(sec_server, tenants)


async def test_hostile_names_over_the_websocket(sec_server: SecServer, tenants: Tenants) -> None:
    before = sec_server.head_seq()
    async with ws_client(sec_server, token=tenants.key.token) as ws:
        for collection in (f"../{tenants.victim}", f"{tenants.mine}\x00", "..", f"{tenants.mine}*"):
            await ws.refused("validation_failed", "subscribe", sub=uid("s"), collection=collection)
            await ws.refused("validation_failed", "get", collection=collection, key="doc")
        await ws.refused("validation_failed", "put", collection=tenants.mine, key="a\x00b", value=1)
        key = f"../../{tenants.victim}/docs/doc"
        reply = await ws.refused("not_found", "get", collection=tenants.mine, key=key)
        assert tenants.marker not in str(reply)
    assert sec_server.head_seq() == before
    _victim_untouched(sec_server, tenants)
