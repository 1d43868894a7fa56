"""Helpers for the security suite (tests/test_sec_*.py): a configured real server, keys,
forged tokens, small WebSocket/SSE clients, the access log, and the secret ledger.

Everything talks to a real server subprocess on 127.0.0.1. Every secret a test is
handed (key tokens, JWTs, tickets, the admin token, the JWT signing secret) goes into
the `Ledger`, which at the end of the session greps every server log and every file
of every data directory for them: the expected number of hits is zero.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jose import jwt as jose_jwt
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.server import ADMIN_TOKEN, ServerProcess

TIMEOUT = 10.0  # generous: a frame that should come but does not fails, slowly
ALLOWED_ORIGIN = "https://app.example.com"
TRUSTED_ISS = "https://idp.example.test"
TRUSTED_AUD = "levelstream-sec"
SERVER_ISS = "levelstream"  # the issuer (and audience) of tokens the server mints
TICKET_TTL_S = 3.0  # the security server's ticket lifetime (the default is 30 s)

Frame = dict[str, Any]


def uid(prefix: str) -> str:
    """A name no other test uses (valid as a collection or channel name)."""
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """An RFC 9457 problem with this status and contract `code`; returns its body."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status and problem["code"] == code, problem
    assert problem["request_id"] == response.headers["x-request-id"]
    return problem


# --- the secret ledger ------------------------------------------------------------------


class Ledger:
    """Every secret handed out during the session, and where they must never show up."""

    def __init__(self) -> None:
        self.secrets: set[str] = set()
        self.logs: list[Path] = []
        self.data_dirs: list[Path] = []
        self.remember(ADMIN_TOKEN)

    def remember(self, *values: str) -> None:
        for value in values:
            self.secrets.add(value)
            # Also the secret parts alone, in case something logs a cut-down form.
            if value.startswith("lsk_") and value.count("_") >= 2:
                self.secrets.add(value.split("_", 2)[2])
            elif value.startswith("lst_"):
                self.secrets.add(value[4:])
            elif value.count(".") == 2:
                _header, payload, signature = value.split(".")
                self.secrets.update(s for s in (payload, signature) if s)

    def watch(self, server: ServerProcess) -> None:
        self.logs.append(server.log_path)
        self.data_dirs.append(server.data_dir)

    def files(self) -> list[Path]:
        found = [p for p in self.logs if p.exists()]
        for data_dir in self.data_dirs:
            found.extend(p for p in sorted(data_dir.rglob("*")) if p.is_file())
        return found

    def hits(self, paths: list[Path] | None = None) -> list[str]:
        """`path: secret prefix…` for every secret found in a file (should be empty)."""
        needles = [s for s in self.secrets if len(s) >= 16]
        out = []
        for path in paths if paths is not None else self.files():
            data = path.read_bytes()
            out.extend(f"{path}: {s[:10]}…" for s in needles if s.encode() in data)
        return out


# --- the configured server --------------------------------------------------------------


def rsa_private_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def public_pem(private_pem: bytes) -> bytes:
    key = serialization.load_pem_private_key(private_pem, password=None)
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@dataclass
class Key:
    id: str
    token: str
    spec: dict[str, Any]


