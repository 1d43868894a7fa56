"""The OpenAPI document says what the server enforces, and every 422 names its field.

Against a real server: each input the document forbids is refused with a 422 whose
`field` (top level and in `errors[]`) names the offending member, whose detail
names it too and never a model class, and which changes nothing. Then the document
the server serves is read back: each of those constraints is declared there, and
where a value sits on either side of a declared bound, the server agrees with it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.helpers import assert_problem
from tests.realtime_clients import ws_client
from tests.server import ServerProcess

# Names of the app's pydantic models, which no error may show.
MODEL_NAMES = ("KeySpec", "KeyPatch", "TokenRequest", "BatchRequest", "validation error for")
KEY_FIELDS = ("name", "permissions", "collections", "channels", "allowed_origins", "allowed_ips")


@pytest.fixture(scope="module")
def key_id(server: ServerProcess) -> str:
    with server.client() as client:
        created = client.post("/v1/keys", json={"name": "strict", "permissions": ["read"]})
        assert created.status_code == 201, created.text
        return str(created.json()["id"])


@pytest.fixture(scope="module")
def key_token(server: ServerProcess) -> Iterator[str]:
    with server.client() as client:
        created = client.post("/v1/keys", json={"name": "minter", "permissions": ["read"]})
        assert created.status_code == 201, created.text
        yield str(created.json()["token"])


NULL = {"content": b"null", "headers": {"content-type": "application/json"}}

# (case id, method, path, request arguments, the field the 422 must name)
CASES: list[tuple[str, str, str, dict[str, Any], str]] = [
    ("put-null-body", "PUT", "/v1/collections/{coll}/docs/k", NULL, "value"),
    ("create-null-body", "POST", "/v1/collections/{coll}/docs", NULL, "value"),
    ("key-null-body", "POST", "/v1/keys", NULL, "body"),
    ("key-patch-null-body", "PATCH", "/v1/keys/{key_id}", NULL, "body"),
    *[
        (f"key-patch-null-{field}", "PATCH", "/v1/keys/{key_id}", {"json": {field: None}}, field)
        for field in KEY_FIELDS
    ],
    (
        "key-patch-naive-expiry",
        "PATCH",
        "/v1/keys/{key_id}",
        {"json": {"expires_at": "2030-01-01T00:00:00"}},
        "expires_at",
    ),
    (
        "key-patch-origin",
        "PATCH",
        "/v1/keys/{key_id}",
        {"json": {"allowed_origins": ["https://ok.example", "ftp://files.example"]}},
        "allowed_origins[1]",
    ),
    (
        "key-patch-cidr",
        "PATCH",
        "/v1/keys/{key_id}",
        {"json": {"allowed_ips": ["10.0.0.0/33"]}},
        "allowed_ips[0]",
    ),
    (
        "key-create-origin",
        "POST",
        "/v1/keys",
        {"json": {"name": "x", "permissions": ["read"], "allowed_origins": ["app.example"]}},
        "allowed_origins[0]",
    ),
    (
        "key-create-cidr",
        "POST",
        "/v1/keys",
        {"json": {"name": "x", "permissions": ["read"], "allowed_ips": ["10.0.0.1/8/8"]}},
        "allowed_ips[0]",
    ),
    ("batch-no-ops", "POST", "/v1/batch", {"json": {"ops": []}}, "ops"),
    ("batch-null-body", "POST", "/v1/batch", NULL, "ops"),
    (
        "batch-empty-key",
        "POST",
        "/v1/batch",
        {"json": {"ops": [{"op": "put", "collection": "{coll}", "key": "", "value": 1}]}},
        "ops[0].key",
    ),
    (
        "batch-null-value",
        "POST",
        "/v1/batch",
        {"json": {"ops": [{"op": "put", "collection": "{coll}", "key": "k", "value": None}]}},
        "ops[0].value",
    ),
    (
        "batch-negative-if-rev",
        "POST",
        "/v1/batch",
        {"json": {"ops": [{"op": "delete", "collection": "{coll}", "key": "k", "if_rev": -1}]}},
        "ops[0].if_rev",
    ),
    ("token-null-body", "POST", "/v1/auth/token", {**NULL, "as_key": True}, "body"),
    (
        "token-ttl-over-max",
        "POST",
        "/v1/auth/token",
        {"json": {"sub": "a", "ttl_s": 86_401}, "as_key": True},
        "ttl_s",
    ),
    *[
        (f"range-empty-{name}", "GET", "/v1/collections/{coll}/docs", {"params": {name: ""}}, name)
        for name in ("gt", "gte", "lt", "lte", "prefix")
    ],
    ("range-limit-0", "GET", "/v1/collections/{coll}/docs", {"params": {"limit": 0}}, "limit"),
    (
        "changes-empty-collection",
        "GET",
        "/v1/changes",
        {"params": {"collection": ""}},
        "collection",
    ),
    *[
        (
            f"changes-empty-{name}",
            "GET",
            "/v1/changes",
            {"params": {"collection": "{coll}", name: ""}},
            name,
        )
        for name in ("key", "prefix", "gt")
    ],
]


def _fill(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**names)
    if isinstance(value, dict):
        return {k: _fill(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, names) for v in value]
    return value


@pytest.mark.parametrize(
    ("method", "path", "arguments", "field"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_every_422_names_its_field(
    client: httpx.Client,
    coll: str,
    key_id: str,
    key_token: str,
    method: str,
    path: str,
    arguments: dict[str, Any],
    field: str,
) -> None:
    names = {"coll": coll, "key_id": key_id}
    arguments = dict(arguments)
    headers = dict(arguments.pop("headers", {}))
    if arguments.pop("as_key", False):
        headers["Authorization"] = f"Bearer {key_token}"
    if isinstance(arguments.get("json"), dict):
        arguments["json"] = _fill(arguments["json"], names)
    if "params" in arguments:
        arguments["params"] = _fill(arguments["params"], names)
    key_before = client.get(f"/v1/keys/{key_id}").json()
    head_before = client.get("/v1/changes", params={"collection": "*", "limit": 1}).json()

    response = client.request(method, path.format(**names), headers=headers, **arguments)

    problem = assert_problem(response, 422, "validation_failed")
    assert problem["field"] == field, problem
    assert field in [error["field"] for error in problem["errors"]], problem
    leaf = re.sub(r"\[\d+\]$", "", field.rsplit(".", 1)[-1])
    assert leaf in problem["detail"] or field == "body", problem
    assert not any(name in response.text for name in MODEL_NAMES), problem
    # Nothing changed: the key is as it was, and no write reached the log.
    assert client.get(f"/v1/keys/{key_id}").json() == key_before
    head_after = client.get("/v1/changes", params={"collection": "*", "limit": 1}).json()
    assert head_after["head_seq"] == head_before["head_seq"]


def test_key_patch_keeps_what_is_omitted_and_clears_what_is_null(
    client: httpx.Client, key_id: str
) -> None:
    """The nullable members (`expires_at`, `rate_limit_per_s`) still take null."""
    set_limit = client.patch(f"/v1/keys/{key_id}", json={"rate_limit_per_s": 5})
    assert set_limit.status_code == 200, set_limit.text
    cleared = client.patch(
        f"/v1/keys/{key_id}", json={"rate_limit_per_s": None, "expires_at": None}
    )
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["rate_limit_per_s"] is None
    assert cleared.json()["name"] == "strict" and cleared.json()["permissions"] == ["read"]


async def test_a_single_websocket_write_names_no_op_index(server: ServerProcess, coll: str) -> None:
    async with ws_client(server) as ws:
        single = await ws.request("put", collection=coll, key="", value=1)
        batch = await ws.request(
            "batch", ops=[{"op": "put", "collection": coll, "key": "", "value": 1}]
        )
    assert single["ok"] is False and single["error"]["code"] == "validation_failed", single
    assert single["error"]["field"] == "key" and "op_index" not in single["error"], single
    assert not single["error"]["message"].startswith("op "), single
    # In a batch the index is what says which op failed.
    assert batch["error"]["op_index"] == 0 and batch["error"]["message"].startswith("op 0: ")


async def test_a_refused_websocket_credential_says_why(server: ServerProcess) -> None:
    async with ws_client(server, token="lsk_0000000000000000_wrong") as ws:
        await ws.ws.wait_closed()
    assert ws.ws.close_code == 4001
    reason = ws.ws.close_reason or ""
    assert reason not in ("", "unauthorized") and "credential" in reason, reason
    assert "wrong" not in reason  # never the token


# --- the document the server serves -------------------------------------------------


@pytest.fixture(scope="module")
def document(server: ServerProcess) -> dict[str, Any]:
    response = httpx.get(f"{server.url}/openapi.json", timeout=30)
    assert response.status_code == 200
    loaded: dict[str, Any] = response.json()
    return loaded


def _schemas(document: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = document["components"]["schemas"]
    return found


def _parameter(document: dict[str, Any], path: str, method: str, name: str) -> dict[str, Any]:
    for parameter in document["paths"][path][method]["parameters"]:
        if parameter["name"] == name:
            schema: dict[str, Any] = parameter["schema"]
            # An optional parameter is `anyOf: [string, null]`: its rules sit on the string.
            for branch in schema.get("anyOf", []):
                if branch.get("type") == "string":
                    return {**branch}
            return schema
    raise AssertionError(f"{method} {path} declares no {name}")


def _nullable(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "null" or any(_nullable(b) for b in schema.get("anyOf", []))


def test_the_document_declares_each_constraint(document: dict[str, Any]) -> None:
    schemas = _schemas(document)
    ops = schemas["BatchRequest"]["properties"]["ops"]
    assert (ops["minItems"], ops["maxItems"]) == (1, 1000)
    batch_op = schemas["BatchOp"]
    assert batch_op["additionalProperties"] is False
    assert batch_op["properties"]["key"]["minLength"] == 1

    ttl = schemas["TokenRequest"]["properties"]["ttl_s"]
    assert (ttl["minimum"], ttl["maximum"]) == (1, 86_400)

    spec, patch = schemas["KeySpec"]["properties"], schemas["KeyPatch"]["properties"]
    for props in (spec, patch):
        assert props["allowed_origins"]["items"]["pattern"].startswith("^https?://")
        assert "pattern" in props["allowed_ips"]["items"]
    for scope in ("collections", "channels"):
        assert spec[scope]["default"] == ["*"]
        assert '["*"]' in spec[scope]["description"]
    for field in KEY_FIELDS:
        assert not _nullable(patch[field]) and "default" not in patch[field], field
    assert _nullable(patch["expires_at"]) and _nullable(patch["rate_limit_per_s"])

    docs = "/v1/collections/{collection}/docs"
    for name in ("gt", "gte", "lt", "lte", "prefix"):
        assert _parameter(document, docs, "get", name)["minLength"] == 1, name
    for name in ("key", "prefix", "gt", "gte", "lt", "lte"):
        assert _parameter(document, "/v1/changes", "get", name)["minLength"] == 1, name
    collection = _parameter(document, "/v1/changes", "get", "collection")
    assert not re.search(collection["pattern"], "")

    one_doc = document["paths"]["/v1/collections/{collection}/docs/{key}"]
    for method in ("put", "patch", "delete"):
        if_match = _parameter(
            document, "/v1/collections/{collection}/docs/{key}", method, "if-match"
        )
        assert not re.search(if_match["pattern"], ""), method
        assert re.search(if_match["pattern"], '"1042"') and re.search(if_match["pattern"], "*")
    for method in ("put", "patch"):
        body = one_doc[method]["requestBody"]["content"]["application/json"]["schema"]
        assert body["not"] == {"type": "null"}, method


ORIGINS_OK = ["https://app.example.com", "http://localhost:8080", "HTTPS://Caps.Example"]
ORIGINS_BAD = ["app.example.com", "ftp://x.example", "https://x.example/path", "https://"]
CIDRS_OK = ["203.0.113.0/24", "10.1.2.3", "2001:db8::/32", "::1", "::ffff:1.2.3.4/128"]
CIDRS_BAD = ["10.0.0.0/33", "256.1.1.1", "1.2.3", "::1/129", "1::2::3", "10.0.0.0/255.0.0.0"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("allowed_origins", v) for v in ORIGINS_OK + ORIGINS_BAD]
    + [("allowed_ips", v) for v in CIDRS_OK + CIDRS_BAD],
)
def test_the_server_agrees_with_the_declared_formats(
    client: httpx.Client, document: dict[str, Any], field: str, value: str
) -> None:
    """A value matches the declared pattern exactly when the server accepts it."""
    pattern = _schemas(document)["KeySpec"]["properties"][field]["items"]["pattern"]
    declared = re.search(pattern, value) is not None
    response = client.post(
        "/v1/keys", json={"name": "fmt", "permissions": ["read"], field: [value]}
    )
    if response.status_code == 201:
        client.delete(f"/v1/keys/{response.json()['id']}")
    else:
        assert_problem(response, 422, "validation_failed")
        assert response.json()["field"] == f"{field}[0]"
    assert declared == (response.status_code == 201), (value, declared, response.text)


def test_the_server_agrees_with_the_declared_ttl_maximum(
    server: ServerProcess, document: dict[str, Any], key_token: str
) -> None:
    maximum = _schemas(document)["TokenRequest"]["properties"]["ttl_s"]["maximum"]
    headers = {"Authorization": f"Bearer {key_token}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
        at_max = client.post("/v1/auth/token", json={"sub": "a", "ttl_s": maximum})
        over = client.post("/v1/auth/token", json={"sub": "a", "ttl_s": maximum + 1})
    assert at_max.status_code == 200, at_max.text
    assert_problem(over, 422, "validation_failed")


def test_empty_if_match_is_refused_and_writes_nothing(client: httpx.Client, coll: str) -> None:
    """The declared If-Match pattern refuses an empty header; so does the server."""
    for method in ("PUT", "PATCH", "DELETE"):
        body = json.dumps({"a": 1}).encode() if method != "DELETE" else None
        response = client.request(
            method, f"/v1/collections/{coll}/docs/k", content=body, headers={"If-Match": ""}
        )
        assert_problem(response, 400, "bad_request")
    assert client.get(f"/v1/collections/{coll}/docs/k").status_code == 404
