"""The one admission (app/auth/gate.py), through real servers: rate limits on every way
in (WebSocket handshakes and ops, SSE opens), connection caps (global per kind, per key,
per client address) with the same refusal codes on WebSocket and SSE, slots given back
when a connection closes, and long-polls re-admitted when they wake up.

The servers trust 127.0.0.1 as a proxy, so each test speaks from client addresses of
its own (`X-Forwarded-For`) and the per-address budgets of one test do not touch
another's.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx
import orjson
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.security_helpers import (
    TIMEOUT,
    Key,
    Ledger,
    SecServer,
    WsClient,
    assert_problem,
    bearer,
    uid,
    ws_client,
)
from tests.server import ADMIN_TOKEN

PER_IP_PER_S = 10
_addresses = itertools.count(1)


def address() -> str:
    """A client address no other request of this session claims."""
    n = next(_addresses)
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def from_(ip: str, token: str | None = None) -> dict[str, str]:
    return {"X-Forwarded-For": ip, **(bearer(token) if token else {})}


def make_key(server: SecServer, **spec: Any) -> Key:
    """A key made from an address of its own (the setup must not spend a test's budget)."""
    body = {"name": uid("key"), **spec}
    with server.client() as admin:
        response = admin.post("/v1/keys", json=body, headers=from_(address()))
    assert response.status_code == 201, response.text
    created = response.json()
    server.ledger.remember(created["token"])
    return Key(created["id"], created["token"], body)


Outcome = tuple[int | None, dict[str, Any]]


async def ws_outcome(server: SecServer, ip: str, auth_frame: bool = False, **query: str) -> Outcome:
    """(None, {}) when the socket is admitted (a ping is answered); else the close code
    (or the HTTP status of a refused handshake) and the JSON close reason."""
    token = query.pop("token", None) if auth_frame else None
    try:
        async with ws_client(server, headers=from_(ip), **query) as ws:
            if token is not None:
                await ws.send({"op": "auth", "token": token})
                await ws.expect(lambda f: f.get("type") == "reply")
            await ws.request("ping")
            return None, {}
    except ConnectionClosed as exc:
        assert exc.rcvd is not None, "closed without a close frame"
        return exc.rcvd.code, orjson.loads(exc.rcvd.reason)
    except InvalidStatus as exc:
        return exc.response.status_code, {}


@asynccontextmanager
async def held_ws(server: SecServer, ip: str, token: str) -> AsyncIterator[WsClient]:
    """An admitted socket, held open."""
    async with ws_client(server, headers=from_(ip), token=token) as ws:
        await ws.request("ping")
        yield ws


async def open_sse(
    stack: AsyncExitStack, client: httpx.AsyncClient, ip: str, token: str, **params: str
) -> httpx.Response:
    """Open a stream and keep it open on `stack`; the response (a refusal is read whole)."""
    response = await stack.enter_async_context(
        client.stream(
            "GET",
            "/v1/stream",
            params=params,
            headers={"Accept": "text/event-stream", **from_(ip, token)},
        )
    )
    if response.status_code != 200:
        await response.aread()
    return response


def assert_cap_refusal(outcome: Outcome, limit: str) -> None:
    code, reason = outcome
    # The reason also says what was wrong ("detail"), as every refusal's does.
    assert (code, reason.get("code"), reason.get("limit")) == (4009, "rate_limited", limit), outcome
    assert "connections" in reason.get("detail", ""), outcome


def assert_sse_cap_refusal(response: httpx.Response, limit: str) -> None:
    problem = assert_problem(response, 429, "rate_limited")
    assert problem["limit"] == limit, problem


# --- rate limits ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory, sec_ledger: Ledger) -> Iterator[SecServer]:
    server = SecServer.start(
        tmp_path_factory.mktemp("limited"),
        sec_ledger,
        LEVELSTREAM_TRUSTED_PROXIES="127.0.0.1/32",
        LEVELSTREAM_RATE_LIMIT_PER_IP=str(PER_IP_PER_S),
    )
    yield server
    server.stop()


def assert_rate_limited(outcomes: list[Outcome]) -> None:
    """Some admitted, some refused, and every refusal a 4008 naming `rate_limited`."""
    refused = [o for o in outcomes if o[0] is not None]
    assert refused and len(refused) < len(outcomes), outcomes
    for code, reason in refused:
        assert code == 4008 and reason["code"] == "rate_limited", (code, reason)
        assert isinstance(reason["retry_after"], int) and reason["retry_after"] >= 1


async def test_ws_handshakes_are_rate_limited_per_address(limited: SecServer) -> None:
    ip = address()
    outcomes = [await ws_outcome(limited, ip, token=ADMIN_TOKEN) for _ in range(3 * PER_IP_PER_S)]
    assert_rate_limited(outcomes)
    # The budget is the address's: another address is admitted at once.
    assert await ws_outcome(limited, address(), token=ADMIN_TOKEN) == (None, {})


async def test_ws_handshakes_and_auth_frames_are_rate_limited_per_key(limited: SecServer) -> None:
    key = make_key(limited, permissions=["read"], rate_limit_per_s=3)
    # Each from an address of its own: only the key's budget is spent.
    outcomes = [
        await ws_outcome(limited, address(), auth_frame=i % 2 == 1, token=key.token)
        for i in range(16)
    ]
    assert_rate_limited(outcomes)


async def test_ws_ops_are_rate_limited_per_address_and_pings_are_not(limited: SecServer) -> None:
    collection = uid("ops")
    ip = address()
    async with ws_client(limited, headers=from_(ip), token=ADMIN_TOKEN) as ws:
        count = 3 * PER_IP_PER_S
        for i in range(count):
            await ws.send({"op": "get", "id": i, "collection": collection, "key": "k"})
        replies = [await ws.expect(lambda f, i=i: f.get("id") == i) for i in range(count)]
        codes = [r["error"]["code"] for r in replies]
        assert "rate_limited" in codes and "not_found" in codes, codes
        assert set(codes) == {"rate_limited", "not_found"}
        # The address's budget is spent, and pings still answer.
        for i in range(count):
            await ws.send({"op": "ping", "id": f"p{i}"})
        pongs = [await ws.expect(lambda f, i=i: f.get("id") == f"p{i}") for i in range(count)]
        assert all(p["type"] == "pong" for p in pongs), pongs


async def test_sse_opens_and_ws_handshakes_share_the_address_budget(limited: SecServer) -> None:
    ip = address()
    statuses = []
    async with limited.async_client(token=None) as client:
        for _ in range(2 * PER_IP_PER_S):
            async with AsyncExitStack() as stack:
                response = await open_sse(stack, client, ip, ADMIN_TOKEN, channel="feed")
                statuses.append(response.status_code)
                if response.status_code != 200:
                    assert_problem(response, 429, "rate_limited")
                    assert int(response.headers["retry-after"]) >= 1
        assert 200 in statuses and 429 in statuses, statuses
        # Spent by streams: a WebSocket from the same address is refused too.
        code, reason = await ws_outcome(limited, ip, token=ADMIN_TOKEN)
        assert code == 4008 and reason["code"] == "rate_limited", (code, reason)
        # A key's own budget holds on SSE opens as well.
        key = make_key(limited, permissions=["read"], rate_limit_per_s=2)
        by_key = []
        for _ in range(8):
            async with AsyncExitStack() as stack:
                response = await open_sse(stack, client, address(), key.token, channel="feed")
                by_key.append(response.status_code)
        assert 200 in by_key and 429 in by_key, by_key


# --- connection caps -----------------------------------------------------------------------------

PER_KEY, PER_IP = 2, 3


@pytest.fixture(scope="module")
def capped(tmp_path_factory: pytest.TempPathFactory, sec_ledger: Ledger) -> Iterator[SecServer]:
    server = SecServer.start(
        tmp_path_factory.mktemp("capped"),
        sec_ledger,
        LEVELSTREAM_TRUSTED_PROXIES="127.0.0.1/32",
        LEVELSTREAM_MAX_CONNECTIONS_PER_KEY=str(PER_KEY),
        LEVELSTREAM_MAX_CONNECTIONS_PER_IP=str(PER_IP),
    )
    yield server
    server.stop()


async def test_per_key_connection_cap_on_ws_and_sse(capped: SecServer) -> None:
    key = make_key(capped, permissions=["read"])
    jwt = capped.mint(key.token)  # minted by the key: spends the key's places
    other = make_key(capped, permissions=["read"])
    async with AsyncExitStack() as stack, capped.async_client(token=None) as client:
        await stack.enter_async_context(held_ws(capped, address(), key.token))
        assert (await open_sse(stack, client, address(), key.token, channel="c")).status_code == 200
        for token in (key.token, jwt):
            assert_cap_refusal(await ws_outcome(capped, address(), token=token), "key")
            refused = await open_sse(stack, client, address(), token, channel="c")
            assert_sse_cap_refusal(refused, "key")
        # Another key has places of its own.
        assert await ws_outcome(capped, address(), token=other.token) == (None, {})


async def test_per_address_connection_cap_on_ws_and_sse(capped: SecServer) -> None:
    ip = address()
    keys = [make_key(capped, permissions=["read"]) for _ in range(4)]
    async with AsyncExitStack() as stack, capped.async_client(token=None) as client:
        await stack.enter_async_context(held_ws(capped, ip, keys[0].token))
        assert (await open_sse(stack, client, ip, keys[1].token, channel="c")).status_code == 200
        await stack.enter_async_context(held_ws(capped, ip, keys[2].token))
        assert_cap_refusal(await ws_outcome(capped, ip, token=keys[3].token), "address")
        refused = await open_sse(stack, client, ip, keys[3].token, channel="c")
        assert_sse_cap_refusal(refused, "address")
        # The same key from another address is admitted.
        assert await ws_outcome(capped, address(), token=keys[3].token) == (None, {})


async def _until_admitted(attempt: Any) -> None:
    """The server gives a place back when it notices the close: try a few times."""
    for _ in range(100):
        if await attempt():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("a closed connection still holds its place")


async def test_a_slot_is_given_back_when_its_connection_closes(capped: SecServer) -> None:
    key = make_key(capped, permissions=["read"])
    async with AsyncExitStack() as outer, capped.async_client(token=None) as client:
        await outer.enter_async_context(held_ws(capped, address(), key.token))
        async with AsyncExitStack() as inner:
            stream = await open_sse(inner, client, address(), key.token, channel="c")
            assert stream.status_code == 200
            assert_cap_refusal(await ws_outcome(capped, address(), token=key.token), "key")
        # The stream is closed: its place is free for a WebSocket ...

        async def ws_admitted() -> bool:
            return await ws_outcome(capped, address(), token=key.token) == (None, {})

        await _until_admitted(ws_admitted)

        # ... and, once that socket is closed too, for a stream again.
        async def sse_admitted() -> bool:
            async with AsyncExitStack() as stack:
                response = await open_sse(stack, client, address(), key.token, channel="c")
                return response.status_code == 200

        await _until_admitted(sse_admitted)


async def test_sse_has_its_own_ceiling_and_cannot_take_websocket_places(
    tmp_path_factory: pytest.TempPathFactory, sec_ledger: Ledger
) -> None:
    server = SecServer.start(
        tmp_path_factory.mktemp("ceilings"),
        sec_ledger,
        LEVELSTREAM_MAX_SSE_CONNECTIONS="3",
        LEVELSTREAM_WS_MAX_CONNECTIONS="3",  # the setting's earlier name still works
        LEVELSTREAM_MAX_CONNECTIONS="10",
    )
    try:
        # A channel-only key, as in the finding (30 such streams made every handshake 4009).
        key = server.key(permissions=["read"], collections=[], channels=["feed"])
        async with AsyncExitStack() as stack, server.async_client(token=None) as client:
            for _ in range(3):
                opened = await open_sse(stack, client, "127.0.0.1", key.token, channel="feed")
                assert opened.status_code == 200
            over = await open_sse(stack, client, "127.0.0.1", key.token, channel="feed")
            assert_sse_cap_refusal(over, "sse")
            for _ in range(3):
                ws = await stack.enter_async_context(ws_client(server, token=key.token, headers={}))
                await ws.request("ping")
            code, reason = await _plain_ws_outcome(server, key.token)
            assert_cap_refusal((code, reason), "ws")
    finally:
        server.stop()


async def _plain_ws_outcome(server: SecServer, token: str) -> Outcome:
    try:
        async with ws_client(server, token=token) as ws:
            await ws.request("ping")
            return None, {}
    except ConnectionClosed as exc:
        assert exc.rcvd is not None
        return exc.rcvd.code, orjson.loads(exc.rcvd.reason)


# --- long-poll: re-admitted when it wakes up (issue 13, item 6) ---------------------------------


@asynccontextmanager
async def waiting_poll(
    server: SecServer, token: str, collection: str
) -> AsyncIterator[asyncio.Task[httpx.Response]]:
    """A `GET /v1/changes?wait=` made with `token`, in flight (given time to start waiting)."""
    since = server.head_seq()
    async with server.async_client(token) as client:
        params = {"collection": collection, "since": since, "wait": 15}
        task = asyncio.create_task(client.get("/v1/changes", params=params, timeout=TIMEOUT * 3))
        # Not a timing assert: a poll that had not started waiting would be refused at its
        # admission (the same outcome); this pause makes it the wake-up path that is tested.
        await asyncio.sleep(0.5)
        assert not task.done(), task.result().text
        yield task


async def test_long_poll_with_a_revoked_key_does_not_return_later_changes(
    sec_server: SecServer,
) -> None:
    collection = uid("lpr")
    key = sec_server.key(permissions=["read"], collections=[collection])
    async with (
        waiting_poll(sec_server, key.token, collection) as poll,
        sec_server.async_client() as admin,
    ):
        assert (await admin.delete(f"/v1/keys/{key.id}")).status_code == 204
        marker = uid("after_revoke")
        put = await admin.put(f"/v1/collections/{collection}/docs/k", json={"m": marker})
        assert put.status_code == 201
        response = await poll
    assert_problem(response, 401, "unauthorized")
    assert marker not in response.text


async def test_long_poll_with_a_narrowed_key_does_not_return_later_changes(
    sec_server: SecServer,
) -> None:
    kept, dropped = uid("lpk"), uid("lpd")
    key = sec_server.key(permissions=["read"], collections=[kept, dropped])
    async with sec_server.async_client() as admin:
        # Polling the collection the key loses: refused once it wakes up.
        async with waiting_poll(sec_server, key.token, dropped) as poll:
            patched = await admin.patch(f"/v1/keys/{key.id}", json={"collections": [kept]})
            assert patched.status_code == 200, patched.text
            marker = uid("after_narrowing")
            await admin.put(f"/v1/collections/{dropped}/docs/k", json={"m": marker})
            response = await poll
        assert_problem(response, 403, "forbidden")
        assert marker not in response.text

        # Polling `*`: only what the key may still read is returned.
        await admin.patch(f"/v1/keys/{key.id}", json={"collections": [kept, dropped]})
        async with waiting_poll(sec_server, key.token, "*") as poll:
            await admin.patch(f"/v1/keys/{key.id}", json={"collections": [kept]})
            await admin.put(f"/v1/collections/{dropped}/docs/k2", json={"m": marker})
            await admin.put(f"/v1/collections/{kept}/docs/k", json={"ok": True})
            response = await poll
        assert response.status_code == 200, response.text
        changes = response.json()["changes"]
        assert [(c["collection"], c["key"]) for c in changes] == [(kept, "k")], changes
        assert marker not in response.text
