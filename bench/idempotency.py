"""What an `Idempotency-Key` costs a write (issue 16): W1-style PUTs with and without it.

`python -m bench.idempotency`: PUTs of a 100-byte value under a new key each (W1's
shape), calling the app in-process as an ASGI app (no sockets, no uvicorn), one at
a time, on the embedded store. Each round alternates plain PUTs and PUTs with a
fresh `Idempotency-Key` each (so every one is remembered: the costly case, not a
replay), so that drift hits both alike. Reported per PUT: CPU microseconds of the
whole process (the event loop and the writer thread: `time.process_time`) and wall
microseconds. `--durability sync` adds an fsync per PUT (one at a time, no group
commit to share it), which then dominates the wall time.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Literal

from bench.fastpath import TOKEN, call_app

VALUE = b'{"title":"' + b"x" * 78 + b'","n":1}'  # 100 bytes, as W1's
AUTH = [(b"authorization", b"Bearer " + TOKEN.encode()), (b"host", b"bench")]
_TAIL = b"-" + uuid.uuid4().hex.encode()


async def _costs(calls: int, rounds: int, durability: str) -> dict[str, list[tuple[float, float]]]:
    from app.main import create_app
    from app.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp),
            admin_token=TOKEN,
            access_log=False,
            durability=durability,  # type: ignore[arg-type]
        )
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            costs: dict[str, list[tuple[float, float]]] = {"plain": [], "Idempotency-Key": []}
            for rnd in range(rounds):
                for name in costs:
                    costs[name].append(await _per_put(app, name != "plain", calls, rnd))
            return costs


async def _per_put(app: Any, keyed: bool, calls: int, rnd: int) -> tuple[float, float]:
    """(µs CPU, µs wall) per PUT over `calls` PUTs of new documents."""
    prefix = f"{'k' if keyed else 'p'}{rnd}-"
    for i in range(50):  # warm
        await _put(app, f"warm-{prefix}{i}", keyed)
    cpu, wall = time.process_time(), time.perf_counter()
    for i in range(calls):
        await _put(app, f"{prefix}{i}", keyed)
    return (
        (time.process_time() - cpu) / calls * 1e6,
        (time.perf_counter() - wall) / calls * 1e6,
    )


async def _put(app: Any, key: str, keyed: bool) -> None:
    path = f"/v1/collections/bench/docs/{key}"
    # A fresh key per PUT: the write's own key with a random tail (cheap to make).
    headers = [*AUTH, (b"idempotency-key", key.encode() + _TAIL)] if keyed else AUTH
    status = await call_app(app, "PUT", path, headers, VALUE)
    if status != 201:
        raise RuntimeError(f"PUT answered {status}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.idempotency", description=__doc__)
    parser.add_argument("--calls", type=int, default=2000, help="PUTs per round and kind")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--durability", choices=("async", "sync"), default="async")
    args = parser.parse_args()
    import uvloop

    durability: Literal["async", "sync"] = args.durability
    costs = uvloop.run(_costs(args.calls, args.rounds, durability))
    plain_cpu = statistics.median(c for c, _ in costs["plain"])
    plain_wall = statistics.median(w for _, w in costs["plain"])
    print(f"{args.calls} PUTs x {args.rounds} rounds per kind, durability {durability}")
    for name, values in costs.items():
        cpu = statistics.median(c for c, _ in values)
        wall = statistics.median(w for _, w in values)
        rounds = " / ".join(f"{c:.0f}" for c, _ in values)
        print(
            f"{name:16} µs CPU per PUT: {rounds}; median {cpu:.1f} ({cpu / plain_cpu:.2f}x); "
            f"wall median {wall:.1f} µs ({wall / plain_wall:.2f}x)"
        )


if __name__ == "__main__":
    main()
