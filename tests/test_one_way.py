"""One implementation per operation: edge inputs answered alike by every way in.

Each case goes through a real server three ways where it can: REST without an
Origin (the front door's dispatch), REST with an allowed Origin (FastAPI's stack and
the route), and the WebSocket op where one exists. The two REST answers must be
the same status and the same body (but the request id), and the status the one the
contract gives; a WebSocket reply must carry the same code, and the same detail
where the op reads the same value the same way. A parameter shared by operations
(`ttl_s` of PUT, PATCH and POST; `limit` of range reads and `/v1/changes`) is refused
with the same words by each.
"""

from __future__ import annotations

import base64
import http.client
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson
import pytest

from tests.realtime_clients import ws_client
from tests.server import ADMIN_TOKEN, ServerProcess

ORIGIN = "https://app.example"
COLL = "oneway"
DOC = f"/v1/collections/{COLL}/docs/d1"  # exists (rev fixed by the fixture)
MISSING = f"/v1/collections/{COLL}/docs/missing"
RANGE = f"/v1/collections/{COLL}/docs"
MAX_VALUE_BYTES = 1000
AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: str
    status: int
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=lambda: dict(AUTH))
    ws: dict[str, Any] | None = None  # the WebSocket op with the same input
    same_detail: bool = True  # whether the WebSocket op words it as REST does
    cors: bool = True  # False: refused by the request context, outside CORS


def forged_cursor(**claims: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(claims)).decode().rstrip("=")


CONTROL_KEY = "a\x01"
DEEP = b"[" * 100 + b"]" * 100
BIG = orjson.dumps({"text": "x" * (MAX_VALUE_BYTES + 10)})

