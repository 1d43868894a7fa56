"""`python -m bench.queries [--docs N ...]`: filtered range pages against a plain one (issue 15).

In-process on `LevelStore(sync=False)`, one event loop, no HTTP: each timed call
is what `list_range` does below the HTTP shape (compile the `where`, plan it over
the collection's ready indexes, build the store's `match`, read the page;
the compile is `list_range`'s own, which keeps recent programs). Cases:

- plain: `gte=<random key>&limit=100`, no filter (the baseline)
- indexed-100: `doc.status == "open" && doc.owner == "u42"` over an index on
  [owner, status], first page of 100 (every candidate matches)
- indexed-34: the same shape for an owner with 34 matching documents in all
- refused: the filter of indexed-100 with no index: a scan by key that examines
  LEVELSTREAM_MAX_SCAN documents and is refused with needs_index
- index build: after those, `create_index` of a new index on [n] over the N
  documents, timed from the call until the index is ready, while a writer puts
  `--write-rate` new documents per second into the same collection (open loop:
  each write starts on its schedule, its latency counts from then, so a stall is
  not hidden by the writer waiting); the same writer alone for as long before it
  gives the latency without a build

Writes bench/results/queries.md (the commit and conditions included).
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import orjson

from app.api.filters import compile_where
from app.api.ranges import range_match
from app.errors import ValidationFailed
from app.store.core import planner
from app.store.core.indexing import IndexDef, parse_fields
from app.store.leveldb.store import LevelStore
from app.store.types import DEFAULT_MAX_SCAN, KeyRange, Page, RangeQuery, WriteOp

COLLECTION = "tickets"
OWNERS = 250  # owner u<i % OWNERS>; half of each owner's documents are open
FEW = "v7"  # the owner of exactly 34 documents, all open
FEW_COUNT = 34
PAGE = 100
WHERE = 'doc.status == "open" && doc.owner == "{owner}"'
RESULTS = Path(__file__).parent / "results" / "queries.md"
WRITE_RATE = 500  # writes/s beside the index build


def key_of(i: int) -> str:
    return f"t{i:08d}"


def value_of(i: int, docs: int) -> bytes:
    few = i % (docs // FEW_COUNT) == 0 and i // (docs // FEW_COUNT) < FEW_COUNT
    owner = FEW if few else f"u{i % OWNERS}"
    status = "open" if few or (i // OWNERS) % 2 == 0 else "closed"
    return orjson.dumps({"owner": owner, "status": status, "title": f"ticket {i}", "n": i})


async def load(store: LevelStore, docs: int) -> None:
    await store.create_index(COLLECTION, "by_owner_status", parse_fields(["owner", "status"]))
    batch = 1000
    for start in range(0, docs, batch):
        ops = [
            WriteOp("put", COLLECTION, key_of(i), value_of(i, docs))
            for i in range(start, min(start + batch, docs))
        ]
        await store.write(ops)
    while any(index.state != "ready" for index in await store.indexes(COLLECTION)):
        await asyncio.sleep(0.05)


async def filtered(
    store: LevelStore, where: str, indexes: list[IndexDef], limit: int = PAGE
) -> Page:
    """list_range's steps below HTTP: compile, plan, match, read (and refuse)."""
    program = compile_where(where)
    assert program is not None
    plan = planner.plan(program.tree, None, indexes)
    query = RangeQuery(
        COLLECTION,
        KeyRange(),
        limit,
        match=range_match(program, None, plan),
        max_scan=DEFAULT_MAX_SCAN,
        scan=plan.scan,
    )
    page = await store.range(query)
    if plan.scan is None and page.exhausted_budget:
        raise planner.needs_index("the filter examined too many documents", plan.wanted, "where")
    return page


async def timed(call: Callable[[], Awaitable[object]], pages: int) -> list[float]:
    for _ in range(20):  # warm up
        await call()
    out = []
    for _ in range(pages):
        started = time.perf_counter_ns()
        await call()
        out.append((time.perf_counter_ns() - started) / 1000)
    return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class SteadyWriter:
    """Puts one new document every 1/rate s until stopped; latencies in µs from each schedule."""

    def __init__(self, store: LevelStore, docs: int, rate: float, tag: str) -> None:
        self.store, self.docs, self.interval, self.tag = store, docs, 1 / rate, tag
        self.latencies: list[float] = []
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> list[float]:
        self._stop.set()
        assert self._task is not None
        await self._task
        return self.latencies

    async def _one(self, i: int, scheduled: float) -> None:
        op = WriteOp("put", COLLECTION, f"w{self.tag}{i:08d}", value_of(i, self.docs))
        await self.store.write([op])
        self.latencies.append((time.perf_counter() - scheduled) * 1e6)

    async def _run(self) -> None:
        pending: set[asyncio.Task[None]] = set()
        next_at, i = time.perf_counter(), 0
        while not self._stop.is_set():
            delay = next_at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(self._one(i, next_at))
            pending.add(task)
            task.add_done_callback(pending.discard)
            next_at += self.interval
            i += 1
        await asyncio.gather(*pending)


