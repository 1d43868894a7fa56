"""Cluster workloads: PUT throughput, WebSocket fan-out and write-to-delivery latency
against a deployment of one embedded node, or one or three nodes on PostgreSQL + Redis.

A deployment is a list of real servers (`python -m app.cli serve`); clients are
spread over its nodes round-robin. Subscribers are raw WebSocket readers (the
`websockets` library would make the load generator the bottleneck): they
parse frame headers, count change frames, and read the writer's send time
from the value to measure write-to-delivery latency, per path (same node as
the writer, or another node).
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

from bench.config import Profile
from bench.loadgen import make_client
from bench.measure import CpuProbe, Flag, Meter, Sample, Window, percentile, run_async
from bench.servers import ADMIN_TOKEN, Levelstream
from bench.workloads.writes import _run_loop

PG_URL = os.environ.get("LEVELSTREAM_TEST_PG_URL", "postgresql://postgres@127.0.0.1:55432/postgres")
REDIS_URL = os.environ.get("LEVELSTREAM_TEST_REDIS_URL", "redis://127.0.0.1:56379/0")
COLLECTION = "bench"


class ClusterNode(Levelstream):
    """A node of the cluster mode: PostgreSQL store, Redis bus."""

    def __init__(self, workdir: Path, store_url: str, *, seq_lock: str = "row") -> None:
        super().__init__(workdir, durability="sync")
        self.store_url = store_url
        self.seq_lock = seq_lock

    def env(self) -> dict[str, str]:
        return {
            **super().env(),
            "LEVELSTREAM_STORE_URL": self.store_url,
            "LEVELSTREAM_BUS_URL": REDIS_URL,
            "LEVELSTREAM_JWT_SECRET": "bench-jwt-secret-" + "0" * 40,
            "LEVELSTREAM_PG_SEQ_LOCK": self.seq_lock,
        }


def services_problem() -> str | None:
    """Why the cluster mode cannot be measured here, or None."""

    async def probe() -> str | None:
        import asyncpg
        import redis.asyncio as aioredis

        try:
            conn = await asyncpg.connect(PG_URL, timeout=3)
            await conn.close()
            client = aioredis.from_url(REDIS_URL, socket_connect_timeout=3)
            await client.ping()  # type: ignore[misc]
            await client.aclose()
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"
        return None

    return _run_loop(probe())


async def _admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextmanager
def deployment(workdir: Path, mode: str, nodes: int, seq_lock: str) -> Iterator[list[Levelstream]]:
    """Started servers: `embedded` (one LevelDB node) or `postgres` (`nodes` nodes)."""
    servers: list[Levelstream] = []
    database = "ls_bench_" + uuid.uuid4().hex[:10]
    if mode == "postgres":
        _run_loop(_admin(f'CREATE DATABASE "{database}"'))
        url = PG_URL.rsplit("/", 1)[0] + "/" + database
        servers = [
            ClusterNode(_mkdir(workdir / f"node{i}"), url, seq_lock=seq_lock) for i in range(nodes)
        ]
    else:
        servers = [Levelstream(_mkdir(workdir / "node0"), durability="sync")]
    try:
        for server in servers:
            server.start(timeout=60)
        yield servers
    finally:
        for server in servers:
            server.stop()
        if mode == "postgres":
            _run_loop(_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def postgres_pids() -> list[int]:
    """Every PostgreSQL process on the machine (the postmaster and its backends)."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as f:
                    if f.read().strip() in ("postgres", "redis-server"):
                        pids.append(int(entry))
            except OSError:
                continue
    return pids


class ServicesProbe:
    """CPU of PostgreSQL (all its processes) and Redis over the window, % of one core."""

    def __init__(self) -> None:
        self._probes: list[CpuProbe] = []

    def start(self) -> None:
        self._probes = [CpuProbe("services", pid) for pid in postgres_pids()]
        for probe in self._probes:
            probe.start()

    def stop(self) -> dict[str, float]:
        total = 0.0
        for probe in self._probes:
            try:
                total += probe.stop()["cpu_services_pct"]
            except OSError:  # a backend ended during the window
                continue
        return {"cpu_services_pct": round(total, 1)}


def node_probes(servers: list[Levelstream]) -> list[CpuProbe]:
    return [CpuProbe(f"node{i}", server.pid) for i, server in enumerate(servers)]


# --- PUT throughput -------------------------------------------------------------------


def puts(servers: list[Levelstream], clients: int, profile: Profile) -> Window:
    return _run_loop(_puts(servers, clients, profile))