CASES = [
    # ttl_s: empty, not a number, out of range, on every write that takes it
    Case("put ttl empty", "PUT", f"{MISSING}?ttl_s=", 422, b"{}"),
    Case("put ttl abc", "PUT", f"{MISSING}?ttl_s=abc", 422, b"{}"),
    Case("put ttl nan", "PUT", f"{MISSING}?ttl_s=nan", 422, b"{}"),
    *(
        Case(
            f"put ttl {ttl}",
            "PUT",
            f"{MISSING}?ttl_s={ttl}",
            422,
            b"{}",
            ws={"op": "put", "collection": COLL, "key": "missing", "value": {}, "ttl_s": ttl},
        )
        for ttl in (0, -1, 315360001)
    ),
    Case("patch ttl empty", "PATCH", f"{DOC}?ttl_s=", 422, b"{}"),
    Case("patch ttl 0", "PATCH", f"{DOC}?ttl_s=0", 422, b"{}"),
    Case("create ttl empty", "POST", f"{RANGE}?ttl_s=", 422, b"{}"),
    Case("create ttl 0", "POST", f"{RANGE}?ttl_s=0", 422, b"{}"),
    # limit, cursors and flags of a range read
    *(
        Case(f"range limit {v!r}", "GET", f"{RANGE}?limit={v}", 422)
        for v in ("0", "1001", "abc", "")
    ),
    Case("range limit 1000", "GET", f"{RANGE}?limit=1000", 200),
    Case("range reverse yes", "GET", f"{RANGE}?reverse=yes", 200),
    Case("range reverse maybe", "GET", f"{RANGE}?reverse=maybe", 422),
    Case("range cursor bad", "GET", f"{RANGE}?cursor=!!!", 400),
    Case(
        "range cursor forged",
        "GET",
        f"{RANGE}?cursor={forged_cursor(c='other', k='a', r=False)}",
        400,
    ),
    Case(
        "range cursor control key",
        "GET",
        f"{RANGE}?cursor={forged_cursor(c=COLL, k=CONTROL_KEY, r=False)}",
        400,
    ),
    Case("range cursor too long", "GET", f"{RANGE}?cursor={'A' * 2049}", 422),
    # where, order_by and explain: the same answers on every path
    Case("range where", "GET", f"{RANGE}?where=doc.n%20%3E%201", 200),
    Case("range where explain", "GET", f"{RANGE}?where=doc.n%20%3E%201&explain=true", 200),
    Case("range where broken", "GET", f"{RANGE}?where=doc.n%20%3E", 422),
    Case("range where unknown variable", "GET", f"{RANGE}?where=user%20%3D%3D%201", 422),
    Case("range order_by unindexed", "GET", f"{RANGE}?order_by=n", 422),
    Case("range order_by bad path", "GET", f"{RANGE}?order_by=a..b", 422),
    Case("range bound empty", "GET", f"{RANGE}?gt=", 422),
    Case("range bound control", "GET", f"{RANGE}?prefix=a%01", 422),
    # /v1/changes shares the page limit
    *(
        Case(f"changes limit {v!r}", "GET", f"/v1/changes?collection={COLL}&limit={v}", 422)
        for v in ("0", "1001", "abc", "")
    ),
    Case("changes no collection", "GET", "/v1/changes", 422),
    Case("changes wait 61", "GET", f"/v1/changes?collection={COLL}&wait=61", 422),
    Case("changes since -1", "GET", f"/v1/changes?collection={COLL}&since=-1", 422),
    # /v1/stream's refusals (a stream that opens never ends, so only refusals here)
    Case("stream since abc", "GET", f"/v1/stream?collection={COLL}&since=abc", 422),
    Case("stream snapshot maybe", "GET", f"/v1/stream?collection={COLL}&snapshot=maybe", 422),
    Case("stream nothing", "GET", "/v1/stream", 422),
    Case("stream bad name", "GET", "/v1/stream?collection=bad%20name", 422),
    Case("stream bad ticket", "GET", f"/v1/stream?collection={COLL}&ticket=nope", 401, headers={}),
    # bodies
    Case(
        "put null",
        "PUT",
        MISSING,
        422,
        b"null",
        ws={"op": "put", "collection": COLL, "key": "missing", "value": None},
    ),
    Case("put empty body", "PUT", MISSING, 400, b""),
    Case("put invalid json", "PUT", MISSING, 400, b"{nope"),
    Case("put too deep", "PUT", MISSING, 422, DEEP),
    Case(
        "put too large",
        "PUT",
        MISSING,
        413,
        BIG,
        ws={"op": "put", "collection": COLL, "key": "missing", "value": orjson.loads(BIG)},
    ),
    Case("patch null", "PATCH", DOC, 422, b"null"),
    Case("create null", "POST", RANGE, 422, b"null"),
    Case("batch empty", "POST", "/v1/batch", 422, b'{"ops":[]}', ws={"op": "batch", "ops": []}),
    Case(
        "batch ttl 0",
        "POST",
        "/v1/batch",
        422,
        orjson.dumps(
            {"ops": [{"op": "put", "collection": COLL, "key": "b", "value": 1, "ttl_s": 0}]}
        ),
        ws={
            "op": "batch",
            "ops": [{"op": "put", "collection": COLL, "key": "b", "value": 1, "ttl_s": 0}],
        },
    ),
    Case("token ttl 0", "POST", "/v1/auth/token", 422, b'{"sub":"a","ttl_s":0}'),
    Case("channel publish bad name", "POST", "/v1/channels/bad%20name/messages", 422, b"1"),
    # names and keys
    Case(
        "get bad collection",
        "GET",
        "/v1/collections/bad%20name/docs/k",
        422,
        ws={"op": "get", "collection": "bad name", "key": "k"},
    ),
    Case(
        "get long collection",
        "GET",
        f"/v1/collections/{'c' * 65}/docs/k",
        422,
        ws={"op": "get", "collection": "c" * 65, "key": "k"},
    ),
    Case(
        "get long key",
        "GET",
        f"/v1/collections/{COLL}/docs/{'k' * 513}",
        422,
        ws={"op": "get", "collection": COLL, "key": "k" * 513},
    ),
    Case(
        "get missing",
        "GET",
        MISSING,
        404,
        ws={"op": "get", "collection": COLL, "key": "missing"},
    ),
    Case(
        "put control key",
        "PUT",
        f"/v1/collections/{COLL}/docs/a%01b",
        422,
        b"{}",
        # The URL is refused before routing; the op's key by `validate_key`.
        ws={"op": "put", "collection": COLL, "key": "a\x01b", "value": {}},
        same_detail=False,
        cors=False,
    ),
    Case(
        "delete bad collection",
        "DELETE",
        "/v1/collections/.bad/docs/k",
        422,
        ws={"op": "delete", "collection": ".bad", "key": "k"},
    ),
    # If-Match forms (on a missing document: nothing can change) and If-None-Match
    *(
        Case(f"put if-match {v!r}", "PUT", MISSING, status, b"{}", headers={**AUTH, "If-Match": v})
        for v, status in (("", 400), ("*", 412), ('W/"1"', 412), ("abc", 400), ('"1", "2"', 400))
    ),
    *(
        Case(f"delete if-match {v!r}", "DELETE", MISSING, status, headers={**AUTH, "If-Match": v})
        for v, status in (("", 400), ("*", 404), ('W/"1"', 412), ("abc", 400), ('"1", "2"', 400))
    ),
    Case("put if-none-match x", "PUT", MISSING, 400, b"{}", headers={**AUTH, "If-None-Match": "x"}),
    *(
        Case(f"get if-none-match {v!r}", "GET", DOC, status, headers={**AUTH, "If-None-Match": v})
        for v, status in (("*", 304), ('W/"1"', 304), ("abc", 200), ('"7", W/"9"', 200), ("", 200))
    ),
    # no credential
    Case("get unauthenticated", "GET", DOC, 401, headers={}),
    Case("range unauthenticated", "GET", f"{RANGE}?limit=0", 401, headers={}),
]


