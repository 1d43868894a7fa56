"""The bad-input catalogue through a real server.

Every case must be refused with a 4xx RFC 9457 problem carrying the contract
`code`, write nothing (the database's head seq does not move), never be a 5xx,
and leave the server healthy.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import pytest

from tests.helpers import assert_problem, head_seq, raw_request
from tests.server import ADMIN_TOKEN, ServerProcess

DEEP = b"[" * 100_000 + b"]" * 100_000
DOC = "/v1/collections/{coll}/docs/k"


@dataclass(frozen=True)
class Case:
    id: str
    method: str
    path: str
    status: int
    code: str
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    raw: bool = False  # send the path byte for byte (no client-side normalisation)
    anonymous: bool = False

    def send(self, server: ServerProcess, client: httpx.Client, coll: str) -> httpx.Response:
        path = self.path.replace("{coll}", coll)
        if self.raw:
            status, headers, body = raw_request(
                server, self.method, path, self.content, self.headers
            )
            return httpx.Response(status, headers=headers, content=body)
        if self.anonymous:
            with httpx.Client(base_url=server.url, timeout=30) as anonymous:
                return anonymous.request(
                    self.method, path, content=self.content, headers=self.headers
                )
        return client.request(
            self.method,
            path,
            content=self.content,
            headers=self.headers,
            params=self.params or None,  # an empty dict would drop the query in `path`
        )


def batch_of(*ops: dict[str, Any]) -> bytes:
    return orjson.dumps({"ops": list(ops)})


def put_op(**fields: Any) -> dict[str, Any]:
    return {"op": "put", "collection": "bad_input_batch", "key": "k", "value": 1, **fields}


BAD = 400, "bad_request"
INVALID = 422, "validation_failed"
TOO_LARGE = 413, "payload_too_large"
UNAUTHORIZED = 401, "unauthorized"


def case(id: str, method: str, path: str, expected: tuple[int, str], **kw: Any) -> Case:
    return Case(id, method, path, expected[0], expected[1], **kw)


CASES = [
    # --- malformed bodies ---
    case("malformed-json", "PUT", DOC, BAD, content=b'{"a":'),
    case("single-quotes", "PUT", DOC, BAD, content=b"{'a': 1}"),
    case("trailing-garbage", "PUT", DOC, BAD, content=b'{"a": 1} x'),
    case("empty-body", "PUT", DOC, BAD, content=b""),
    case("blank-body", "PUT", DOC, BAD, content=b"  \n "),
    case("empty-post", "POST", "/v1/collections/{coll}/docs", BAD, content=b""),
    case("empty-batch-body", "POST", "/v1/batch", BAD, content=b""),
    case("nan", "PUT", DOC, BAD, content=b'{"a": NaN}'),
    case("infinity", "PUT", DOC, BAD, content=b"[Infinity]"),
    case("minus-infinity", "PUT", DOC, BAD, content=b"-Infinity"),
    case("overflowing-number", "PUT", DOC, BAD, content=b"1e999"),
    case("huge-integer", "PUT", DOC, BAD, content=b"1" + b"0" * 100_000),
    case("lone-high-surrogate", "PUT", DOC, BAD, content=b'{"a": "\\ud800"}'),
    case("lone-low-surrogate", "PUT", DOC, BAD, content=b'["\\udc00"]'),
    case("raw-surrogate-bytes", "PUT", DOC, BAD, content=b'"\xed\xa0\x80"'),
    case("invalid-utf8", "PUT", DOC, BAD, content=b'"\xff\xfe"'),
    case(
        "surrogate-in-batch-key",
        "POST",
        "/v1/batch",
        BAD,
        content=b'{"ops": [{"op": "put", "collection": "c", "key": "\\ud800", "value": 1}]}',
    ),
    # --- null and nesting ---
    case("null-put", "PUT", DOC, INVALID, content=b"null"),
    case("null-post", "POST", "/v1/collections/{coll}/docs", INVALID, content=b"null"),
    case("null-batch-value", "POST", "/v1/batch", INVALID, content=batch_of(put_op(value=None))),
    case("deep-put", "PUT", DOC, INVALID, content=DEEP),
    case("deep-patch", "PATCH", DOC, INVALID, content=DEEP),
    case("deep-post", "POST", "/v1/collections/{coll}/docs", INVALID, content=DEEP),
    case("just-too-deep", "PUT", DOC, INVALID, content=b"[" * 65 + b"]" * 65),
    case("deep-object", "PUT", DOC, INVALID, content=b'{"a":' * 5000 + b"1" + b"}" * 5000),
    case(
        "deep-in-batch-op",
        "POST",
        "/v1/batch",
        INVALID,
        content=b'{"ops": [{"op": "put", "collection": "c", "key": "k", "value": ' + DEEP + b"}]}",
    ),
    # --- size limits (the 4 MiB body limit is tested on its own server below) ---
    case("value-over-1mib", "PUT", DOC, TOO_LARGE, content=orjson.dumps("x" * (1024 * 1024))),
    case(
        "post-value-over-1mib",
        "POST",
        "/v1/collections/{coll}/docs",
        TOO_LARGE,
        content=orjson.dumps(["y" * 1024] * 1024),
    ),
    case(
        "batch-value-over-1mib",
        "POST",
        "/v1/batch",
        TOO_LARGE,
        content=batch_of(put_op(key="a"), put_op(key="b", value="z" * (1024 * 1024))),
    ),
    # --- collection names ---
    case("collection-dotdot", "PUT", "/v1/collections/../docs/k", INVALID, content=b"1", raw=True),
    case("collection-dot", "PUT", "/v1/collections/./docs/k", INVALID, content=b"1", raw=True),
    case("collection-65-chars", "PUT", f"/v1/collections/{'a' * 65}/docs/k", INVALID, content=b"1"),
    case("collection-leading-dash", "PUT", "/v1/collections/-a/docs/k", INVALID, content=b"1"),
    case("collection-leading-dot", "PUT", "/v1/collections/.a/docs/k", INVALID, content=b"1"),
    case("collection-star", "PUT", "/v1/collections/*/docs/k", INVALID, content=b"1"),
    case("collection-space", "PUT", "/v1/collections/a%20b/docs/k", INVALID, content=b"1"),
    case("collection-nul", "PUT", "/v1/collections/a%00/docs/k", INVALID, content=b"1"),
    case("collection-unicode", "PUT", "/v1/collections/caf%C3%A9/docs/k", INVALID, content=b"1"),
    case("collection-get-65", "GET", f"/v1/collections/{'b' * 65}/docs/k", INVALID),
    case("collection-range-dash", "GET", "/v1/collections/-x/docs", INVALID),
    case("collection-delete-dotdot", "DELETE", "/v1/collections/../docs/k", INVALID, raw=True),
    case("collection-post-dash", "POST", "/v1/collections/-x/docs", INVALID, content=b"1"),
    case(
        "collection-in-batch",
        "POST",
        "/v1/batch",
        INVALID,
        content=batch_of(put_op(collection="..")),
    ),
    case("collection-changes", "GET", "/v1/changes?collection=..", INVALID),
    # --- keys ---
    case("key-nul", "PUT", "/v1/collections/{coll}/docs/a%00b", INVALID, content=b"1"),
    case("key-unit-separator", "PUT", "/v1/collections/{coll}/docs/a%1f", INVALID, content=b"1"),
    case("key-del", "PUT", "/v1/collections/{coll}/docs/%7f", INVALID, content=b"1"),
    case("key-newline", "PUT", "/v1/collections/{coll}/docs/a%0Ab", INVALID, content=b"1"),
    case("key-get-nul", "GET", "/v1/collections/{coll}/docs/%00", INVALID),
    case("key-delete-del", "DELETE", "/v1/collections/{coll}/docs/x%7F", INVALID),
    case("key-patch-cr", "PATCH", "/v1/collections/{coll}/docs/x%0D", INVALID, content=b"{}"),
    case("key-600-bytes", "PUT", "/v1/collections/{coll}/docs/" + "k" * 600, INVALID, content=b"1"),
    case(
        "key-514-bytes-utf8",
        "PUT",
        "/v1/collections/{coll}/docs/" + "%C3%A9" * 257,
        INVALID,
        content=b"1",
    ),
    case("key-get-600-bytes", "GET", "/v1/collections/{coll}/docs/" + "k" * 600, INVALID),
    case("key-invalid-utf8", "PUT", "/v1/collections/{coll}/docs/%FF", INVALID, content=b"1"),
    case(
        "key-lone-surrogate",
        "PUT",
        "/v1/collections/{coll}/docs/%ED%A0%80",
        INVALID,
        content=b"1",
    ),
    case("key-overlong-slash", "PUT", "/v1/collections/{coll}/docs/%C0%AF", INVALID, content=b"1"),
    case("batch-key-nul", "POST", "/v1/batch", INVALID, content=batch_of(put_op(key="a\x00"))),
    case("batch-key-600", "POST", "/v1/batch", INVALID, content=batch_of(put_op(key="k" * 600))),
    case("batch-key-empty", "POST", "/v1/batch", INVALID, content=batch_of(put_op(key=""))),
    case("batch-key-number", "POST", "/v1/batch", INVALID, content=batch_of(put_op(key=7))),
    case("prefix-invalid-utf8", "GET", "/v1/collections/{coll}/docs?prefix=%FF", INVALID),
    # --- query parameters and headers ---
    case("range-limit-1001", "GET", "/v1/collections/{coll}/docs", INVALID, params={"limit": 1001}),
    case(
        "range-limit-huge", "GET", "/v1/collections/{coll}/docs", INVALID, params={"limit": 10**9}
    ),
    case("range-limit-zero", "GET", "/v1/collections/{coll}/docs", INVALID, params={"limit": 0}),
    case("range-limit-text", "GET", "/v1/collections/{coll}/docs", INVALID, params={"limit": "x"}),
    case(
        "changes-limit-1001",
        "GET",
        "/v1/changes",
        INVALID,
        params={"collection": "c", "limit": 1001},
    ),
    case("ttl-zero", "PUT", DOC, INVALID, content=b"1", params={"ttl_s": 0}),
    case("ttl-negative", "PUT", DOC, INVALID, content=b"1", params={"ttl_s": -5}),
    case("ttl-text", "PUT", DOC, INVALID, content=b"1", params={"ttl_s": "soon"}),
    case("ttl-nan", "PUT", DOC, INVALID, content=b"1", params={"ttl_s": "nan"}),
    case(
        "ttl-post",
        "POST",
        "/v1/collections/{coll}/docs",
        INVALID,
        content=b"1",
        params={"ttl_s": 0},
    ),
    case("if-match-garbage", "PUT", DOC, BAD, content=b"1", headers={"If-Match": "abc"}),
    case("if-none-match-etag", "PUT", DOC, BAD, content=b"1", headers={"If-None-Match": '"3"'}),
    # --- batches ---
    case(
        "unknown-op", "POST", "/v1/batch", INVALID, content=batch_of({"op": "explode", "key": "k"})
    ),
    case("ops-not-a-list", "POST", "/v1/batch", INVALID, content=b'{"ops": {"op": "put"}}'),
    case("batch-not-an-object", "POST", "/v1/batch", INVALID, content=b"[]"),
    case("batch-null", "POST", "/v1/batch", INVALID, content=b"null"),
    case("batch-empty", "POST", "/v1/batch", INVALID, content=b'{"ops": []}'),
    case(
        "batch-1001-ops",
        "POST",
        "/v1/batch",
        INVALID,
        content=batch_of(*(put_op(key=f"k{i}") for i in range(1001))),
    ),
    # --- credentials ---
    case("no-credential", "PUT", DOC, UNAUTHORIZED, content=b"1", anonymous=True),
    case("no-credential-get", "GET", DOC, UNAUTHORIZED, anonymous=True),
    case(
        "no-credential-batch",
        "POST",
        "/v1/batch",
        UNAUTHORIZED,
        content=batch_of(put_op()),
        anonymous=True,
    ),
    case("no-credential-changes", "GET", "/v1/changes?collection=*", UNAUTHORIZED, anonymous=True),
    case("no-credential-list", "GET", "/v1/collections", UNAUTHORIZED, anonymous=True),
    case(
        "wrong-bearer",
        "PUT",
        DOC,
        UNAUTHORIZED,
        content=b"1",
        headers={"Authorization": "Bearer lsa_wrong"},
        anonymous=True,
    ),
    case(
        "admin-token-prefix",
        "GET",
        DOC,
        UNAUTHORIZED,
        headers={"Authorization": f"Bearer {ADMIN_TOKEN[:-1]}"},
        anonymous=True,
    ),
    case(
        "basic-scheme",
        "GET",
        DOC,
        UNAUTHORIZED,
        headers={"Authorization": f"Basic {ADMIN_TOKEN}"},
        anonymous=True,
    ),
    case(
        "empty-bearer",
        "GET",
        DOC,
        UNAUTHORIZED,
        headers={"Authorization": "Bearer"},
        anonymous=True,
    ),
    case(
        "wrong-x-api-key",
        "PUT",
        DOC,
        UNAUTHORIZED,
        content=b"1",
        headers={"X-API-Key": "lsa_wrong"},
        anonymous=True,
    ),
]


def assert_healthy(client: httpx.Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json()["status"] == "ok"
    assert client.get("/readyz").status_code == 200


@pytest.mark.parametrize("bad", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_refused_and_writes_nothing(
    bad: Case, server: ServerProcess, client: httpx.Client, coll: str
) -> None:
    before = head_seq(client)
    response = bad.send(server, client, coll)
    assert response.status_code < 500, response.text
    problem = assert_problem(response, bad.status, bad.code)
    if bad.status == 401:
        assert response.headers["www-authenticate"].lower().startswith("bearer")
    # No stack trace, no internal key names in what the client sees.
    assert "Traceback" not in problem["detail"] and "File " not in problem["detail"]
    assert head_seq(client) == before
    assert client.get(f"/v1/collections/{coll}/docs/k").status_code == 404
    assert_healthy(client)


@pytest.mark.parametrize("path", ["/v1/collections/a/b/docs/k", "/v1/collections/a%2Fb/docs/k"])
def test_a_slash_in_collection_position_reaches_no_collection(
    server: ServerProcess, client: httpx.Client, path: str
) -> None:
    client.put("/v1/collections/a/docs/k", json={"in": "a"})
    before = head_seq(client)
    for method in ("PUT", "GET", "DELETE", "PATCH"):
        status, headers, body = raw_request(server, method, path, b"{}")
        response = httpx.Response(status, headers=headers, content=body)
        # No route matches (404), or the name is refused (422): either way a problem.
        code = {404: "not_found", 422: "validation_failed"}.get(status)
        assert code is not None, (method, status, body)
        assert_problem(response, status, code)
    assert head_seq(client) == before
    assert client.get("/v1/collections/a/docs/k").json()["value"] == {"in": "a"}
    assert_healthy(client)


def test_a_patch_that_grows_past_the_value_limit_writes_nothing(
    client: httpx.Client, coll: str
) -> None:
    url = f"/v1/collections/{coll}/docs/big"
    assert client.put(url, json={"a": "x" * 600_000}).status_code == 201
    before = head_seq(client)
    response = client.patch(url, json={"b": "y" * 600_000})
    assert_problem(response, 413, "payload_too_large")
    assert head_seq(client) == before
    assert set(client.get(url).json()["value"]) == {"a"}


def test_a_patch_to_null_is_refused(client: httpx.Client, coll: str) -> None:
    url = f"/v1/collections/{coll}/docs/doc"
    client.put(url, json={"a": 1})
    before = head_seq(client)
    assert_problem(client.patch(url, content=b"null"), 422, "validation_failed")
    assert head_seq(client) == before
    assert client.get(url).json()["value"] == {"a": 1}


def test_limits_are_inclusive(client: httpx.Client, coll: str) -> None:
    """The edges of each limit are accepted: 512-byte keys, 64-deep and 1 MiB values,
    64-character names."""
    key = "é" * 256
    assert client.put(f"/v1/collections/{coll}/docs/{key}", json=1).status_code == 201
    assert client.get(f"/v1/collections/{coll}/docs/{key}").json()["key"] == key
    deep = b"[" * 64 + b"]" * 64
    assert client.put(f"/v1/collections/{coll}/docs/deep", content=deep).status_code == 201
    at_limit = orjson.dumps("v" * (1024 * 1024 - 2))
    assert len(at_limit) == 1024 * 1024
    assert client.put(f"/v1/collections/{coll}/docs/big", content=at_limit).status_code == 201
    name = "n" * 64
    assert client.put(f"/v1/collections/{name}/docs/k", json=1).status_code in (200, 201)
    assert client.get(f"/v1/collections/{coll}/docs", params={"limit": 1000}).status_code == 200


def test_x_api_key_header_is_a_credential(server: ServerProcess, coll: str) -> None:
    with httpx.Client(base_url=server.url, headers={"X-API-Key": ADMIN_TOKEN}) as keyed:
        assert keyed.put(f"/v1/collections/{coll}/docs/k", json=1).status_code == 201
        assert keyed.get(f"/v1/collections/{coll}/docs/k").json()["value"] == 1


@pytest.fixture
def small_body_server(fresh_server: ServerProcess) -> Iterator[ServerProcess]:
    fresh_server.env["LEVELSTREAM_MAX_BODY_BYTES"] = "4096"
    yield fresh_server.start()


def test_oversized_bodies_are_413_with_or_without_content_length(
    small_body_server: ServerProcess,
) -> None:
    server = small_body_server
    with server.client() as client:
        assert head_seq(client) == 0
        url = "/v1/collections/c/docs/k"
        big = orjson.dumps("x" * 5000)
        assert_problem(client.put(url, content=big), 413, "payload_too_large")

        def chunks() -> Iterator[bytes]:
            yield b'"'
            for _ in range(20):
                yield b"x" * 1000
            yield b'"'

        chunked = client.put(url, content=chunks())
        assert_problem(chunked, 413, "payload_too_large")
        batch = batch_of(*(put_op(key=f"k{i}", value="v" * 100) for i in range(50)))
        assert_problem(client.post("/v1/batch", content=batch), 413, "payload_too_large")
        # A declared length over the limit is refused without reading the body.
        status, _, body = raw_request(server, "PUT", url, None, {"Content-Length": str(10**9)})
        assert status == 413 and orjson.loads(body)["code"] == "payload_too_large"
        assert head_seq(client) == 0
        assert_healthy(client)
        # A body right at the limit is fine.
        exact = orjson.dumps("x" * (4096 - 2))
        assert len(exact) == 4096
        assert client.put(url, content=exact).status_code == 201
        assert head_seq(client) == 1