async def _puts(servers: list[Levelstream], clients: int, profile: Profile) -> Window:
    headers = {**servers[0].auth_headers, "Content-Type": "application/json"}
    prefix = f"/v1/collections/{COLLECTION}/docs/"
    connections = [
        make_client(profile.http_client, "127.0.0.1", servers[i % len(servers)].port, headers)
        for i in range(clients)
    ]
    value = b'{"title":"benchmark document","status":"open","pad":"' + b"x" * 50 + b'"}'

    async def client(index: int, meter: Meter, flag: Flag, limit: int) -> None:
        request, clock = connections[index].request, time.perf_counter
        n = 0
        while flag.running and n < limit:
            t = clock()
            status, body = await request("PUT", f"{prefix}c{index:03d}-{n:09d}", value)
            if status in (200, 201):
                meter.record(clock() - t)
            else:
                meter.errors += 1
                if meter.errors == 1:
                    print(f"  PUT: {status} {body[:200]!r}", file=sys.stderr)
            n += 1

    try:
        return await run_async(
            client,
            clients,
            warmup_s=profile.warmup_s,
            duration_s=profile.duration_s,
            max_ops=profile.max_ops,
            probes=[*node_probes(servers), CpuProbe("loadgen"), ServicesProbe()],
        )
    finally:
        await asyncio.gather(*(c.aclose() for c in connections))


# --- WebSocket subscribers ------------------------------------------------------------


class RawSubscriber:
    """A WebSocket subscriber that reads frames with as little work as possible."""

    def __init__(self, node: int) -> None:
        self.node = node
        self.frames = 0
        self.latencies: list[float] = []
        self.measure = False
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def open(self, port: int, collection: str) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 22)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            (
                f"GET /v1/ws?token={ADMIN_TOKEN} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 101"):
            raise RuntimeError(f"WebSocket refused: {head[:100]!r}")
        payload = orjson.dumps({"op": "subscribe", "id": "1", "sub": "s", "collection": collection})
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        writer.write(bytes([0x81, 0x80 | len(payload)]) + mask + masked)
        self._reader, self._writer = reader, writer
        frame = await self._frame()
        if b'"ok":true' not in frame:
            raise RuntimeError(f"subscribe refused: {frame[:200]!r}")

    async def _frame(self) -> bytes:
        assert self._reader is not None
        first, second = await self._reader.readexactly(2)
        length = second & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", await self._reader.readexactly(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", await self._reader.readexactly(8))
        data = await self._reader.readexactly(length)
        if first & 0x0F == 0x8:
            raise ConnectionError(f"closed by the server: {data[:100]!r}")
        return data

    async def run(self) -> None:
        clock = time.perf_counter
        while True:
            data = await self._frame()
            if b'"type":"change"' not in data[:40]:
                continue
            self.frames += 1
            if self.measure:
                at = data.find(b'"t":')
                if at >= 0:
                    end = data.index(b"}", at)
                    self.latencies.append(clock() - float(data[at + 4 : end]))

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


class DeliveryProbe:
    """Change frames all subscribers received over the window (the fan-out rate)."""

    def __init__(self, subscribers: list[RawSubscriber]) -> None:
        self.subscribers = subscribers
        self._frames = 0
        self._t = 0.0

    def start(self) -> None:
        self._frames = sum(s.frames for s in self.subscribers)
        self._t = time.perf_counter()
        for sub in self.subscribers:
            sub.latencies = []
            sub.measure = True

    def stop(self) -> dict[str, float]:
        frames = sum(s.frames for s in self.subscribers) - self._frames
        elapsed = time.perf_counter() - self._t
        out: dict[str, float] = {"deliveries_per_s": round(frames / elapsed, 1)}
        for sub in self.subscribers:
            sub.measure = False
        for path, subs in (
            ("same", [s for s in self.subscribers if s.node == 0]),
            ("cross", [s for s in self.subscribers if s.node != 0]),
        ):
            lats = sorted(x for s in subs for x in s.latencies)
            if lats:
                out[f"{path}_p50_ms"] = round(percentile(lats, 0.5) * 1000, 2)
                out[f"{path}_p99_ms"] = round(percentile(lats, 0.99) * 1000, 2)
        return out


def fanout(
    servers: list[Levelstream],
    subscribers: int,
    writers: int,
    profile: Profile,
    rate_per_s: float | None = None,
) -> Window:
    """`writers` clients PUT on node 0 (closed loop, or `rate_per_s` in all); subscribers
    spread over every node receive each change. The window's ops are deliveries."""
    return _run_loop(_fanout(servers, subscribers, writers, profile, rate_per_s))


