"""W2: GET throughput, 64 keep-alive connections (wrk), random keys among `plan.docs` documents;
W2o: the same GETs as a browser sends them, with an allowed `Origin` header (CORS answered).

Every GET must answer 200 (the documents were written before): anything else
is an error and voids the cell.
"""

from __future__ import annotations

from bench import httpload
from bench.compare import Cell
from bench.peers.targets import Target
from bench.plan import Plan
from bench.servers import ServerProcess


def run(
    target: Target,
    server: ServerProcess,
    rnd: int,
    plan: Plan,
    cpus: set[int] | None,
    workload: str = "W2",
) -> Cell:
    return httpload.wrk_cell(
        workload,
        target.id,
        rnd,
        port=server.port,
        server_pid=server.pid,
        mode="get",
        connections=plan.http_connections,
        warmup_s=0,  # right after W1 on the same server: already warm
        seconds=plan.wrk_seconds,
        cpus=cpus,
        keys=plan.docs,
        auth=target.headers.get("Authorization", ""),
        api=target.api,
        origin=httpload.ORIGIN if workload == "W2o" else "",
    )
