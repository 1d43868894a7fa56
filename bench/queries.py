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

from app.api.ranges import _where, range_match
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
    program = _where(where)
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


async def measure(docs: int, pages: int) -> list[tuple[str, list[float], str]]:
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
            return out
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


def report(results: dict[int, list[tuple[str, list[float], str]]], pages: int) -> str:
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
    for docs, rows in results.items():
        base = statistics.median(rows[0][1])
        for name, samples, note in rows:
            p50 = pct(samples, 0.5)
            lines.append(
                f"| {docs:,} | {name} | {p50:.0f} | {pct(samples, 0.99):.0f} | "
                f"{p50 / base:.2f}x | {note} |"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.queries", description=__doc__)
    parser.add_argument("--docs", type=int, nargs="+", default=[100_000])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    results = {docs: asyncio.run(measure(docs, args.pages)) for docs in args.docs}
    text = report(results, args.pages)
    args.output.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
