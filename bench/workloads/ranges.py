"""W3: 100-document range reads (`?gte=<random key>&limit=100`), 64 connections (wrk).

PocketBase's is its filtered list: `?filter=id>='<random key>'&sort=id&perPage=100&skipTotal=1`.

Throughput and latency (p50/p99 of one page) of ordered reads from a random
starting key; a page of fewer than 100 documents voids the cell.
"""

from __future__ import annotations

from bench import httpload
from bench.compare import Cell
from bench.peers.targets import Target
from bench.plan import Plan
from bench.servers import ServerProcess

PAGE = 100


def run(target: Target, server: ServerProcess, rnd: int, plan: Plan, cpus: set[int] | None) -> Cell:
    items = httpload.check_range(server.port, target.headers, target.api)
    cell = httpload.wrk_cell(
        "W3",
        target.id,
        rnd,
        port=server.port,
        server_pid=server.pid,
        mode="range",
        connections=plan.http_connections,
        warmup_s=0,  # right after W2 on the same server: already warm
        seconds=plan.wrk_seconds,
        cpus=cpus,
        keys=plan.docs,
        auth=target.headers.get("Authorization", ""),
        api=target.api,
    )
    if items != PAGE:
        cell.errors += 1
        cell.extra["failure"] = f"a range page held {items} documents, not {PAGE}"
    return cell
