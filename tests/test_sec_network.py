"""Network rules: IP allow-lists (per key and server-wide), X-Forwarded-For trusted only
from configured proxies, the WebSocket handshake's Origin, and CORS.

The test client always connects from 127.0.0.1; other client addresses are presented
through a trusted proxy's X-Forwarded-For (a server that trusts 127.0.0.1/32), which
is exactly how a reverse proxy on the same host reports them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.security_helpers import (
    ALLOWED_ORIGIN,
    Ledger,
    SecServer,
    assert_problem,
    bearer,
    uid,
    wait_records,
    ws_handshake_status,
)
from tests.server import ADMIN_TOKEN, ServerProcess

ALLOWED_NET = "198.51.100.0/24"
KEY_NET = "203.0.113.0/24"
CLIENT = "198.51.100.7"  # allowed server-wide
KEY_CLIENT = "203.0.113.9"  # allowed server-wide and by the key below
ATTACKER = "192.0.2.66"  # allowed nowhere


def _rid() -> str:
    return "sec-" + uuid.uuid4().hex


def _client_logged(proc: ServerProcess, request_id: str) -> Any:
    records = wait_records(proc, lambda r: r["request_id"] == request_id)
    assert len(records) == 1, records
    return records[0]["client"]


# --- per-key allowed_ips, and X-Forwarded-For from an untrusted peer ---------------------------


def test_key_ip_rule_refuses_loopback_even_with_spoofed_forwarding_headers(
    sec_server: SecServer,
) -> None:
    collection, marker = uid("ip"), uid("marker")
    sec_server.seed(collection, "doc", {"marker": marker})
    key = sec_server.key(permissions=["read", "write"], allowed_ips=[ALLOWED_NET])
    before = sec_server.head_seq()
    client = sec_server.http(key.token)
    spoofs: list[dict[str, str]] = [
        {},
        {"X-Forwarded-For": CLIENT},
        {"X-Forwarded-For": f"{CLIENT}, {CLIENT}"},
        {"X-Real-IP": CLIENT},
        {"Forwarded": f"for={CLIENT}"},
        {"X-Forwarded-For": CLIENT, "X-Forwarded-Proto": "https", "X-Forwarded-Host": "a.b"},
    ]
    for spoof in spoofs:
        rid = _rid()
        headers = {**spoof, "X-Request-ID": rid}
        for response in (
            client.get(f"/v1/collections/{collection}/docs/doc", headers=headers),
            client.put(f"/v1/collections/{collection}/docs/doc", json=1, headers=headers),
        ):
            assert_problem(response, 403, "forbidden")
            assert marker not in response.text
        # The log shows the real peer, not the claimed address.
        records = wait_records(sec_server.proc, lambda r, rid=rid: r["request_id"] == rid)
        assert {r["client"] for r in records} == {"127.0.0.1"}, records
    assert sec_server.head_seq() == before
    stream = client.get("/v1/stream", params={"collection": collection})
    assert_problem(stream, 403, "forbidden")


async def test_key_ip_rule_applies_to_websocket_handshakes(sec_server: SecServer) -> None:
    key = sec_server.key(permissions=["read"], allowed_ips=[ALLOWED_NET])
    headers = {"X-Forwarded-For": CLIENT}
    assert await ws_handshake_status(sec_server, token=key.token, headers=headers) == 403
    ticket = sec_server.ticket(sec_server.key(permissions=["read"]).token)
    assert await ws_handshake_status(sec_server, ticket=ticket) == 101  # control


def test_key_ip_rule_admits_the_real_peer(sec_server: SecServer) -> None:
    key = sec_server.key(permissions=["read"], allowed_ips=["127.0.0.1/32"])
    collection = uid("ipok")
    sec_server.seed(collection, "doc", 1)
    client = sec_server.http(key.token)
    for headers in ({}, {"X-Forwarded-For": ATTACKER}):
        response = client.get(f"/v1/collections/{collection}/docs/doc", headers=headers)
        assert response.status_code == 200, response.text


# --- server-wide LEVELSTREAM_ALLOWED_IPS without trusted proxies ---------------------------------


@pytest.fixture(scope="module")
def walled(tmp_path_factory: pytest.TempPathFactory, sec_ledger: Ledger) -> Iterator[SecServer]:
    base = tmp_path_factory.mktemp("walled")
    server = SecServer.start(base, sec_ledger, LEVELSTREAM_ALLOWED_IPS=ALLOWED_NET)
    yield server
    server.stop()


async def test_server_wide_ip_rule_refuses_everything_else(walled: SecServer) -> None:
    admin = walled.http()
    for headers in ({}, {"X-Forwarded-For": CLIENT}, {"X-Forwarded-For": f"{CLIENT}, {CLIENT}"}):
        for method, path in (
            ("GET", "/v1/collections"),
            ("PUT", "/v1/collections/c/docs/k"),
            ("POST", "/v1/keys"),
            ("GET", "/v1/changes?collection=*"),
            ("GET", "/v1/stream?collection=*"),
            ("POST", "/v1/auth/token"),
            ("GET", "/openapi.json"),
        ):
            response = admin.request(method, path, json={"name": "x"}, headers=headers)
            assert_problem(response, 403, "forbidden")
    assert await ws_handshake_status(walled, token=ADMIN_TOKEN) == 403
    assert (
        await ws_handshake_status(walled, token=ADMIN_TOKEN, headers={"X-Forwarded-For": CLIENT})
        == 403
    )
    # Probes stay open so an orchestrator can check health.
    assert admin.get("/healthz").status_code == 200
    assert admin.get("/readyz").status_code == 200


# --- behind a trusted proxy ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory, sec_ledger: Ledger) -> Iterator[SecServer]:
    base = tmp_path_factory.mktemp("proxied")
    server = SecServer.start(
        base,
        sec_ledger,
        LEVELSTREAM_TRUSTED_PROXIES="127.0.0.1/32",
        LEVELSTREAM_ALLOWED_IPS=f"{ALLOWED_NET},{KEY_NET}",
    )
    yield server
    server.stop()


def _via_proxy(server: SecServer, token: str, xff: list[str] | None) -> httpx.Response:
    """`GET /v1/collections` as if relayed by a proxy that saw these X-Forwarded-For values."""
    return _via_proxy_logged(server, token, xff)[0]


def _via_proxy_logged(
    server: SecServer, token: str, xff: list[str] | None
) -> tuple[httpx.Response, str]:
    rid = _rid()
    headers = [(b"Authorization", f"Bearer {token}".encode()), (b"X-Request-ID", rid.encode())]
    headers += [(b"X-Forwarded-For", value.encode("latin-1")) for value in xff or []]
    with httpx.Client(base_url=server.url, timeout=30) as client:
        response = client.get("/v1/collections", headers=headers)
    return response, rid


@pytest.mark.parametrize(
    ("xff", "status", "client"),
    [
        (None, 403, "127.0.0.1"),
        ([CLIENT], 200, CLIENT),
        ([f"{CLIENT}, {ATTACKER}"], 403, ATTACKER),  # the rightmost untrusted hop counts
        ([f"{ATTACKER}, {CLIENT}"], 200, CLIENT),  # a prepended claim is ignored
        ([f"{CLIENT}, 127.0.0.1"], 200, CLIENT),  # trusted hops are skipped
        ([CLIENT, ATTACKER], 403, ATTACKER),  # two headers: one list, in order
        ([f"::ffff:{CLIENT}"], 200, CLIENT),  # IPv4-mapped IPv6
        (["[2001:db8::1]"], 403, "2001:db8::1"),
        (["garbage"], 403, "127.0.0.1"),  # unparsable: stop at the last trusted hop
        ([f"{CLIENT}, garbage"], 403, "127.0.0.1"),
        ([", ".join([CLIENT] * 600 + [ATTACKER])], 403, ATTACKER),  # about 8 KB
        (["1.2.3.4.5"], 403, "127.0.0.1"),
        (["\u00ff\u00fe"], 403, "127.0.0.1"),
    ],
)
def test_forwarded_for_from_a_trusted_proxy(
    proxied: SecServer, xff: list[str] | None, status: int, client: str
) -> None:
    response, rid = _via_proxy_logged(proxied, ADMIN_TOKEN, xff)
    assert response.status_code == status, response.text
    if status == 403:
        assert_problem(response, 403, "forbidden")
    assert _client_logged(proxied.proc, rid) == client


def test_huge_forwarded_for_is_no_500(proxied: SecServer) -> None:
    for value in ("a" * 65_536, ",".join(["x"] * 10_000), "1" * 8192):
        with httpx.Client(base_url=proxied.url, timeout=30) as client:
            try:
                response = client.get(
                    "/v1/collections", headers={**bearer(ADMIN_TOKEN), "X-Forwarded-For": value}
                )
            except httpx.RemoteProtocolError:
                continue  # the HTTP parser dropped an oversized header: fine, no 500
        assert response.status_code in (400, 403, 431), response.status_code


def test_key_ip_rule_uses_the_address_the_proxy_reports(proxied: SecServer) -> None:
    admin = httpx.Client(
        base_url=proxied.url,
        headers={**bearer(ADMIN_TOKEN), "X-Forwarded-For": CLIENT},
        timeout=30,
    )
    with admin:
        created = admin.post(
            "/v1/keys", json={"name": "k", "permissions": ["read"], "allowed_ips": [KEY_NET]}
        )
    assert created.status_code == 201, created.text
    token = created.json()["token"]
    proxied.ledger.remember(token)
    assert _via_proxy(proxied, token, [KEY_CLIENT]).status_code == 200
    assert _via_proxy(proxied, token, [f"{CLIENT}, {KEY_CLIENT}"]).status_code == 200
    for xff in ([CLIENT], [f"{KEY_CLIENT}, {CLIENT}"], [f"{KEY_CLIENT}, {ATTACKER}"], None):
        assert_problem(_via_proxy(proxied, token, xff), 403, "forbidden")


async def test_websocket_handshake_behind_a_trusted_proxy(proxied: SecServer) -> None:
    good = {"X-Forwarded-For": CLIENT}
    bad = {"X-Forwarded-For": f"{CLIENT}, {ATTACKER}"}
    assert await ws_handshake_status(proxied, token=ADMIN_TOKEN, headers=good) == 101
    assert await ws_handshake_status(proxied, token=ADMIN_TOKEN, headers=bad) == 403
    assert await ws_handshake_status(proxied, token=ADMIN_TOKEN) == 403


# --- the WebSocket handshake's Origin -------------------------------------------------------

LOOK_ALIKES = [
    "https://evil.example",
    "https://app.example.com.evil.com",
    "https://evilapp.example.com",
    "https://app-example.com",
    "http://app.example.com",
    "https://app.example.com:8443",
    "https://app.example.com.",
    "https://app.example.co",
    "wss://app.example.com",
    "null",
    "",
]


@pytest.mark.parametrize("origin", LOOK_ALIKES)
async def test_ws_handshake_refuses_other_origins(sec_server: SecServer, origin: str) -> None:
    rid = _rid()
    status = await ws_handshake_status(
        sec_server, origin=origin, token=ADMIN_TOKEN, headers={"X-Request-ID": rid}
    )
    assert status == 403
    records = wait_records(sec_server.proc, lambda r: r["request_id"] == rid)
    assert [(r["method"], r["path"], r["status"]) for r in records] == [("WS", "/v1/ws", 403)]


async def test_ws_handshake_admits_allowed_same_and_absent_origins(sec_server: SecServer) -> None:
    for origin in (ALLOWED_ORIGIN, sec_server.url, None):
        assert await ws_handshake_status(sec_server, origin=origin, token=ADMIN_TOKEN) == 101


async def test_key_allowed_origins_refuse_other_origins(sec_server: SecServer) -> None:
    partner = "https://partner.example.org"
    collection = uid("orig")
    sec_server.seed(collection, "doc", 1)
    key = sec_server.key(permissions=["read"], allowed_origins=[partner])
    jwt = sec_server.mint(key.token)
    for token in (key.token, jwt):
        assert await ws_handshake_status(sec_server, origin=partner, token=token) == 101
        assert await ws_handshake_status(sec_server, origin=ALLOWED_ORIGIN, token=token) == 403
        client = sec_server.http(token)
        path = f"/v1/collections/{collection}/docs/doc"
        assert client.get(path, headers={"Origin": partner}).status_code == 200
        assert client.get(path).status_code == 200  # no Origin: a non-browser client
        for origin in (ALLOWED_ORIGIN, "https://partner.example.org.evil.com", "null"):
            assert_problem(client.get(path, headers={"Origin": origin}), 403, "forbidden")
        stream = client.get(
            "/v1/stream", params={"collection": collection}, headers={"Origin": ALLOWED_ORIGIN}
        )
        assert_problem(stream, 403, "forbidden")


# --- CORS ------------------------------------------------------------------------------------


def _preflight(server: SecServer, origin: str) -> httpx.Response:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        return client.options(
            "/v1/collections/c/docs/k",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "PUT",
                "Access-Control-Request-Headers": "authorization,content-type",
            },
        )


async def test_an_origin_one_key_allows_admits_no_other_credential(
    sec_server: SecServer,
) -> None:
    """Key K's allowed origin joins the CORS and WebSocket allow-lists (a preflight has
    no credential), but a request from that origin made with anything but K (or a token
    K minted) is refused, 403 with no CORS answer; the server-wide origin stays open."""
    partner = f"https://{uuid.uuid4().hex[:12]}.partner.example"
    collection = uid("korig")
    sec_server.seed(collection, "doc", 1)
    owner = sec_server.key(permissions=["read"], allowed_origins=[partner])
    other = sec_server.key(permissions=["read"])
    issuer = sec_server.issuer_token(collections=[collection])
    path = f"/v1/collections/{collection}/docs/doc"
    preflight = _preflight(sec_server, partner)
    assert preflight.headers["access-control-allow-origin"] == partner
    for token in (owner.token, sec_server.mint(owner.token)):
        response = sec_server.http(token).get(path, headers={"Origin": partner})
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == partner
        assert await ws_handshake_status(sec_server, origin=partner, token=token) == 101
    for token in (other.token, sec_server.mint(other.token), ADMIN_TOKEN, issuer):
        client = sec_server.http(token)
        for method in ("GET", "PUT"):
            refused = client.request(method, path, json=2, headers={"Origin": partner})
            assert_problem(refused, 403, "forbidden")
            assert "access-control-allow-origin" not in refused.headers, refused.headers
        stream = client.get(
            "/v1/stream", params={"collection": collection}, headers={"Origin": partner}
        )
        assert_problem(stream, 403, "forbidden")
        assert "access-control-allow-origin" not in stream.headers
        assert await ws_handshake_status(sec_server, origin=partner, token=token) == 403
        # The server-wide origin admits every credential, as before.
        allowed = client.get(path, headers={"Origin": ALLOWED_ORIGIN})
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert sec_server.http().get(path).json()["value"] == 1  # nothing was written


@pytest.mark.parametrize("origin", [o for o in LOOK_ALIKES if o])
def test_cors_answers_no_other_origin(sec_server: SecServer, origin: str) -> None:
    preflight = _preflight(sec_server, origin)
    simple = sec_server.http().get("/v1/collections", headers={"Origin": origin})
    for response in (preflight, simple):
        assert "access-control-allow-origin" not in response.headers, response.headers
        assert response.headers.get("access-control-allow-credentials") != "true"
    assert preflight.status_code >= 400


def test_cors_answers_the_allowed_origin_without_credentials(sec_server: SecServer) -> None:
    preflight = _preflight(sec_server, ALLOWED_ORIGIN)
    simple = sec_server.http().get("/v1/collections", headers={"Origin": ALLOWED_ORIGIN})
    assert preflight.status_code == 200 and simple.status_code == 200
    for response in (preflight, simple):
        assert response.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
        assert "origin" in response.headers["vary"].lower()
        assert "access-control-allow-credentials" not in response.headers
    assert "PUT" in preflight.headers["access-control-allow-methods"]


def test_document_routes_answer_alike_with_and_without_an_origin(sec_server: SecServer) -> None:
    """A browser's document reads and writes (an Origin) get the same answer and the
    same headers as a non-browser client's, bar the CORS ones."""
    client = sec_server.http()
    coll = uid("cors")
    url = f"/v1/collections/{coll}/docs/k"
    assert client.put(url, json={"v": 1}).status_code == 201
    cors_only = {"access-control-allow-origin", "access-control-expose-headers"}
    varying = {"date", "x-request-id", "content-length"}
    for path in (url, f"/v1/collections/{coll}/docs?limit=5", f"/v1/collections/{coll}/docs/nope"):
        plain = client.get(path)
        cors = client.get(path, headers={"Origin": ALLOWED_ORIGIN})
        assert plain.status_code == cors.status_code
        if plain.status_code == 200:
            assert plain.content == cors.content
        else:  # a problem names its request: compare the rest
            assert {**plain.json(), "instance": None, "request_id": None} == {
                **cors.json(),
                "instance": None,
                "request_id": None,
            }
        assert cors.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
        assert "access-control-allow-origin" not in plain.headers
        assert {k for k in plain.headers} - varying == {
            k for k in cors.headers
        } - varying - cors_only
        for response in (plain, cors):
            assert response.headers["vary"] == "Origin"
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["cache-control"] == "no-store"
            assert response.headers["x-levelstream-epoch"]
            assert len(response.headers["x-request-id"]) == 32
    echoed = client.get(url, headers={"X-Request-ID": "trace-42"})
    assert echoed.headers["x-request-id"] == "trace-42"


