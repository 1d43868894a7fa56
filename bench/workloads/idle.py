"""W6: memory per idle connection (WebSocket and SSE) and connections accepted per second.

Measured on the subscriber ramp of the real-time phases (`ramp_cells`): the
server's RSS before and one second after the generator registers the
connections of the last ramp step (1,000 -> 10,000 subscribers in the full
profile: 9,000 connections, each subscribed or socket.io-connected, none of
which has received anything yet). KiB per connection is the RSS growth over
the connections added; the accept rate is how fast the generator got them
registered with 200 handshakes in flight (a Python client: its CPU is
reported, and at 90 % the cell is void; docs/decisions.md), and the server's
CPU per accepted connection beside it. Where a target is judged on its accept
rate (`Plan.accept_window`), that ramp is repeated (its connections aborted and
made again) until the ramps took at least 5 s together, issue 17's window: one
ramp of 9,000 takes 1-2 s, where one collector pass moved the rate by a tenth.

Once per run, `hold_max` tries to hold `plan.idle_max` idle WebSocket
connections on one Levelstream process, from several generator processes on
different 127.0.0.x source addresses; it reports what it reaches and the limit
that stopped it (here: RLIMIT_NOFILE).
"""

from __future__ import annotations

import math
import time
from typing import Any

from bench import rtgen
from bench.compare import Cell
from bench.peers.targets import Target, raise_nofile
from bench.plan import Plan
from bench.rtgen.gen import rss_kib
from bench.servers import ServerProcess, http_get

WARM = 100  # connections opened before the ones measured
PER_SOURCE = 25_000


def ramp_cells(
    target: str, proto: str, rnd: int, wanted: int, result: dict[str, Any]
) -> list[Cell]:
    """W6 and W6a from the connect step that took the ramp to `wanted` subscribers."""
    extra = rtgen.cell_extra(result)
    complete = result["total"] >= wanted
    if not complete:
        extra["failure"] = f"{result['total']} of {wanted} connected: {result['first_error']}"
    common: dict[str, Any] = {"errors": result["failures"], "extra": extra}
    kib = result["kib_per_conn"] if complete else None
    per_s = result["per_s"] if complete else None
    return [
        Cell("W6", target, proto, rnd, kib, **common),
        Cell("W6a", target, proto, rnd, per_s, **common),
    ]


def fd_limit(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/limits") as f:
            for line in f:
                if line.startswith("Max open files"):
                    return int(line.split()[3])
    except (OSError, ValueError):
        return None
    return None


def hold_max(
    target: Target, server: ServerProcess, plan: Plan, cpus: set[int] | None
) -> dict[str, Any]:
    """Open up to `plan.idle_max` idle WebSocket subscribers at once; what was reached."""
    # One source address per process, well inside its ~28,000 ephemeral ports.
    per_process = max(1000, min(raise_nofile() - 200, PER_SOURCE))
    processes = math.ceil(plan.idle_max / per_process)
    rss0 = rss_kib(server.pid)
    limit = fd_limit(server.pid) or plan.idle_max
    # No need for more generator capacity than the server could possibly accept.
    processes = max(1, min(processes, math.ceil((limit + per_process) / per_process)))
    specs = []
    for i in range(processes):
        spec = rtgen.base_spec(target, server, "ws")
        count = min(per_process, plan.idle_max - i * per_process)
        spec["sources"] = [f"127.0.0.{2 + i}"]
        spec["steps"] = [{"op": "connect", "total": count, "max_failures": 100, "settle_s": 0.2}]
        specs.append(spec)
    started = time.perf_counter()
    holding = rtgen.Holding(specs, cpus)
    try:
        results = holding.results()
        seconds = time.perf_counter() - started
        time.sleep(1.0)
        rss1 = rss_kib(server.pid)
        try:
            alive = http_get(server.port, server.ready_path)[0] == 200
        except OSError:
            alive = False
    finally:
        holding.release()
    reached = sum(int(r.get("total", 0)) for r in results)
    log = server.log_path.read_text(errors="replace") if server.log_path.exists() else ""
    errors = [r.get("first_error") or r.get("error") for r in results]
    return {
        "target": target.id,
        "tried": plan.idle_max,
        "reached": reached,
        "generator_processes": processes,
        "seconds": round(seconds, 2),
        "per_s": round(reached / seconds, 1) if seconds else None,
        "server_rss_mib": round(rss1 / 1024, 1),
        "kib_per_conn": round((rss1 - rss0) / reached, 2) if reached else None,
        "server_fd_limit": fd_limit(server.pid),
        "server_answered_after": alive,
        "server_out_of_fds": "Too many open files" in log or "EMFILE" in log,
        "first_error": next((e for e in errors if e), ""),
    }
