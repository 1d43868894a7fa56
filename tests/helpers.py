"""Small helpers shared by the end-to-end tests: problem checks, the change log, raw HTTP."""

from __future__ import annotations

import http.client
import os
from typing import Any

import httpx
import pytest

from tests.server import ServerProcess

# What only our uvicorn hooks do (app/server/run.py): skipped by `make test-stock-uvicorn`.
needs_uvicorn_hooks = pytest.mark.skipif(
    os.environ.get("LEVELSTREAM_UVICORN_HOOKS") == "off",
    reason="stock uvicorn protocols (LEVELSTREAM_UVICORN_HOOKS=off) lack this hook",
)


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """An RFC 9457 problem with this status and contract `code`; returns its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status and problem["code"] == code, problem
    assert problem["type"] and problem["title"] and problem["detail"]
    assert problem["request_id"] == response.headers["x-request-id"]
    return problem


def head_seq(client: httpx.Client) -> int:
    """The database's latest seq, as `/v1/changes` reports it."""
    response = client.get("/v1/changes", params={"collection": "*", "limit": 1})
    assert response.status_code == 200, response.text
    return int(response.json()["head_seq"])


def read_changes(
    client: httpx.Client, collection: str = "*", since: int = 0, **filters: Any
) -> list[dict[str, Any]]:
    """Every matching change after `since`, following `last_seq` page by page."""
    out: list[dict[str, Any]] = []
    while True:
        params = {"collection": collection, "since": since, "limit": 1000, **filters}
        response = client.get("/v1/changes", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        out.extend(page["changes"])
        assert page["last_seq"] >= since
        if page["last_seq"] >= page["head_seq"]:
            return out
        since = page["last_seq"]


def read_range(client: httpx.Client, collection: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a range read, following `next_cursor` until it is null."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query = dict(params)
        if cursor is not None:
            query["cursor"] = cursor
        response = client.get(f"/v1/collections/{collection}/docs", params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def raw_request(
    server: ServerProcess,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """Send `path` byte for byte (httpx would normalise `..` and re-encode)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for name, value in {**server.headers(), **(headers or {})}.items():
            conn.putheader(name, value)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()
