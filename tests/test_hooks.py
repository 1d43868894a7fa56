"""Our hooks into uvicorn (app/server/http_protocol.py, app/server/ws_protocol.py) are engaged
on a normal start, and the server says which way it runs: a hook silently switched off (an
upgrade of uvicorn or websockets) fails here, and with the hooks off the stock paths serve."""

from __future__ import annotations

import json
from pathlib import Path

from tests.realtime_clients import ws_client
from tests.security_helpers import ALLOWED_ORIGIN
from tests.server import ADMIN_TOKEN, ServerProcess
from tests.test_http_details import AUTH, WS_HEAD, exchange, split
from tests.test_sec_network import assert_browser_answers

MALFORMED_HANDSHAKE = WS_HEAD + b"Sec-WebSocket-Version: 13\r\n\r\n"  # no Sec-WebSocket-Key


def hook_lines(server: ServerProcess) -> list[str]:
    """What the server's log says about the hooks."""
    events = []
    for line in server.run_log().splitlines():
        if line.startswith("{"):
            event = str(json.loads(line).get("event", ""))
            if event.startswith("uvicorn hooks"):
                events.append(event)
    return events


def test_a_normal_start_engages_every_hook(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", LEVELSTREAM_UVICORN_HOOKS="on").start()
    try:
        said = hook_lines(server)
        assert len(said) == 1 and said[0].startswith("uvicorn hooks engaged"), said
        # What only the hooks do. The HTTP protocol: HTTP/1.0 gets no chunked body.
        head = split(exchange(server, b"GET /v1/admin/export HTTP/1.0\r\n" + AUTH + b"\r\n"))[1]
        assert b"transfer-encoding" not in head
        # The WebSocket protocol: its refusals are problems.
        head = split(exchange(server, MALFORMED_HANDSHAKE))[1]
        assert head[b"content-type"] == [b"application/problem+json"]
    finally:
        server.stop()


async def test_with_the_hooks_off_the_stock_paths_serve(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", LEVELSTREAM_UVICORN_HOOKS="off").start()
    try:
        said = hook_lines(server)
        assert said == [
            "uvicorn hooks off (LEVELSTREAM_UVICORN_HOOKS=off): running on stock uvicorn protocols"
        ]
        # Stock uvicorn answers a malformed handshake itself, in plain text.
        head = split(exchange(server, MALFORMED_HANDSHAKE))[1]
        assert head[b"content-type"] == [b"text/plain; charset=utf-8"]
        # And serves: a write reaches a WebSocket subscriber and an SSE stream.
        async with server.async_client() as rest, ws_client(server) as ws:
            await ws.subscribe("s", collection="stock")
            async with rest.stream("GET", "/v1/stream", params={"collection": "stock"}) as sse:
                assert sse.status_code == 200
                put = await rest.put("/v1/collections/stock/docs/a", json={"v": 1})
                assert put.status_code == 201
                change = await ws.expect(lambda f: f["type"] == "change")
                assert change["change"]["key"] == "a"
                async for line in sse.aiter_lines():
                    if line.startswith("data:"):
                        assert json.loads(line[5:])["key"] == "a"
                        break
            got = await rest.get("/v1/collections/stock/docs/a")
            assert got.json()["value"] == {"v": 1}
    finally:
        server.stop()


def test_with_the_hooks_off_browsers_get_the_same_cors_answers(tmp_path: Path) -> None:
    env = {"LEVELSTREAM_UVICORN_HOOKS": "off", "LEVELSTREAM_ALLOWED_ORIGINS": ALLOWED_ORIGIN}
    server = ServerProcess(tmp_path / "data", **env).start()
    try:
        assert_browser_answers(server.url, ADMIN_TOKEN, "browser")
    finally:
        server.stop()


def test_the_server_names_the_versions_it_was_written_for() -> None:
    # The pins in pyproject.toml and the versions the start-up check expects agree.
    from app.server.run import HOOKED_VERSIONS

    pyproject = (Path(__file__).parent.parent / "pyproject.toml").read_text()
    for name, version in HOOKED_VERSIONS.items():
        assert f'"{name}==' in pyproject or f'"{name}[standard]==' in pyproject, name
        assert f"=={version}" in pyproject, name