async def index_build(store: LevelStore, docs: int, rate: float, rnd: int) -> dict[str, float]:
    """Build an index on [n] over the loaded documents beside a steady writer; then the
    writer alone for as long (its latency without a build)."""
    name = f"by_n_{rnd}"
    writer = SteadyWriter(store, docs, rate, f"b{rnd}-")
    writer.start()
    await asyncio.sleep(0.5)  # the writer at its pace before the build starts
    before = len(writer.latencies)
    started = time.perf_counter()
    await store.create_index(COLLECTION, name, parse_fields(["n"]))
    while True:
        index = next(i for i in await store.indexes(COLLECTION) if i.name == name)
        if index.state == "ready":
            break
        await asyncio.sleep(0.005)
    seconds = time.perf_counter() - started
    during = (await writer.stop())[before:]
    alone = SteadyWriter(store, docs, rate, f"a{rnd}-")
    alone.start()
    await asyncio.sleep(max(seconds, 2.0))
    quiet = await alone.stop()
    return {
        "indexed": index.done,
        "seconds": seconds,
        "docs_per_s": index.done / seconds,
        "writes": len(during),
        "write_p50_ms": pct(during, 0.5) / 1000,
        "write_p99_ms": pct(during, 0.99) / 1000,
        "write_max_ms": max(during) / 1000,
        "quiet_writes": len(quiet),
        "quiet_p50_ms": pct(quiet, 0.5) / 1000,
        "quiet_p99_ms": pct(quiet, 0.99) / 1000,
        "quiet_max_ms": max(quiet) / 1000,
    }


Measured = tuple[list[tuple[str, list[float], str]], list[dict[str, float]]]


