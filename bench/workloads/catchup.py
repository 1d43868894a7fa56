"""W7: catch-up rate of a resume over `plan.catchup_changes` missed changes (Levelstream only).

The changes are written first (1000 per /v1/batch), then one new subscriber
resumes from the seq before them, over WebSocket (`subscribe` with `since`)
and over SSE (`Last-Event-ID`); the figure is changes per second from the
resume request to the last change received. Every missed change must arrive,
once each and in the order written.
The seed stack keeps no change log, so it has nothing to resume from.
"""

from __future__ import annotations

from bench import httpload, rtgen
from bench.compare import Cell
from bench.peers.targets import Target
from bench.plan import Plan
from bench.servers import ServerProcess
from bench.workloads.puts import acknowledged_writes


def run(
    target: Target, server: ServerProcess, rnd: int, plan: Plan, cpus: set[int] | None
) -> list[Cell]:
    since = acknowledged_writes(target, server)
    httpload.seed_docs(
        server.port,
        plan.catchup_changes,
        target.headers,
        batch=True,
        prefix=f"cu{rnd}-",
        numbered=True,
    )
    cells = []
    for proto in ("ws", "sse"):
        spec = rtgen.base_spec(target, server, proto)
        spec["steps"] = [{"op": "catchup", "since": since, "expect": plan.catchup_changes}]
        result = rtgen.run(spec, cpus)[0]
        cells.append(
            Cell(
                "W7",
                target.id,
                proto,
                rnd,
                value=result["per_s"],
                errors=result["errors"],
                lost=result["lost"],
                extra=rtgen.cell_extra(result),
            )
        )
    return cells
