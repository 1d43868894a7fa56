"""The cluster mode under test: PostgreSQL and Redis from `scripts/test-services.sh`.

`make test` starts both (as root, installing Debian's packages when missing).
Where they are not running, tests that need them skip with a message saying
so, except under CI=true, where that is a failure: CI must test both stores.

Each server (or cluster) gets its own PostgreSQL database, created here and
dropped afterwards; Redis keys are namespaced by the database's cluster id,
so servers sharing one Redis never see each other's traffic.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import os
import uuid
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.server import ServerProcess

PG_URL = os.environ.get("LEVELSTREAM_TEST_PG_URL", "postgresql://postgres@127.0.0.1:55432/postgres")
REDIS_URL = os.environ.get("LEVELSTREAM_TEST_REDIS_URL", "redis://127.0.0.1:56379/0")
STORES = ("leveldb", "postgres")
# Contract test modules that also run against the PostgreSQL store (by module name).
BOTH_STORES = {
    "test_documents",
    "test_batch",
    "test_changes",
    "test_ranges",
    "test_ttl",
    "test_concurrency",
    "test_resume",
    "test_limits",
    "test_rules",
    "test_queries",
    "test_indexes",
    "test_live_queries",
    "test_idempotency",
}
T = TypeVar("T")


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` to completion from sync code, even inside a running event loop."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def _probe() -> str | None:
    import asyncpg
    import redis.asyncio as aioredis

    try:
        conn = await asyncpg.connect(PG_URL, timeout=3)
        await conn.close()
    except Exception as exc:
        return f"PostgreSQL at {PG_URL} is not reachable ({type(exc).__name__})"
    client = aioredis.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        await client.ping()
    except Exception as exc:
        return f"Redis at {REDIS_URL} is not reachable ({type(exc).__name__})"
    finally:
        await client.aclose()
    return None


@functools.cache
def services_problem() -> str | None:
    return run_async(_probe())


def require_services() -> None:
    """Skip (fail under CI=true) when PostgreSQL or Redis is not running."""
    problem = services_problem()
    if problem is None:
        return
    message = f"{problem}: start them with `scripts/test-services.sh start` (root)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"cluster mode cannot be tested: {message}", pytrace=False)
    pytest.skip(f"cluster mode not tested here: {message}")


def _admin_url(database: str) -> str:
    return PG_URL.rsplit("/", 1)[0] + "/" + database


async def _create(name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_URL)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def _drop(name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_URL)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@contextmanager
def database() -> Iterator[str]:
    """A new, empty PostgreSQL database for one server or cluster; its URL."""
    require_services()
    name = "ls_test_" + uuid.uuid4().hex[:12]
    run_async(_create(name))
    try:
        yield _admin_url(name)
    finally:
        run_async(_drop(name))


@contextmanager
def store_env(kind: str) -> Iterator[dict[str, str]]:
    """Server environment for a store kind: nothing for LevelDB, URLs for PostgreSQL."""
    if kind == "leveldb":
        yield {}
        return
    with database() as url:
        yield cluster_env(url)


def cluster_env(store_url: str) -> dict[str, str]:
    """What every node of one cluster shares (the admin token comes from ServerProcess)."""
    return {
        "LEVELSTREAM_STORE_URL": store_url,
        "LEVELSTREAM_BUS_URL": REDIS_URL,
        "LEVELSTREAM_JWT_SECRET": "cluster-test-jwt-secret-" + "0" * 40,
    }


def parametrize_stores(metafunc: pytest.Metafunc) -> None:
    """Run the modules in BOTH_STORES once per store (module-scoped `store_kind`)."""
    if "store_kind" not in metafunc.fixturenames:
        return
    module = metafunc.module.__name__.rsplit(".", 1)[-1]
    if module not in BOTH_STORES or metafunc.definition.get_closest_marker("leveldb_only"):
        return
    metafunc.parametrize("store_kind", STORES, indirect=True, scope="module")


class Cluster:
    """Nodes on loopback ports sharing one PostgreSQL database and one Redis."""

    def __init__(self, base: Path, store_url: str, nodes: int = 3, **env: str) -> None:
        self.nodes = [
            ServerProcess(base / f"node{i}", **cluster_env(store_url), **env) for i in range(nodes)
        ]

    def __getitem__(self, index: int) -> ServerProcess:
        return self.nodes[index]

    def start(self) -> Cluster:
        # Together, as a deployment does: the schema migration runs once, under its lock.
        with concurrent.futures.ThreadPoolExecutor(len(self.nodes)) as pool:
            for future in [pool.submit(node.start) for node in self.nodes]:
                future.result()
        return self

    def stop(self) -> None:
        for node in self.nodes:
            if node.proc is not None:
                node.stop()


@contextmanager
def running_cluster(base: Path, nodes: int = 3, **env: str) -> Iterator[Cluster]:
    with database() as url:
        cluster = Cluster(base, url, nodes, **env)
        try:
            yield cluster.start()
        finally:
            cluster.stop()
