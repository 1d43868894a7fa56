"""The access log (one JSON line per request and per WebSocket/SSE session, no secrets,
no forged lines) and the secret sweep: after a server has seen every kind of credential
in headers and in `?token=`/`?ticket=` query strings, none of them is in its log or its
data directory (only SHA-256 digests of key secrets), nor in any error body.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import socket
import uuid
from pathlib import Path
from typing import Any

import pytest

from app.store.leveldb_driver import plyvel
from tests.security_helpers import (
    Ledger,
    SecServer,
    access_records,
    assert_problem,
    bearer,
    sse_stream,
    uid,
    wait_records,
    ws_client,
    ws_handshake_status,
)
from tests.server import ADMIN_TOKEN, ServerProcess

FIELDS = {"time", "request_id", "principal", "client", "method", "path", "status"}
FIELDS |= {"duration_ms", "bytes"}
# Every level LEVELSTREAM_LOG_LEVEL takes (uvicorn's `trace` included).
LOG_LEVELS = ("trace", "debug", "info", "warning", "error", "critical")


def _rid() -> str:
    return "log-" + uuid.uuid4().hex


def _one(proc: ServerProcess, request_id: str) -> dict[str, Any]:
    records = wait_records(proc, lambda r: r["request_id"] == request_id)
    assert len(records) == 1, records
    return records[0]


# --- the access log ---------------------------------------------------------------------------


def test_one_json_line_per_request_with_the_contract_fields(sec_server: SecServer) -> None:
    collection = uid("log")
    key = sec_server.key(permissions=["read", "write"], collections=[collection])
    jwt = sec_server.mint(key.token, sub="alice")
    rid = _rid()
    response = sec_server.http(key.token).put(
        f"/v1/collections/{collection}/docs/k",
        params={"ttl_s": 600, "token": "not-logged-query"},
        json={"v": 1},
        headers={"X-Request-ID": rid},
    )
    assert response.status_code == 201 and response.headers["x-request-id"] == rid
    record = _one(sec_server.proc, rid)
    assert set(record) >= FIELDS, record
    assert record["principal"] == key.id
    assert record["client"] == "127.0.0.1"
    assert (record["method"], record["path"], record["status"]) == (
        "PUT",
        f"/v1/collections/{collection}/docs/k",
        201,
    )
    assert record["bytes"] == len(response.content)
    assert 0 <= record["duration_ms"] < 30_000
    assert record["time"].endswith("Z")

    rid = _rid()
    response = sec_server.http(jwt).get(
        f"/v1/collections/{collection}/docs/k", headers={"X-Request-ID": rid}
    )
    assert response.status_code == 200
    assert _one(sec_server.proc, rid)["principal"] == "jwt:alice"

    rid = _rid()
    refused = sec_server.http(f"{key.token}x").get("/v1/collections", headers={"X-Request-ID": rid})
    assert_problem(refused, 401, "unauthorized")
    record = _one(sec_server.proc, rid)
    assert record["status"] == 401 and record["principal"] is None
    assert record.get("auth_error") == "unauthorized"


async def test_one_line_per_websocket_and_sse_session(sec_server: SecServer) -> None:
    collection = uid("logws")
    key = sec_server.key(permissions=["read"], collections=[collection])
    ws_rid, sse_rid = _rid(), _rid()
    async with ws_client(sec_server, token=key.token, headers={"X-Request-ID": ws_rid}) as ws:
        await ws.ok("subscribe", sub="s", collection=collection)
        await ws.request("ping")
    async with (
        sec_server.async_client(None) as anon,
        sse_stream(anon, {"X-Request-ID": sse_rid}, collection=collection, token=key.token),
    ):
        await asyncio.sleep(0.1)
    ws_record = _one(sec_server.proc, ws_rid)
    assert set(ws_record) >= FIELDS
    assert (ws_record["method"], ws_record["path"], ws_record["status"]) == ("WS", "/v1/ws", 101)
    assert ws_record["principal"] == key.id and ws_record["bytes"] > 0
    assert ws_record["close_code"] is not None
    sse_record = _one(sec_server.proc, sse_rid)
    assert (sse_record["method"], sse_record["path"], sse_record["status"]) == (
        "GET",
        "/v1/stream",
        200,
    )
    assert sse_record["principal"] == key.id


def _raw_lines(proc: ServerProcess) -> list[str]:
    return proc.log_path.read_text(errors="replace").split("\n")


def test_crlf_and_escapes_cannot_forge_log_lines(sec_server: SecServer) -> None:
    collection = uid("inj")
    token = sec_server.key(permissions=["read", "write"], collections=[collection]).token
    marker = uid("FORGED")
    forged = f'{{"request_id":"{marker}","principal":"admin","status":200}}'
    encoded = forged.replace('"', "%22").replace("{", "%7B").replace("}", "%7D")
    paths = [
        f"/v1/collections/{collection}/docs/a%0D%0A{encoded}",
        f"/v1/collections/{collection}/docs/a%0A{encoded}%0A",
        f"/v1/collections/{collection}/docs/a%1B%5B31m{marker}",
        f"/v1/collections/{collection}%0D%0A{encoded}/docs/x",
        f"/v1/collections/{collection}/docs/a%E2%80%A8{marker}",
    ]
    for path in paths:
        with socket.create_connection(("127.0.0.1", sec_server.proc.port), timeout=30) as sock:
            request = f"GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
            sock.sendall(f"{request}Connection: close\r\n\r\n".encode())
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 4"), answer[:200]
    # Header injection: a bare CR, or an escape sequence, in X-Request-ID.
    for value in (f"abc\r{forged}", f"abc\x1b[2J{marker}", f"abc\u2028{marker}"):
        with socket.create_connection(("127.0.0.1", sec_server.proc.port), timeout=30) as sock:
            head = f"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-ID: {value}\r\n"
            sock.sendall(f"{head}Connection: close\r\n\r\n".encode())
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        assert marker.encode() not in answer.split(b"\r\n\r\n")[0]  # not echoed as the id
        assert not answer.startswith(b"HTTP/1.1 5")
    wait_records(sec_server.proc, lambda r: marker in str(r.get("path")))
    for line in _raw_lines(sec_server.proc):
        if marker in line:
            # Every line holding the marker is one whole JSON record whose path holds it.
            record = access_records_line(line)
            assert record is not None and marker in record["path"], line
            assert record["request_id"] != marker
    assert not [r for r in access_records(sec_server.proc) if r["request_id"] == marker]


def access_records_line(line: str) -> dict[str, Any] | None:
    try:
        record = json.loads(line)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


# --- error bodies ------------------------------------------------------------------------------


async def test_error_bodies_never_echo_a_credential(sec_server: SecServer) -> None:
    collection = uid("echo")
    key = sec_server.key(permissions=["read"], collections=[collection])
    jwt = sec_server.mint(key.token)
    wrong = [
        f"{key.token[:-4]}abcd",
        f"{jwt[:-4]}abcd",
        f"lst_{uuid.uuid4().hex}{uuid.uuid4().hex}",
    ]
    sec_server.ledger.remember(*wrong)
    async with sec_server.async_client(None) as anon:
        for token in wrong:
            for response in (
                await anon.get("/v1/collections", headers=bearer(token)),
                await anon.get("/v1/collections", headers={"X-API-Key": token}),
                await anon.get("/v1/stream", params={"collection": collection, "token": token}),
                await anon.get("/v1/stream", params={"collection": collection, "ticket": token}),
            ):
                assert_problem(response, 401, "unauthorized")
                assert token not in response.text
        # Validation errors name the field, not its value.
        for body in ({"sub": key.token, "ttl_s": "soon"}, {"sub": 5, "permissions": [jwt]}):
            response = await anon.post("/v1/auth/token", json=body, headers=bearer(key.token))
            assert_problem(response, 422, "validation_failed")
            assert key.token not in response.text and jwt not in response.text
        response = await anon.post(
            "/v1/keys",
            json={"name": key.token, "permissions": [jwt], "allowed_ips": [key.token]},
            headers=bearer(ADMIN_TOKEN),
        )
        assert_problem(response, 422, "validation_failed")
        assert key.token not in response.text and jwt not in response.text
    async with ws_client(sec_server, token=key.token) as ws:
        for token in wrong:
            reply = await ws.refused("unauthorized", "auth", token=token)
            assert token not in str(reply)
    async with ws_client(sec_server) as ws:
        await ws.send({"op": "auth", "token": wrong[0]})
        code, frames = await ws.closed()
        assert code == 4001 and wrong[0] not in str(frames)
        assert ws.ws.close_reason is None or wrong[0] not in ws.ws.close_reason


# --- the secret sweep -----------------------------------------------------------------------------


@pytest.mark.parametrize("log_level", LOG_LEVELS)
async def test_no_secret_in_logs_or_data_files(tmp_path: Path, log_level: str) -> None:
    """Every credential used in headers and in query strings, then grep the log and the data,
    at every log level (at `trace` uvicorn logs each request's scope and messages)."""
    ledger = Ledger()
    server = SecServer.start(tmp_path / "swept", ledger, LEVELSTREAM_LOG_LEVEL=log_level)
    try:
        collection = uid("sweep")
        key = server.key(permissions=["read", "write"], collections=[collection])
        revoked = server.key(permissions=["read"], collections=[collection])
        jwt = server.mint(key.token)
        external = server.issuer_token(collections=[collection])
        server.seed(collection, "doc", {"v": 1})
        creds = [ADMIN_TOKEN, key.token, jwt, external]
        async with server.async_client(None) as anon:
            for token in creds:
                assert (await anon.get("/v1/collections", headers=bearer(token))).status_code == 200
                headers = {"X-API-Key": token}
                assert (await anon.get("/v1/collections", headers=headers)).status_code == 200
                async with sse_stream(anon, None, collection=collection, token=token):
                    pass
                async with sse_stream(
                    anon, None, collection=collection, ticket=server.ticket(token)
                ):
                    pass
                async with ws_client(server, token=token) as ws:
                    await ws.ok("get", collection=collection, key="doc")
                async with ws_client(server, headers=bearer(token)) as ws:
                    await ws.ok("get", collection=collection, key="doc")
                async with ws_client(server, ticket=server.ticket(token)) as ws:
                    await ws.ok("get", collection=collection, key="doc")
                async with ws_client(server) as ws:
                    await ws.ok("auth", token=token)
                    await ws.ok("get", collection=collection, key="doc")
            # Refused credentials in query strings are still credentials.
            used = server.ticket(key.token)
            async with ws_client(server, ticket=used):
                pass
            assert server.http().delete(f"/v1/keys/{revoked.id}").status_code == 204
            for query in ({"token": revoked.token}, {"ticket": used}, {"token": f"{jwt}x"}):
                stream = await anon.get("/v1/stream", params={"collection": collection, **query})
                assert_problem(stream, 401, "unauthorized")
                async with ws_client(server, **query) as ws:
                    assert (await ws.closed())[0] == 4001
            status = await ws_handshake_status(server, origin="https://evil.example", token=jwt)
            assert status == 403
    finally:
        server.stop()

    # The log did record these sessions (so an empty log cannot pass the sweep), at the
    # level asked for...
    if log_level == "trace":
        assert '"level": "trace"' in server.proc.log_tail(10**8)
    records = access_records(server.proc)
    assert len([r for r in records if r["path"] == "/v1/ws"]) >= 3 * len(creds) + 4
    assert len([r for r in records if r["path"] == "/v1/stream"]) >= 10
    assert "?" not in "".join(str(r["path"]) for r in records)
    # ...and holds none of the credentials, nor do the data files.
    assert ledger.hits() == []
    # The database itself, decompressed: key records hold digests, never secrets.
    db = plyvel.DB(str(server.proc.data_dir / "db"))
    try:
        everything = b"\n".join(k + b"\x00" + v for k, v in db.iterator())
    finally:
        db.close()
    secret = key.token.split("_", 2)[2]
    assert hashlib.sha256(secret.encode()).hexdigest().encode() in everything
    for value in ledger.secrets:
        if len(value) >= 16:
            assert value.encode() not in everything, value[:10]


def test_ledger_sweep_finds_what_it_looks_for(tmp_path: Path) -> None:
    """The sweep itself works: a planted secret is found."""
    ledger = Ledger()
    ledger.remember("lsk_0123456789abcdef_" + "s" * 43)
    planted = tmp_path / "planted.log"
    planted.write_text(f"... Authorization: Bearer lsk_0123456789abcdef_{'s' * 43} ...\n")
    assert ledger.hits([planted])
    planted.write_text("nothing here\n")
    assert ledger.hits([planted]) == []