@pytest.fixture(scope="module")
def one_way(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(
        Path(tmp_path_factory.mktemp("one-way")) / "data",
        LEVELSTREAM_ALLOWED_ORIGINS=ORIGIN,
        LEVELSTREAM_MAX_VALUE_BYTES=str(MAX_VALUE_BYTES),
    ).start()
    status, _, body = send(proc, "PUT", DOC, b'{"n":1}', AUTH)
    assert status == 201, body
    yield proc
    proc.stop()


def send(
    server: ServerProcess, method: str, path: str, body: bytes | None, headers: dict[str, str]
) -> tuple[int, dict[str, str], bytes]:
    """The request byte for byte (httpx would re-encode the path and query)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for name, value in headers.items():
            conn.putheader(name, value)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def comparable(body: bytes) -> Any:
    """A response body without what differs per request (the request id)."""
    if not body:
        return None
    value = orjson.loads(body)
    if isinstance(value, dict):
        value.pop("request_id", None)
    return value


def rest(server: ServerProcess, case: Case, origin: str | None) -> tuple[int, Any]:
    headers = {**case.headers, **({"Origin": origin} if origin else {})}
    status, response_headers, body = send(server, case.method, case.path, case.body, headers)
    if origin and case.cors:  # it took the stack: CORS answered for the allowed origin
        assert response_headers.get("access-control-allow-origin") == origin, case.name
    return status, comparable(body)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_every_way_in_answers_alike(one_way: ServerProcess, case: Case) -> None:
    front_door = rest(one_way, case, None)
    stack = rest(one_way, case, ORIGIN)
    assert front_door == stack, f"{case.name}: without Origin {front_door}, with {stack}"
    status, body = front_door
    assert status == case.status, f"{case.name}: {body}"
    if status >= 400:
        assert body["status"] == status and body["detail"], body
    if case.ws is None:
        return
    async with ws_client(one_way) as ws:
        reply = await ws.request(case.ws["op"], **{k: v for k, v in case.ws.items() if k != "op"})
    assert reply["ok"] is False, reply
    assert reply["error"]["code"] == body["code"], (reply, body)
    if case.same_detail:
        assert reply["error"]["message"] == body["detail"], (reply, body)


def test_the_document_is_unchanged(one_way: ServerProcess) -> None:
    """Every refused write above changed nothing: the one document is as the fixture
    wrote it, and the missing one is still missing."""
    status, _, body = send(one_way, "GET", DOC, None, AUTH)
    assert status == 200 and orjson.loads(body)["value"] == {"n": 1}
    assert send(one_way, "GET", MISSING, None, AUTH)[0] == 404
    status, _, body = send(one_way, "GET", f"{RANGE}?limit=10", None, AUTH)
    assert [item["key"] for item in orjson.loads(body)["items"]] == ["d1"]


@pytest.mark.parametrize(
    ("shared", "paths"),
    [
        ("ttl_s=", [("PUT", MISSING), ("PATCH", DOC), ("POST", RANGE)]),
        ("ttl_s=0", [("PUT", MISSING), ("PATCH", DOC), ("POST", RANGE)]),
        ("limit=0", [("GET", RANGE), ("GET", "/v1/changes?collection=oneway")]),
        ("limit=abc", [("GET", RANGE), ("GET", "/v1/changes?collection=oneway")]),
    ],
)
def test_a_shared_parameter_is_refused_alike(
    one_way: ServerProcess, shared: str, paths: list[tuple[str, str]]
) -> None:
    """One declaration per parameter: each operation that takes it words a refusal alike."""
    answers = []
    for method, path in paths:
        joined = f"{path}{'&' if '?' in path else '?'}{shared}"
        body = b"{}" if method != "GET" else None
        status, _, raw = send(one_way, method, joined, body, AUTH)
        problem = orjson.loads(raw)
        answers.append((status, problem["field"], problem["detail"], problem["errors"]))
    assert answers[0][0] == 422
    assert all(answer == answers[0] for answer in answers), answers


def test_an_encoded_key_is_one_key(one_way: ServerProcess) -> None:
    """A key that needs escaping reaches the same document by both dispatches."""
    path = f"/v1/collections/{COLL}/docs/{quote('a b/ü', safe='/')}"
    status, _, _ = send(one_way, "PUT", path, b"[1]", AUTH)
    assert status == 201
    try:
        for origin in (None, ORIGIN):
            headers = {**AUTH, **({"Origin": origin} if origin else {})}
            status, _, body = send(one_way, "GET", path, None, headers)
            assert status == 200 and orjson.loads(body)["key"] == "a b/ü"
    finally:
        assert send(one_way, "DELETE", path, None, AUTH)[0] == 204
