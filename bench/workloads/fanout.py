"""W5 / W5s: fan-out deliveries per second to 1000 and 10,000 subscribers (WebSocket / SSE).

A closed loop: the writer keeps at most `window` writes in flight, a write
counting as done once every subscriber has received it, so the server's
outgoing queues stay bounded and nothing should be dropped. Each count runs
with every window of `plan.fanout_windows`: ONE write in flight (each change
is its own frame to every subscriber: the hard case, issue 17) and eight (a
server may batch what is waiting). The figure is deliveries (one change to one
subscriber) per second over the measured window; the server's CPU seconds over
the same window divided by its deliveries is `cpu_us_per_delivery`.
Afterwards every subscriber must have received every write exactly once, in
order (`bench.rtgen.clients.Tracker`).

W5 also runs a paced cell (`plan.fanout_paced`: one write in flight, at most
that many writes per second, the same rate for every server): the closed loop
drives the one-CPU generator to its limit (a cell where it reaches 90 % is
void), so the server's CPU per delivery is judged where the generator has
CPU to spare. With one write in flight the server's work per delivery hardly
depends on how fast the writes come (docs/decisions.md).
"""

from __future__ import annotations

from typing import Any

from bench.compare import Cell
from bench.plan import Plan
from bench.rtgen import cell_extra


def steps(plan: Plan, subscribers: int, workload: str = "W5") -> list[dict[str, Any]]:
    if not plan.wants(workload) or subscribers not in plan.fanout_subs:
        return []
    timing = {"warmup_s": plan.fanout_warmup_s, "seconds": plan.fanout_seconds}
    out = [{"op": "fanout", "window": window, **timing} for window in plan.fanout_windows]
    if workload == "W5" and subscribers in plan.fanout_paced:
        out.append({"op": "fanout", "window": 1, "rate": plan.fanout_paced[subscribers], **timing})
    return out


def param(subscribers: int, window: int, paced: bool = False) -> str:
    return f"{subscribers} subs, {window} in flight" + (", paced" if paced else "")


def step_param(subscribers: int, step: dict[str, Any]) -> str:
    return param(subscribers, step["window"], bool(step.get("rate")))


def cell(workload: str, target: str, rnd: int, wanted: int, result: dict[str, Any]) -> Cell:
    got = result["subscribers"]
    extra = cell_extra(result)
    if got < wanted:
        extra["failure"] = f"only {got} of {wanted} subscribers connected"
    return Cell(
        workload,
        target,
        param(wanted, result["window"], bool(result.get("rate"))),
        rnd,
        value=result["per_s"] if got == wanted else None,
        errors=result["errors"] + result.get("disconnects", 0),
        lost=result["lost"],
        extra=extra,
    )
