"""The PostgreSQL writer's own path: a POST whose server-chosen keys clients already hold.

The writer fetches a group's documents in one query before the store core
applies it, including the keys the group's creates would pick (and a few more).
A create that finds those keys taken makes it fetch the following ones and
apply the transaction again: the POST still gets the next free key, and the
documents at the taken keys are left alone.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from app.store.records import auto_key
from tests.cluster_support import run_async, store_env
from tests.helpers import head_seq
from tests.server import ServerProcess


@pytest.fixture
def pg_server(tmp_path: Path) -> Iterator[ServerProcess]:
    with store_env("postgres") as env:
        proc = ServerProcess(tmp_path / "data", **env).start()
        try:
            yield proc
        finally:
            proc.stop()


async def _set_auto_id(url: str, auto_id: int) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("UPDATE ls_meta SET auto_id = $1 WHERE id = 1", auto_id)
    finally:
        await conn.close()


def test_a_post_gets_the_next_free_key_past_keys_clients_hold(pg_server: ServerProcess) -> None:
    coll = "posts"
    # Server-chosen ids only grow; put the last one a day ahead of the clock, so the
    # next POSTs pick ids from there on, whatever the clock says meanwhile.
    last_id = (time.time_ns() // 1_000_000 + 86_400_000) << 12
    run_async(_set_auto_id(pg_server.env["LEVELSTREAM_STORE_URL"], last_id))
    # Documents at the keys of the next 300 ids: far past the prefetch's slack (16);
    # the writer fetches on (16, 32, 64, ... more keys a round) until a key is free.
    # (The writer before the store core re-fetched one key at a time, 100 times at
    # most, and answered this POST with a 503.)
    held = 300
    taken = [auto_key(last_id + n) for n in range(1, held + 1)]
    ops = [
        {"op": "put", "collection": coll, "key": key, "value": {"held": n}}
        for n, key in enumerate(taken)
    ]
    with pg_server.client() as client:
        assert client.post("/v1/batch", json={"ops": ops}).status_code == 200
        before = head_seq(client)
        created = client.post(f"/v1/collections/{coll}/docs", json={"new": 1})
        assert created.status_code == 201, created.text
        assert created.json()["key"] == auto_key(last_id + held + 1)
        assert created.json()["rev"] == before + 1
        second = client.post(f"/v1/collections/{coll}/docs", json={"new": 2})
        assert second.json()["key"] == auto_key(last_id + held + 2)
        page = client.get(f"/v1/collections/{coll}/docs", params={"limit": 1000}).json()
        values = {item["key"]: item["value"] for item in page["items"]}
        assert [values[key] for key in taken] == [{"held": n} for n in range(held)]
        assert len(values) == held + 2