async def _fanout(
    servers: list[Levelstream],
    subscribers: int,
    writers: int,
    profile: Profile,
    rate_per_s: float | None,
) -> Window:
    collection = "fan_" + uuid.uuid4().hex[:8]
    subs = [RawSubscriber(i % len(servers)) for i in range(subscribers)]
    for batch in range(0, subscribers, 50):
        await asyncio.gather(
            *(s.open(servers[s.node].port, collection) for s in subs[batch : batch + 50])
        )
    readers = [asyncio.create_task(s.run()) for s in subs]
    headers = {**servers[0].auth_headers, "Content-Type": "application/json"}
    connections = [
        make_client(profile.http_client, "127.0.0.1", servers[0].port, headers)
        for _ in range(writers)
    ]
    prefix = f"/v1/collections/{collection}/docs/"
    pause = writers / rate_per_s if rate_per_s else 0.0

    async def client(index: int, meter: Meter, flag: Flag, limit: int) -> None:
        request, clock = connections[index].request, time.perf_counter
        n = 0
        next_at = clock()
        while flag.running and n < limit:
            if pause:
                next_at += pause
                await asyncio.sleep(max(0.0, next_at - clock()))
            t = clock()
            body = b'{"w":%d,"t":%.6f}' % (index, t)
            status, _ = await request("PUT", f"{prefix}w{index}-{n % 50}", body)
            if status in (200, 201):
                meter.record(clock() - t)
            else:
                meter.errors += 1
            n += 1

    try:
        return await run_async(
            client,
            writers,
            warmup_s=profile.warmup_s + 0.5,
            duration_s=profile.duration_s,
            max_ops=profile.max_ops,
            probes=[
                DeliveryProbe(subs),
                *node_probes(servers),
                CpuProbe("loadgen"),
                ServicesProbe(),
            ],
        )
    finally:
        for task in readers:
            task.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
        await asyncio.gather(*(s.close() for s in subs), *(c.aclose() for c in connections))


def sample(variant: str, clients: int, rnd: int, window: Window, **extra: Any) -> Sample:
    return Sample(
        variant=variant,
        clients=clients,
        round=rnd,
        ops=window.ops,
        seconds=window.seconds,
        p50_ms=window.p50_ms,
        p99_ms=window.p99_ms,
        errors=window.errors,
        lost=None,
        extra={**window.extra, **extra},
    )


# --- the global seq lock, in-process ------------------------------------------------------


def seq_lock_writes(lock: str, nodes: int, clients: int, profile: Profile) -> Window:
    """`nodes` PgStore instances (one writer connection each, as `nodes` servers would
    have) in this process, `clients` tasks writing through them: the cost of taking
    the one global seq, without HTTP in the way."""
    return _run_loop(_seq_lock_writes(lock, nodes, clients, profile))


async def _seq_lock_writes(lock: str, nodes: int, clients: int, profile: Profile) -> Window:
    from app.store.postgres import PgStore
    from app.store.postgres.writer import LockMode
    from app.store.types import WriteOp

    database = "ls_bench_" + uuid.uuid4().hex[:10]
    await _admin(f'CREATE DATABASE "{database}"')
    url = PG_URL.rsplit("/", 1)[0] + "/" + database
    mode: LockMode = "advisory" if lock == "advisory" else "row"
    stores = [PgStore(url, lock=mode, pool_size=4) for _ in range(nodes)]
    value = b'{"title":"benchmark document","status":"open","pad":"' + b"x" * 50 + b'"}'
    try:
        for store in stores:
            await store.start()

        async def client(index: int, meter: Meter, flag: Flag, limit: int) -> None:
            write, clock = stores[index % nodes].write, time.perf_counter
            n = 0
            while flag.running and n < limit:
                t = clock()
                await write([WriteOp("put", COLLECTION, f"c{index:03d}-{n:09d}", value)])
                meter.record(clock() - t)
                n += 1

        window = await run_async(
            client,
            clients,
            warmup_s=profile.warmup_s,
            duration_s=profile.duration_s,
            max_ops=profile.max_ops,
            probes=[CpuProbe("process"), ServicesProbe(), GroupsProbe(stores)],
        )
    finally:
        for store in stores:
            await store.close()
        await _admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    return window


class GroupsProbe:
    """Transactions per committed PostgreSQL transaction (group commit), all writers."""

    def __init__(self, stores: list[Any]) -> None:
        self.stores = stores
        self._groups = self._txs = 0

    def _totals(self) -> tuple[int, int]:
        writers = [s.writer for s in self.stores]
        return (
            sum(w.groups_committed for w in writers),
            sum(w.transactions_committed for w in writers),
        )

    def start(self) -> None:
        self._groups, self._txs = self._totals()

    def stop(self) -> dict[str, float]:
        groups, txs = self._totals()
        groups, txs = groups - self._groups, txs - self._txs
        return {"groups": groups, "mean_group": round(txs / groups, 2) if groups else 0.0}
