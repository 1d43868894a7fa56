"""`python -m bench.sdk.python_offline [--docs 10000 --missed 1000 --writes 1000]`:
the Python SDK's offline-first numbers of issue 16, against a real server process.

- open: a live query over `--docs` documents opened from the local SQLite store by a
  new client (process restart): from `db.live()` until its view is readable (the
  10k `items()` read after it is timed too);
- resume: `--missed` changes written while the client was away; a new client opens the
  live query and resumes from its last seq: from `live()` until the replica's seq is
  the server's head (connect, subscribe, replay, apply), as changes/s; and the apply
  step alone (one store transaction per received batch);
- optimistic write: `db.put()` until the live query's `get()` shows it, offline (the
  outbox commits to SQLite first), median and p99 over `--writes` writes.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.servers import ADMIN_TOKEN, Levelstream

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "clients" / "python"))

from levelstream_client.offline import OfflineClient, WriteOp

COLLECTION = "notes"


async def seed(server: Levelstream, docs: int) -> None:
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{server.port}", headers=server.auth_headers, timeout=60
    ) as http:
        for start in range(0, docs, 1000):
            ops = [
                {"op": "put", "collection": COLLECTION, "key": f"n{i:05d}", "value": {"i": i}}
                for i in range(start, min(start + 1000, docs))
            ]
            (await http.post("/v1/batch", json={"ops": ops})).raise_for_status()


async def head(url: str) -> int:
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        page = await http.get(
            "/v1/changes",
            params={"collection": COLLECTION, "limit": 1},
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        )
        return int(page.json()["head_seq"])


async def synced_store(url: str, path: Path) -> None:
    async with OfflineClient(url, ADMIN_TOKEN, store=path) as db:
        await db.live(COLLECTION)
        await db.wait_synced(120)


async def measure_open(url: str, path: Path) -> tuple[float, float]:
    async with OfflineClient(url, ADMIN_TOKEN, store=path) as db:
        started = time.perf_counter()
        view = await db.live(COLLECTION)
        opened = time.perf_counter() - started
        started = time.perf_counter()
        count = len(view.items())
        listed = time.perf_counter() - started
        assert count > 0
        return opened, listed


async def measure_resume(server: Levelstream, url: str, path: Path, missed: int) -> float:
    await seed_changes(server, missed)
    target = await head(url)
    async with OfflineClient(url, ADMIN_TOKEN, store=path) as db:
        started = time.perf_counter()
        view = await db.live(COLLECTION)
        while view.seq != target:
            await asyncio.sleep(0.001)
        return missed / (time.perf_counter() - started)


async def seed_changes(server: Levelstream, count: int) -> None:
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{server.port}", headers=server.auth_headers, timeout=60
    ) as http:
        for start in range(0, count, 500):
            ops = [
                {"op": "put", "collection": COLLECTION, "key": f"n{i:05d}", "value": {"i": -i}}
                for i in range(start, min(start + 500, count))
            ]
            (await http.post("/v1/batch", json={"ops": ops})).raise_for_status()


def measure_apply(path: Path, missed: int) -> float:
    """The apply step alone: `missed` changes in batches of 100 into the SQLite replica."""
    from levelstream_client.offline_store import SqliteStore, StoredDoc

    store = SqliteStore(path)
    started = time.perf_counter()
    for start in range(0, missed, 100):
        upserts = {
            f"n{i:05d}": StoredDoc({"i": i, "x": 1}, 10**6 + i) for i in range(start, start + 100)
        }
        store.apply(f"{COLLECTION}\x1f", 10**6 + start + 100, None, upserts, set())
    elapsed = time.perf_counter() - started
    store.close()
    return missed / elapsed


async def measure_writes(path: Path, writes: int) -> list[float]:
    # An address nothing listens on: the client is offline, writes only queue.
    async with OfflineClient("http://127.0.0.1:9", ADMIN_TOKEN, store=path) as db:
        view = await db.live(COLLECTION)
        latencies = []
        for i in range(writes):
            key = f"w{i:05d}"
            started = time.perf_counter()
            db.batch([WriteOp("put", COLLECTION, key, {"text": "hello"})], single=True)
            assert view.get(key) is not None
            latencies.append(time.perf_counter() - started)
        return latencies


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        with Levelstream(work, durability="async") as server:
            url = f"http://127.0.0.1:{server.port}"
            await seed(server, args.docs)
            store = work / "replica.db"
            await synced_store(url, store)
            opened, listed = await measure_open(url, store)
            resumed = await measure_resume(server, url, store, args.missed)
        applied = measure_apply(store, args.missed)
        latencies = await measure_writes(work / "writes.db", args.writes)
    ms = sorted(x * 1000 for x in latencies)
    print(f"open a {args.docs}-doc live query from SQLite: {opened * 1000:.1f} ms")
    print(f"  then items() over it: {listed * 1000:.1f} ms")
    print(f"resume after {args.missed} missed changes: {resumed:,.0f} changes/s end to end")
    print(f"  the apply step alone: {applied:,.0f} changes/s")
    print(
        f"optimistic write until shown ({args.writes} writes, SQLite outbox): "
        f"median {statistics.median(ms):.3f} ms, p99 {ms[int(len(ms) * 0.99) - 1]:.3f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument("--missed", type=int, default=1_000)
    parser.add_argument("--writes", type=int, default=1_000)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
