"""The storage ceiling for W1-W3: raw plyvel in-process, one thread, on the server's CPU.

No HTTP, no JSON, no change log: `db.put(key, value)` (sync=False), `db.get`
of a random key among `plan.docs`, and a 100-item iterator from a random key,
in a loop for `plan.wrk_seconds`. What LevelDB itself allows one core; every
server's figure is below it.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

from app.store.leveldb_driver import plyvel
from bench import payload
from bench.compare import Cell
from bench.cpus import pinned
from bench.measure import CpuProbe, Flag, Meter, run_threads
from bench.plan import Plan

TARGET = "plyvel"


def _key(i: int) -> bytes:
    return b"bench\x00k%06d" % i


def run(path: Path, rnd: int, plan: Plan, cpus: set[int] | None) -> list[Cell]:
    cells = []
    db = plyvel.DB(str(path), create_if_missing=True)
    try:
        with db.write_batch() as batch:
            for i in range(plan.docs):
                batch.put(_key(i), payload.VALUE)
        rng = random.Random(rnd)
        value = payload.VALUE

        def put(index: int, meter: Meter, flag: Flag, limit: int) -> None:
            n = 0
            while flag.running and n < limit:
                t = time.perf_counter()
                db.put(b"bench\x00w%d-%09d" % (rnd, n), value)
                meter.record(time.perf_counter() - t)
                n += 1

        def get(index: int, meter: Meter, flag: Flag, limit: int) -> None:
            n = 0
            while flag.running and n < limit:
                t = time.perf_counter()
                if db.get(_key(rng.randrange(plan.docs))) is None:
                    meter.errors += 1
                meter.record(time.perf_counter() - t)
                n += 1

        def scan(index: int, meter: Meter, flag: Flag, limit: int) -> None:
            n = 0
            while flag.running and n < limit:
                t = time.perf_counter()
                start = _key(rng.randrange(plan.docs - 100))
                items = 0
                for _k, _v in db.iterator(start=start):
                    items += 1
                    if items == 100:
                        break
                if items != 100:
                    meter.errors += 1
                meter.record(time.perf_counter() - t)
                n += 1

        with pinned(cpus):
            for workload, client in (("W1", put), ("W2", get), ("W3", scan)):
                if not plan.wants(workload):
                    continue
                window = run_threads(
                    client,
                    1,
                    warmup_s=0.2,
                    duration_s=plan.wrk_seconds,
                    max_ops=5_000_000,
                    probes=[CpuProbe("server")],
                )
                cells.append(
                    Cell(
                        workload,
                        TARGET,
                        f"{plan.http_connections} conns",
                        rnd,
                        value=round(window.ops / window.seconds, 1),
                        p50_ms=window.p50_ms,
                        p99_ms=window.p99_ms,
                        errors=window.errors,
                        extra=window.extra,
                    )
                )
    finally:
        db.close()
    return cells