@dataclass
class SecServer:
    """A running server plus what its tests need: its issuer's keys and a ledger."""

    proc: ServerProcess
    ledger: Ledger
    issuer_private: bytes
    foreign_private: bytes
    issuer_public_path: Path
    jwt_secret: str
    _clients: dict[str | None, httpx.Client] = field(default_factory=dict)

    @classmethod
    def start(cls, base: Path, ledger: Ledger, **env: str) -> SecServer:
        base.mkdir(parents=True, exist_ok=True)
        issuer_private, foreign_private = rsa_private_pem(), rsa_private_pem()
        public_path = base / "issuer.pub.pem"
        public_path.write_bytes(public_pem(issuer_private))
        jwt_secret = secrets.token_urlsafe(32)
        ledger.remember(jwt_secret)
        trusted = [
            {
                "iss": TRUSTED_ISS,
                "aud": TRUSTED_AUD,
                "algorithms": ["RS256"],
                "public_key_file": str(public_path),
            }
        ]
        settings = {
            "LEVELSTREAM_JWT_SECRET": jwt_secret,
            "LEVELSTREAM_JWT_TRUSTED_ISSUERS": json.dumps(trusted),
            "LEVELSTREAM_ALLOWED_ORIGINS": ALLOWED_ORIGIN,
            "LEVELSTREAM_TICKET_TTL_S": str(TICKET_TTL_S),
            "LEVELSTREAM_DURABILITY": "async",
            **env,
        }
        proc = ServerProcess(base / "data", **settings)
        ledger.watch(proc)
        proc.start()
        return cls(proc, ledger, issuer_private, foreign_private, public_path, jwt_secret)

    def stop(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()
        if self.proc.proc is not None:
            self.proc.stop()

    def http(self, token: str | None = ADMIN_TOKEN) -> httpx.Client:
        """A kept-alive client for `token` (making an httpx client costs tens of ms)."""
        client = self._clients.get(token)
        if client is None:
            client = self._clients[token] = self.client(token)
        return client

    @property
    def url(self) -> str:
        return self.proc.url

    def client(self, token: str | None = ADMIN_TOKEN, **kwargs: Any) -> httpx.Client:
        headers = bearer(token) if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30, **kwargs)

    def async_client(self, token: str | None = ADMIN_TOKEN, **kwargs: Any) -> httpx.AsyncClient:
        headers = bearer(token) if token else {}
        return httpx.AsyncClient(base_url=self.url, headers=headers, timeout=30, **kwargs)

    # --- credentials -----------------------------------------------------------------

    def key(self, **spec: Any) -> Key:
        """A new API key (admin-made); its token goes into the ledger."""
        body = {"name": uid("key"), **spec}
        response = self.http().post("/v1/keys", json=body)
        assert response.status_code == 201, response.text
        created = response.json()
        self.ledger.remember(created["token"])
        return Key(created["id"], created["token"], body)

    def mint(self, token: str, **body: Any) -> str:
        """A JWT from `POST /v1/auth/token`; it goes into the ledger."""
        response = self.http(token).post("/v1/auth/token", json={"sub": uid("sub"), **body})
        assert response.status_code == 200, response.text
        jwt: str = response.json()["token"]
        self.ledger.remember(jwt)
        return jwt

    def ticket(self, token: str) -> str:
        response = self.http(token).post("/v1/auth/ticket")
        assert response.status_code == 200, response.text
        ticket: str = response.json()["ticket"]
        self.ledger.remember(ticket)
        return ticket

    def seed(self, collection: str, key: str, value: Any) -> dict[str, Any]:
        response = self.http().put(f"/v1/collections/{collection}/docs/{key}", json=value)
        assert response.status_code in (200, 201), response.text
        envelope: dict[str, Any] = response.json()
        return envelope

    def head_seq(self) -> int:
        response = self.http().get("/v1/changes", params={"collection": "*", "limit": 1})
        assert response.status_code == 200, response.text
        return int(response.json()["head_seq"])

    # --- forged and external tokens ------------------------------------------------------

    def issuer_token(self, private_pem: bytes | None = None, **claims: Any) -> str:
        """An RS256 token as the trusted issuer would sign it (or with another key)."""
        body = token_claims(**{"iss": TRUSTED_ISS, "aud": TRUSTED_AUD, **claims})
        token: str = jose_jwt.encode(body, (private_pem or self.issuer_private).decode(), "RS256")
        self.ledger.remember(token)
        return token

    def server_token(self, secret: str | None = None, **claims: Any) -> str:
        """An HS256 token signed with the server's own secret (or another secret), as
        the admin would mint it (with the binding to the admin token it mints)."""
        admin_minted = jose_jwt.get_unverified_claims(self.mint(ADMIN_TOKEN))
        binding = {"adm": admin_minted["adm"]}
        body = token_claims(
            **{"iss": SERVER_ISS, "aud": SERVER_ISS, "lsk": "admin", **binding, **claims}
        )
        token: str = jose_jwt.encode(body, secret or self.jwt_secret, "HS256")
        self.ledger.remember(token)
        return token


