"""Write workloads: N clients, each writing a 100-byte JSON value to fresh keys in turn.

Three ways in, from the inside out: raw plyvel puts from N threads (the
ceiling), the Levelstream store in-process (N asyncio tasks awaiting
`store.write`), and HTTP PUT against a real server (N keep-alive connections).
Each cell checks afterwards that every acknowledged write is there.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import uvloop

from app.store.leveldb import LevelStore
from app.store.leveldb.writer import Writer
from app.store.leveldb_driver import plyvel
from app.store.types import WriteOp
from bench import payload
from bench.config import Profile
from bench.cpus import pinned
from bench.loadgen import make_client
from bench.measure import CpuProbe, Flag, Meter, Sample, Window, run_async, run_threads
from bench.servers import Levelstream

T = TypeVar("T")


def _sample(variant: str, clients: int, rnd: int, window: Window, lost: int | None) -> Sample:
    return Sample(
        variant=variant,
        clients=clients,
        round=rnd,
        ops=window.ops,
        seconds=window.seconds,
        p50_ms=window.p50_ms,
        p99_ms=window.p99_ms,
        errors=window.errors,
        lost=lost,
        extra=window.extra,
    )


def _run_loop(coro: Coroutine[Any, Any, T]) -> T:
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)


# --- raw plyvel: the ceiling ----------------------------------------------------


def plyvel_puts(
    path: Path, *, variant: str, sync: bool, clients: int, profile: Profile, rnd: int
) -> Sample:
    """`db.put(key, value, sync=...)` in a loop from `clients` threads."""
    db = plyvel.DB(str(path), create_if_missing=True)
    value = payload.VALUE

    def client(index: int, meter: Meter, flag: Flag, limit: int) -> None:
        put, clock, record = db.put, time.perf_counter, meter.record
        n = 0
        while flag.running and n < limit:
            dbkey = payload.key(index, n).encode()
            t = clock()
            put(dbkey, value, sync=sync)
            record(clock() - t)
            n += 1

    try:
        window = run_threads(
            client,
            clients,
            warmup_s=profile.warmup_s,
            duration_s=profile.duration_s,
            max_ops=profile.max_ops,
            probes=[CpuProbe("process")],
        )
    finally:
        db.close()
    return _sample(variant, clients, rnd, window, lost=None)


# --- the Levelstream store, in-process ------------------------------------------


class GroupProbe:
    """Mean transactions per committed group (per fsync in sync mode) over the window."""

    def __init__(self, writer: Writer) -> None:
        self.writer = writer
        self._groups = self._txs = 0

    def start(self) -> None:
        self._groups, self._txs = self.writer.groups_committed, self.writer.transactions_committed

    def stop(self) -> dict[str, float]:
        groups = self.writer.groups_committed - self._groups
        txs = self.writer.transactions_committed - self._txs
        return {"groups": groups, "mean_group": round(txs / groups, 2) if groups else 0.0}


def store_writes(
    path: Path,
    *,
    variant: str,
    sync: bool,
    max_group: int,
    clients: int,
    profile: Profile,
    rnd: int,
) -> Sample:
    """`await store.write([put])` in a loop from `clients` tasks on one uvloop."""
    return _run_loop(_store_writes(path, variant, sync, max_group, clients, profile, rnd))


async def _store_writes(
    path: Path, variant: str, sync: bool, max_group: int, clients: int, profile: Profile, rnd: int
) -> Sample:
    store = LevelStore(path, sync=sync, max_group=max_group)
    await store.start()
    value = payload.VALUE

    async def client(index: int, meter: Meter, flag: Flag, limit: int) -> None:
        write, clock, record = store.write, time.perf_counter, meter.record
        n = 0
        while flag.running and n < limit:
            op = WriteOp("put", payload.COLLECTION, payload.key(index, n), value)
            t = clock()
            await write([op])
            record(clock() - t)
            n += 1

    try:
        window = await run_async(
            client,
            clients,
            warmup_s=profile.warmup_s,
            duration_s=profile.duration_s,
            max_ops=profile.max_ops,
            probes=[CpuProbe("process"), GroupProbe(store.writer)],
        )
        lost = max(0, window.total_ops - store.head_seq)
    finally:
        await store.close()
    return _sample(variant, clients, rnd, window, lost)


# --- HTTP PUT through a real server ---------------------------------------------


def http_puts(
    workdir: Path,
    *,
    variant: str,
    durability: str,
    clients: int,
    profile: Profile,
    rnd: int,
    server_cpus: set[int] | None,
    loadgen_cpus: set[int] | None,
) -> Sample:
    """PUT /v1/collections/bench/docs/{key} over `clients` keep-alive connections."""
    with (
        Levelstream(workdir, durability=durability, cpus=server_cpus) as server,
        pinned(loadgen_cpus),
    ):
        window = _run_loop(_http_puts(server, clients, profile))
        head_seq = int(server.readiness()["head_seq"])
    lost = max(0, window.total_ops - head_seq)
    return _sample(variant, clients, rnd, window, lost)


async def _http_puts(server: Levelstream, clients: int, profile: Profile) -> Window:
    headers = {**server.auth_headers, "Content-Type": "application/json"}
    prefix = f"/v1/collections/{payload.COLLECTION}/docs/"
    value = payload.VALUE
    connections = [
        make_client(profile.http_client, "127.0.0.1", server.port, headers) for _ in range(clients)
    ]

    async def client(index: int, meter: Meter, flag: Flag, limit: int) -> None:
        request, clock = connections[index].request, time.perf_counter
        n = 0
        while flag.running and n < limit:
            path = prefix + payload.key(index, n)
            t = clock()
            status, body = await request("PUT", path, value)
            if status in (200, 201):
                meter.record(clock() - t)
            else:
                meter.errors += 1
                if meter.errors == 1:
                    print(f"  PUT {path}: {status} {body[:300]!r}")
            n += 1

    try:
        return await run_async(
            client,
            clients,
            warmup_s=profile.warmup_s,
            duration_s=profile.duration_s,
            max_ops=profile.max_ops,
            probes=[CpuProbe("server", server.pid), CpuProbe("loadgen")],
        )
    finally:
        await asyncio.gather(*(c.aclose() for c in connections))
