"""W4: write-to-delivery latency at 1, 100, 1000 and 10,000 WebSocket subscribers;
W4s: the same over SSE at 1, 100 and 1000 subscribers (PocketBase's realtime is SSE only).

Writes go in at a steady rate (the same for every target: `plan.latency`),
each carrying its send time; every subscriber notes when each change arrives.
p50/p99 are over every delivery (writes x subscribers), from the writer's send
(HTTP PUT, or a publisher frame for the raw `websockets` ceiling) to the
subscriber's receipt, all in the one generator process. The cell's figure is
p99 in ms. Levelstream's path includes the durable commit (fsync in `sync` mode).
"""

from __future__ import annotations

from typing import Any

from bench.compare import Cell
from bench.plan import Plan
from bench.rtgen import cell_extra

SSE_COUNTS = (1, 100, 1000)


def steps(plan: Plan, subscribers: int, workload: str = "W4") -> list[dict[str, Any]]:
    """The latency step at `subscribers` (after the generator has connected them)."""
    if not plan.wants(workload) or subscribers not in plan.latency:
        return []
    if workload == "W4s" and subscribers not in SSE_COUNTS:
        return []
    rate, writes = plan.latency[subscribers]
    return [{"op": "latency", "rate": rate, "writes": writes}]


def cell(target: str, rnd: int, wanted: int, result: dict[str, Any], workload: str = "W4") -> Cell:
    got = result["subscribers"]
    extra = cell_extra(result)
    if got < wanted:
        extra["failure"] = f"only {got} of {wanted} subscribers connected"
    return Cell(
        workload,
        target,
        f"{wanted} subs",
        rnd,
        value=result["p99_ms"] if got == wanted else None,
        p50_ms=result["p50_ms"],
        p99_ms=result["p99_ms"],
        errors=result["errors"] + result.get("disconnects", 0),
        lost=result["lost"],
        extra=extra,
    )