def token_claims(**overrides: Any) -> dict[str, Any]:
    """Claims of a valid token; `name=None` leaves a claim out."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": uid("sub"),
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "permissions": ["read"],
        "collections": ["*"],
        "channels": ["*"],
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def hand_signed(header: dict[str, Any], claims: dict[str, Any], hmac_key: bytes | None) -> str:
    """A JWT built by hand: python-jose refuses to make the malicious ones we need."""
    signing_input = f"{b64url(orjson.dumps(header))}.{b64url(orjson.dumps(claims))}"
    signature = b""
    if hmac_key is not None:
        signature = hmac.new(hmac_key, signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


# --- WebSocket ----------------------------------------------------------------------------


class WsClient:
    """One `/v1/ws` connection: replies matched by id, other frames kept in order."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.pending: deque[Frame] = deque()
        self._next_id = 0

    async def send(self, frame: Frame) -> None:
        await self.ws.send(orjson.dumps(frame).decode())

    async def _recv(self, timeout: float) -> Frame:
        raw = await asyncio.wait_for(self.ws.recv(), timeout)
        frame: Frame = orjson.loads(raw)
        return frame

    async def expect(self, predicate: Callable[[Frame], bool], timeout: float = TIMEOUT) -> Frame:
        for index, frame in enumerate(self.pending):
            if predicate(frame):
                del self.pending[index]
                return frame
        deadline = time.monotonic() + timeout
        for _ in range(100_000):
            frame = await self._recv(max(deadline - time.monotonic(), 0.001))
            if predicate(frame):
                return frame
            self.pending.append(frame)
        raise AssertionError("no matching frame")

    async def request(self, op: str, **fields: Any) -> Frame:
        self._next_id += 1
        request_id = f"r{self._next_id}"
        await self.send({"op": op, "id": request_id, **fields})
        return await self.expect(
            lambda f: f.get("type") in ("reply", "pong") and f.get("id") == request_id
        )

    async def ok(self, op: str, **fields: Any) -> Frame:
        reply = await self.request(op, **fields)
        assert reply.get("ok") is True, reply
        return reply

    async def refused(self, code: str, op: str, **fields: Any) -> Frame:
        reply = await self.request(op, **fields)
        assert reply.get("ok") is False and reply["error"]["code"] == code, reply
        return reply

    async def changes_until(self, sub: str, seq: int, timeout: float = TIMEOUT) -> list[Frame]:
        """This subscription's changes up to the first with seq >= `seq`."""
        out: list[Frame] = []
        deadline = time.monotonic() + timeout
        while not out or out[-1]["seq"] < seq:
            frame = await self.expect(
                lambda f: f.get("type") == "change" and f.get("sub") == sub,
                max(deadline - time.monotonic(), 0.001),
            )
            out.append(frame["change"])
        return out

    async def closed(self, timeout: float = TIMEOUT) -> tuple[int | None, list[Frame]]:
        """Read until the server closes: its close code and the frames read on the way."""
        frames: list[Frame] = list(self.pending)
        self.pending.clear()
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                frames.append(await self._recv(max(deadline - time.monotonic(), 0.001)))
        except ConnectionClosed as exc:
            return (exc.rcvd.code if exc.rcvd else None), frames
        except TimeoutError:
            pass
        raise AssertionError(f"the server did not close the socket; frames {frames[:5]}")


def ws_url(server: SecServer | ServerProcess, **query: str) -> str:
    proc = server.proc if isinstance(server, SecServer) else server
    suffix = f"?{urlencode(query)}" if query else ""
    return f"{proc.ws_url}/v1/ws{suffix}"


