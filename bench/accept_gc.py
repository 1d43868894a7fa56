"""`python -m bench.accept_gc`: the garbage collector's share of WebSocket accepts, and
the server's memory over connect/disconnect churn.

The server (`python -m app.cli serve`, as suite `peers` starts it, pinned like W6)
runs under a watch that times every collection with `gc.callbacks` and, on
SIGUSR1, writes what it counted so far (collections and seconds per
generation, the process's CPU seconds, its RSS) to a file. The suite's picows
generator (`bench.rtgen`) then:

- ramp: holds `--warm` subscribed sockets, then opens `--ramp` more with 200
  handshakes in flight and holds them; the figures are the ramp's deltas:
  collector seconds against server CPU seconds, CPU per accept.
- churn: `--cycles` times, opens `--churn` subscribed sockets and closes them
  all; the server's CPU per accept while each cycle opens its sockets (with the
  collector's share: whether a server that has opened and closed many sockets
  accepts more slowly, as W6's later ramps seem to), and the server's RSS after
  each cycle against its RSS before the first. Memory that every cycle left
  behind would show as a steady climb.

    python -m bench.accept_gc --warm 1000 --ramp 9000 --churn 2000 --cycles 10
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import runpy
import signal
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any


def _rss_kib() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def watch_and_serve(out: Path, module_args: list[str]) -> None:
    """In the server process: time the collector, answer SIGUSR1, run the module."""
    counts = [0, 0, 0]
    seconds = [0.0, 0.0, 0.0]
    started = [0.0]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            counts[info["generation"]] += 1
            seconds[info["generation"]] += time.perf_counter() - started[0]

    def report(signum: int, frame: object) -> None:
        cpu_s = time.process_time()  # first: walking the tracked objects below costs CPU too
        tracked = gc.get_objects()
        snapshot = {
            "collections": counts,
            "gc_s": seconds,
            "cpu_s": cpu_s,
            "rss_kib": _rss_kib(),
            "tracked": len(tracked),
            "types": Counter(type(o).__qualname__ for o in tracked).most_common(60),
            "frozen": gc.get_freeze_count(),
            "threshold": gc.get_threshold(),
        }
        tmp = out.with_suffix(".tmp")
        tmp.write_text(json.dumps(snapshot))
        tmp.replace(out)

    young = os.environ.get("BENCH_GC_YOUNG")
    if young:  # what-if: the server's young-generation threshold (app.main.tune_gc)
        import app.main

        app.main.GC_YOUNG_THRESHOLD = int(young)
    gc.callbacks.append(on_gc)
    signal.signal(signal.SIGUSR1, report)
    sys.argv = [module_args[0], *module_args[1:]]
    runpy.run_module(module_args[0], run_name="__main__", alter_sys=True)


def _snapshot(pid: int, out: Path) -> dict[str, Any]:
    before = out.stat().st_mtime_ns if out.exists() else 0
    os.kill(pid, signal.SIGUSR1)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if out.exists() and out.stat().st_mtime_ns != before:
            data: dict[str, Any] = json.loads(out.read_text())
            return data
        time.sleep(0.05)
    raise RuntimeError("the server wrote no snapshot")


def _held(server: Any, total: int, concurrency: int, cpus: set[int] | None) -> Any:
    from bench import rtgen

    step = {"op": "connect", "total": total, "concurrency": concurrency, "settle_s": 0}
    holding = rtgen.Holding([rtgen.ls_connect_spec(server, [step])], cpus)
    steps = holding.results()
    if any("error" in s or s.get("failures") for s in steps):
        holding.release()
        raise RuntimeError(f"connecting failed: {steps}")
    return holding


def run(warm: int, ramp: int, churn: int, cycles: int, types: bool, young: int | None) -> None:
    from bench.cpus import plan
    from bench.servers import Levelstream

    server_cpus, gen_cpus = plan(pin=True)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "gc.json"
        server = Levelstream(Path(tmp), cpus=server_cpus)
        command = server.command

        def watched() -> list[str]:
            python, *rest = command()
            assert rest[0] == "-m"
            return [python, "-m", "bench.accept_gc", "--watch", str(out), "--", *rest[1:]]

        if young:
            env = server.env
            server.env = lambda: {**env(), "BENCH_GC_YOUNG": str(young)}  # type: ignore[method-assign]

        server.command = watched  # type: ignore[method-assign]
        with server:
            holdings = [_held(server, warm, 50, gen_cpus)]
            try:
                before = _snapshot(server.pid, out)
                holdings.append(_held(server, ramp, 200, gen_cpus))
                after = _snapshot(server.pid, out)
                cpu = after["cpu_s"] - before["cpu_s"]
                gc_s = [a - b for a, b in zip(after["gc_s"], before["gc_s"], strict=True)]
                runs = [
                    a - b for a, b in zip(after["collections"], before["collections"], strict=True)
                ]
                print(
                    f"ramp {warm:,} -> {warm + ramp:,} sockets: server CPU {cpu:.2f} s "
                    f"({cpu / ramp * 1e6:.0f} µs per accept), collector {sum(gc_s):.2f} s "
                    f"({sum(gc_s) / cpu:.0%}; collections by generation {runs}, seconds "
                    f"{' / '.join(f'{s:.2f}' for s in gc_s)}); RSS "
                    f"{(after['rss_kib'] - before['rss_kib']) / ramp:.1f} KiB per socket; "
                    f"tracked objects {after['tracked']:,} ({after['frozen']:,} frozen), "
                    f"threshold {after['threshold']}",
                    flush=True,
                )
                if types:
                    grown = Counter(dict(after["types"]))
                    grown.subtract(Counter(dict(before["types"])))
                    print(
                        "tracked objects per socket by type: "
                        + ", ".join(f"{n} {c / ramp:.2f}" for n, c in grown.most_common(25)),
                        flush=True,
                    )
            finally:
                for holding in holdings:
                    holding.release()
            if not cycles:
                return
            time.sleep(1.0)
            base = _snapshot(server.pid, out)
            rss = []
            costs = []  # per cycle: server CPU per accept of its opening, collector's share
            ended = base
            for _ in range(cycles):
                holding = _held(server, churn, 200, gen_cpus)
                opened = _snapshot(server.pid, out)
                holding.release()
                time.sleep(1.0)  # the closes are handled
                cpu = opened["cpu_s"] - ended["cpu_s"]
                gc_s = sum(opened["gc_s"]) - sum(ended["gc_s"])
                costs.append(f"{cpu / churn * 1e6:.0f} µs ({gc_s / cpu:.0%})")
                ended = _snapshot(server.pid, out)
                rss.append(ended["rss_kib"])
            print(
                f"churn: server CPU per accept while opening each cycle's {churn:,} sockets "
                f"(the collector's share): {', '.join(costs)}",
                flush=True,
            )
            shown = ", ".join(f"{(r - base['rss_kib']) / 1024:+.1f}" for r in rss)
            print(
                f"churn: {cycles} x {churn:,} sockets opened and closed; server RSS "
                f"{base['rss_kib'] / 1024:.1f} MiB before (after the ramp's sockets closed), "
                f"MiB against it after each cycle: {shown}",
                flush=True,
            )


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--watch":
        split = sys.argv.index("--")
        watch_and_serve(Path(sys.argv[2]), sys.argv[split + 1 :])
        return
    parser = argparse.ArgumentParser(prog="python -m bench.accept_gc", description=__doc__)
    parser.add_argument("--warm", type=int, default=1_000)
    parser.add_argument("--ramp", type=int, default=9_000)
    parser.add_argument("--churn", type=int, default=2_000)
    parser.add_argument("--cycles", type=int, default=10)
    parser.add_argument("--types", action="store_true", help="tracked objects per socket by type")
    parser.add_argument(
        "--young", type=int, help="what-if: the server's young-generation GC threshold"
    )
    args = parser.parse_args()
    run(args.warm, args.ramp, args.churn, args.cycles, args.types, args.young)


if __name__ == "__main__":
    main()