EVIL_ORIGIN = "https://app.example.com.evil.com"


def assert_browser_answers(base_url: str, admin_token: str, collection: str) -> None:
    """What a browser page reads from the server: CORS answers to an allowed origin on
    every answer (the document routes' and others', preflights, problems refused before
    routing and refused by the gate for want of a credential), none to another origin,
    the same answers otherwise. `ALLOWED_ORIGIN` must be the server's allowed origin."""
    doc = f"/v1/collections/{collection}/docs/k"
    auth = bearer(admin_token)
    with httpx.Client(base_url=base_url, timeout=30) as client:

        def ask(method: str, path: str, origin: str | None, **kwargs: Any) -> httpx.Response:
            headers = {**kwargs.pop("headers", {}), **({"Origin": origin} if origin else {})}
            return client.request(method, path, headers=headers, **kwargs)

        written = ask("PUT", doc, ALLOWED_ORIGIN, json={"v": 1}, headers=auth)
        assert written.status_code == 201
        answers = {
            "create": written,
            "read": ask("GET", doc, ALLOWED_ORIGIN, headers=auth),
            "range": ask("GET", f"/v1/collections/{collection}/docs", ALLOWED_ORIGIN, headers=auth),
            "missing": ask("GET", doc + "-nope", ALLOWED_ORIGIN, headers=auth),
            "not routed here": ask("GET", "/v1/collections", ALLOWED_ORIGIN, headers=auth),
            "no credential": ask("GET", doc, ALLOWED_ORIGIN),
            "bad credential": ask("GET", doc, ALLOWED_ORIGIN, headers=bearer("lsk_no.such")),
            "bad URL": ask("GET", f"/v1/collections/{collection}/docs/a%0Ab", ALLOWED_ORIGIN),
            "bad URL elsewhere": ask("GET", "/v1/keys/a%0Ab", ALLOWED_ORIGIN, headers=auth),
        }
        assert answers["read"].json()["value"] == {"v": 1}
        assert answers["range"].json()["items"][0]["key"] == "k"
        assert_problem(answers["missing"], 404, "not_found")
        assert_problem(answers["no credential"], 401, "unauthorized")
        assert_problem(answers["bad credential"], 401, "unauthorized")
        assert_problem(answers["bad URL"], 422, "validation_failed")
        assert_problem(answers["bad URL elsewhere"], 422, "validation_failed")
        for what, response in answers.items():
            assert response.headers.get("access-control-allow-origin") == ALLOWED_ORIGIN, what
            assert "ETag" in response.headers["access-control-expose-headers"], what
            assert response.headers["vary"] == "Origin", what
            assert "access-control-allow-credentials" not in response.headers, what
        # Another origin gets the same answers, none a page of it may read.
        other_write = ask("PUT", doc + "-2", EVIL_ORIGIN, json=1, headers=auth)
        assert other_write.status_code == 201
        assert "access-control-allow-origin" not in other_write.headers
        for what, response in answers.items():
            if what == "create":
                continue
            request = response.request
            other = client.send(
                client.build_request(
                    request.method,
                    request.url,
                    headers={
                        **{k: v for k, v in request.headers.items() if k != "origin"},
                        "Origin": EVIL_ORIGIN,
                    },
                    content=request.content,
                )
            )
            assert other.status_code == response.status_code, what
            assert "access-control-allow-origin" not in other.headers, what
            assert other.headers["vary"] == "Origin", what
        assert ask("GET", doc, None, headers=auth).json() == answers["read"].json()
        # Preflights: allowed, and refused (a problem) for another origin or header.
        preflight = {
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "authorization,content-type",
        }
        for path in (doc, "/v1/collections"):
            allowed = ask("OPTIONS", path, ALLOWED_ORIGIN, headers=preflight)
            assert allowed.status_code == 200
            assert allowed.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
            assert "PUT" in allowed.headers["access-control-allow-methods"]
            assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
            assert "origin" in allowed.headers["vary"].lower()
            assert len(allowed.headers["x-request-id"]) == 32
            assert "access-control-allow-credentials" not in allowed.headers
            refused = ask("OPTIONS", path, EVIL_ORIGIN, headers=preflight)
            assert_problem(refused, 400, "bad_request")
            assert "access-control-allow-origin" not in refused.headers
            odd = ask(
                "OPTIONS",
                path,
                ALLOWED_ORIGIN,
                headers={**preflight, "Access-Control-Request-Headers": "x-evil"},
            )
            assert_problem(odd, 400, "bad_request")
        # Nothing was written by any of it but the PUTs.
        assert ask("GET", doc, None, headers=auth).json()["rev"] == written.json()["rev"]


def test_browsers_get_cors_answers_on_every_path(sec_server: SecServer) -> None:
    assert_browser_answers(sec_server.url, ADMIN_TOKEN, uid("browser"))


@pytest.mark.parametrize("origins", ["*", "null", "https://ok.example,*"])
def test_server_refuses_to_start_with_wildcard_origins(
    tmp_path: Path, sec_ledger: Ledger, origins: str
) -> None:
    proc = ServerProcess(tmp_path / "data", LEVELSTREAM_ALLOWED_ORIGINS=origins)
    sec_ledger.watch(proc)
    with pytest.raises(RuntimeError, match="server exited"):
        proc.start(timeout=30)
    assert proc.proc is not None and proc.proc.returncode != 0
    assert "LEVELSTREAM_ALLOWED_ORIGINS" in proc.log_tail()
    proc.proc = None