@asynccontextmanager
async def ws_client(
    server: SecServer | ServerProcess,
    *,
    origin: str | None = None,
    headers: dict[str, str] | None = None,
    **query: str,
) -> AsyncIterator[WsClient]:
    async with connect(
        ws_url(server, **query),
        origin=origin,  # type: ignore[arg-type]
        additional_headers=headers,
        proxy=None,
        compression=None,
        open_timeout=TIMEOUT,
    ) as ws:
        yield WsClient(ws)


async def ws_handshake_status(
    server: SecServer | ServerProcess,
    *,
    origin: str | None = None,
    headers: dict[str, str] | None = None,
    **query: str,
) -> int:
    """101 if the upgrade is accepted (the socket is then closed at once), else the HTTP status."""
    try:
        async with connect(
            ws_url(server, **query),
            origin=origin,  # type: ignore[arg-type]
            additional_headers=headers,
            proxy=None,
            compression=None,
            open_timeout=TIMEOUT,
        ):
            return 101
    except InvalidStatus as exc:
        return int(exc.response.status_code)


# --- Server-Sent Events ---------------------------------------------------------------------


class SseReader:
    """Reads `text/event-stream` into (event, data) pairs; `None` when the stream ended."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.aiter_lines()
        self.comments: list[str] = []

    async def next_event(self, timeout: float = TIMEOUT) -> tuple[str, str] | None:
        deadline = time.monotonic() + timeout
        event, data = "message", []
        for _ in range(1_000_000):
            try:
                line = await asyncio.wait_for(
                    anext(self._lines), max(deadline - time.monotonic(), 0.001)
                )
            except (StopAsyncIteration, httpx.ReadError, httpx.RemoteProtocolError):
                return None
            if line == "":
                if data:
                    return event, "\n".join(data)
                event, data = "message", []
            elif line.startswith(":"):
                self.comments.append(line[1:].strip())
            else:
                name, _, value = line.partition(":")
                value = value.removeprefix(" ")
                if name == "data":
                    data.append(value)
                elif name == "event":
                    event = value
        raise AssertionError("no event")

    async def changes_until(self, seq: int, timeout: float = TIMEOUT) -> list[Frame]:
        out: list[Frame] = []
        deadline = time.monotonic() + timeout
        while not out or out[-1]["seq"] < seq:
            got = await self.next_event(max(deadline - time.monotonic(), 0.001))
            assert got is not None, "the stream ended early"
            if got[0] == "change":
                out.append(orjson.loads(got[1]))
        return out

    async def ended(self, timeout: float = TIMEOUT) -> list[tuple[str, str]]:
        """Read until the server ends the stream; the events on the way."""
        events = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = await self.next_event(max(deadline - time.monotonic(), 0.001))
            if got is None:
                return events
            events.append(got)
        raise AssertionError("the stream did not end")


@asynccontextmanager
async def sse_stream(
    client: httpx.AsyncClient, headers: dict[str, str] | None = None, **params: Any
) -> AsyncIterator[SseReader]:
    async with client.stream(
        "GET",
        "/v1/stream",
        params=params,
        headers={"Accept": "text/event-stream", **(headers or {})},
    ) as response:
        if response.status_code != 200:
            await response.aread()
            raise AssertionError(f"stream answered {response.status_code}: {response.text}")
        yield SseReader(response)


# --- the access log ----------------------------------------------------------------------------


def access_records(proc: ServerProcess) -> list[dict[str, Any]]:
    """Every access-log record the server wrote so far.

    The test server's log file holds standard output (the access log) and standard
    error (diagnostics, JSON too, which carry a request id but no `status`).
    """
    records = []
    for line in proc.log_path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and "request_id" in record and "status" in record:
                records.append(record)
    return records


def wait_records(
    proc: ServerProcess, predicate: Callable[[dict[str, Any]], bool], timeout: float = TIMEOUT
) -> list[dict[str, Any]]:
    """The access-log records matching `predicate`, waiting until there is at least one."""
    deadline = time.monotonic() + timeout
    while True:
        found = [r for r in access_records(proc) if predicate(r)]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)
