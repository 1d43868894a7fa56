"""A cluster node whose Redis link goes silent: only what needs Redis waits.

The rate limiter's budgets and the stream tickets live in Redis in cluster
mode. One node talks to the suite's Redis through a TCP proxy
(tests/history/proxy.py) that the test blackholes (nothing passes, no reset):
a request that spends a rate-limit budget or a ticket then waits for Redis, at
most the node's LEVELSTREAM_SERVICE_TIMEOUT_S, and is answered 503
`unavailable` with nothing done; meanwhile requests that need no Redis (a
document read with a key without a limit, /healthz, a WebSocket op of such a
key) are answered. Before, those clients were synchronous on the event loop,
and the whole node stalled with them.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.cluster_support import REDIS_URL, cluster_env, database
from tests.history.proxy import TcpProxy
from tests.realtime_clients import ws_client
from tests.server import ServerProcess

SERVICE_TIMEOUT_S = 3.0
# No hang: a request that meets the silent link is answered within this (its wait is
# bounded by the service timeout; the rest is a busy machine's slack).
NO_HANG_S = 4 * SERVICE_TIMEOUT_S + 5


@pytest.fixture
def redis_link() -> Iterator[TcpProxy]:
    address = urlsplit(REDIS_URL)
    proxy = TcpProxy(address.hostname or "127.0.0.1", address.port or 6379).start()
    try:
        yield proxy
    finally:
        proxy.close()


@pytest.fixture
def node(tmp_path: Path, redis_link: TcpProxy) -> Iterator[ServerProcess]:
    """A cluster node (its own database), its Redis through `redis_link`."""
    with database() as store_url:
        env = {
            **cluster_env(store_url),
            "LEVELSTREAM_BUS_URL": redis_link.url_for(REDIS_URL),
            "LEVELSTREAM_SERVICE_TIMEOUT_S": str(SERVICE_TIMEOUT_S),
        }
        server = ServerProcess(tmp_path / "node", **env).start()
        try:
            yield server
        finally:
            server.stop()


def as_key(node: ServerProcess, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=node.url, headers={"X-API-Key": token}, timeout=60)


async def test_a_silent_redis_holds_only_the_requests_that_need_it(
    node: ServerProcess, redis_link: TcpProxy
) -> None:
    coll = f"stall_{uuid.uuid4().hex[:8]}"
    async with node.async_client() as admin:
        keys = {}
        for name, limit in (("limited", {"rate_limit_per_s": 1000}), ("free", {})):
            created = await admin.post(
                "/v1/keys", json={"name": name, "permissions": ["read", "write"], **limit}
            )
            assert created.status_code == 201, created.text
            keys[name] = created.json()["token"]
        put = await admin.put(f"/v1/collections/{coll}/docs/here", json={"v": 1})
        assert put.status_code == 201, put.text

    async with (
        as_key(node, keys["limited"]) as limited,
        as_key(node, keys["free"]) as free,
        ws_client(node, keys["free"]) as ws,
    ):
        # Both work while Redis answers (the limited key's budget is spent in Redis).
        assert (await limited.get(f"/v1/collections/{coll}/docs/here")).status_code == 200
        ticket = await free.post("/v1/auth/ticket")
        assert ticket.status_code == 200, ticket.text
        ws_ticket = await free.post("/v1/auth/ticket")
        assert ws_ticket.status_code == 200, ws_ticket.text

        redis_link.cut("blackhole")
        waiting = asyncio.create_task(limited.put(f"/v1/collections/{coll}/docs/new", json=1))
        await asyncio.sleep(0.2)  # let the limited write reach the node and wait on Redis
        assert not waiting.done(), waiting.result().text
        # Everything that needs no Redis is answered while the limited write waits.
        for _ in range(5):
            read = await free.get(f"/v1/collections/{coll}/docs/here")
            assert read.status_code == 200, read.text
            assert (await free.get("/healthz")).status_code == 200
            await ws.ok("get", collection=coll, key="here")
        assert not waiting.done(), "the node answered nothing else until Redis gave up"

        answer = await asyncio.wait_for(waiting, NO_HANG_S)
        assert answer.status_code == 503, answer.text
        assert answer.json()["code"] == "unavailable"
        # Tickets need Redis as well: an outage, not a refused credential.
        issued = await asyncio.wait_for(free.post("/v1/auth/ticket"), NO_HANG_S)
        assert issued.status_code == 503, issued.text
        assert issued.json()["code"] == "unavailable"
        async with httpx.AsyncClient(base_url=node.url, timeout=60) as anonymous:
            stream = anonymous.get(
                "/v1/stream", params={"collection": coll, "ticket": ticket.json()["ticket"]}
            )
            redeemed = await asyncio.wait_for(stream, NO_HANG_S)
        assert redeemed.status_code == 503, redeemed.text
        assert redeemed.json()["code"] == "unavailable"
        # On a WebSocket: 1013 Try Again Later, not 4001 (after which a client without a
        # token provider would give up for good).
        async with ws_client(node, ws_ticket.json()["ticket"]) as refused:
            code, reason = await refused.closed(NO_HANG_S)
        assert code == 1013 and json.loads(reason)["code"] == "unavailable", (code, reason)

        redis_link.resume()
        # The refused write did nothing; with Redis back the key writes again.
        async with node.async_client() as admin:
            gone = await admin.get(f"/v1/collections/{coll}/docs/new")
            assert gone.status_code == 404, gone.text
        retried = await limited.put(f"/v1/collections/{coll}/docs/new", json=2)
        assert retried.status_code == 201, retried.text