async def measure(docs: int, pages: int, rate: float, builds: int) -> Measured:
    with tempfile.TemporaryDirectory(prefix="ls-bench-queries-") as tmp:
        store = LevelStore(Path(tmp) / "db", sync=False)
        await store.start()
        try:
            started = time.perf_counter()
            await load(store, docs)
            loaded = time.perf_counter() - started
            print(f"{docs} documents loaded in {loaded:.1f} s", file=sys.stderr)
            ready = await store.indexes(COLLECTION)
            rnd = random.Random(7)

            async def plain() -> None:
                start = key_of(rnd.randrange(docs - PAGE))
                page = await store.range(RangeQuery(COLLECTION, KeyRange(gte=start), PAGE))
                assert len(page.items) == PAGE

            async def many() -> None:
                page = await filtered(store, WHERE.format(owner="u42"), ready)
                assert len(page.items) == PAGE, len(page.items)

            async def few() -> None:
                page = await filtered(store, WHERE.format(owner=FEW), ready)
                assert len(page.items) == FEW_COUNT, len(page.items)

            async def refused() -> None:
                try:
                    await filtered(store, WHERE.format(owner="u42"), [])
                except ValidationFailed as exc:
                    assert exc.extra["needs_index"] == ["status", "owner"]
                    return
                raise AssertionError("not refused")

            cases = [
                ("plain 100-doc key range", plain, "`gte=<random key>&limit=100`"),
                ("indexed where, first page of 100", many, "index [owner, status]"),
                (f"indexed where, {FEW_COUNT} matches", few, "index [owner, status]"),
                ("unindexed where, refused", refused, f"scans {DEFAULT_MAX_SCAN}, needs_index"),
            ]
            out = []
            for name, call, note in cases:
                samples = await timed(call, pages if name != cases[-1][0] else max(pages // 5, 200))
                out.append((name, samples, note))
                print(f"{name}: p50 {pct(samples, 0.5):.0f} µs", file=sys.stderr)
            rounds = []
            for rnd in range(1, builds + 1):
                rounds.append(await index_build(store, docs, rate, rnd))
                print(f"index build {rnd}: {rounds[-1]}", file=sys.stderr)
            return out, rounds
        finally:
            await store.close()


def commit() -> str:
    here = Path(__file__).parent
    run = subprocess.run(
        ["git", "-C", str(here), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    dirty = subprocess.run(
        ["git", "-C", str(here), "status", "--porcelain", "app"],
        capture_output=True,
        text=True,
        check=False,
    )
    return run.stdout.strip() + (" (+ uncommitted changes in app/)" if dirty.stdout.strip() else "")


def report(results: dict[int, Measured], pages: int, rate: float) -> str:
    lines = [
        "# Suite queries: filtered range pages (issue 15)",
        "",
        f"Commit {commit()}; {platform.python_implementation()} {platform.python_version()}, "
        f"{platform.machine()}; `LevelStore(sync=False)` in-process, one event loop, no HTTP; "
        f"{pages} timed calls per case (the refusal: {max(pages // 5, 200)}) after 20 warm-up "
        "calls; times in µs per call (compile + plan + read, as `list_range` below HTTP). "
        "A shared 2-core machine: compare rows of one run, not runs.",
        "",
        "| documents | case | p50 µs | p99 µs | vs plain (p50) | note |",
        "| ---: | --- | ---: | ---: | ---: | --- |",
    ]
    for docs, (rows, _) in results.items():
        base = statistics.median(rows[0][1])
        for name, samples, note in rows:
            p50 = pct(samples, 0.5)
            lines.append(
                f"| {docs:,} | {name} | {p50:.0f} | {pct(samples, 0.99):.0f} | "
                f"{p50 / base:.2f}x | {note} |"
            )
    lines += [
        "",
        "## Index build beside writes",
        "",
        f"`create_index` of a new index on `[n]` over the documents above (the index on "
        f"[owner, status] already there), timed from the call to `state: ready` (polled "
        f"every 5 ms), while one writer puts {rate:g} new documents/s (of the shape above) "
        "into the same collection, open loop (each write starts on its schedule and its "
        "latency counts from then; `write()` of one put, as the HTTP layer calls it). "
        "`alone`: the same writer with no build, right after, for as long as the build took "
        "(at least 2 s). Rounds build one more index each (by_n_1, by_n_2, ...: the earlier "
        "ones stay, so later rounds' writes maintain more indexes, and the writer's documents "
        "of earlier rounds are indexed too). Target (issue 15): >= 100,000 documents/s on "
        "1,000,000 documents, writes still served; met only if the worst round meets it.",
        "",
        "| documents | round | indexed | build s | documents/s | writes during | "
        "write p50 / p99 / max ms, build | write p50 / p99 / max ms, alone |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    verdicts = []
    for docs, (_, builds) in results.items():
        for rnd, b in enumerate(builds, 1):
            lines.append(
                f"| {docs:,} | {rnd} | {b['indexed']:,.0f} | {b['seconds']:.2f} | "
                f"{b['docs_per_s']:,.0f} | {b['writes']:,.0f} | {b['write_p50_ms']:.2f} / "
                f"{b['write_p99_ms']:.2f} / {b['write_max_ms']:.1f} | {b['quiet_p50_ms']:.2f} / "
                f"{b['quiet_p99_ms']:.2f} / {b['quiet_max_ms']:.1f} |"
            )
        if builds:
            worst = min(b["docs_per_s"] for b in builds)
            met = "MET" if worst >= 100_000 else "NOT MET"
            verdicts.append(
                f"- {docs:,} documents: worst round {worst:,.0f} documents/s "
                f"(>= 100,000: {met}{'' if docs >= 1_000_000 else '; the target is at 1M'}); "
                f"worst write p99 during a build "
                f"{max(b['write_p99_ms'] for b in builds):.2f} ms, alone "
                f"{max(b['quiet_p99_ms'] for b in builds):.2f} ms"
            )
    lines += ["", *verdicts]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.queries", description=__doc__)
    parser.add_argument("--docs", type=int, nargs="+", default=[100_000])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--write-rate", type=float, default=WRITE_RATE)
    parser.add_argument("--builds", type=int, default=3, help="index build rounds")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    results = {
        docs: asyncio.run(measure(docs, args.pages, args.write_rate, args.builds))
        for docs in args.docs
    }
    text = report(results, args.pages, args.write_rate)
    args.output.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
