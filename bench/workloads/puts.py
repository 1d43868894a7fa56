"""W1: create throughput, 64 keep-alive connections (wrk), each a 100-byte value under a new key;
W1u: the same as updates of existing documents (random keys among `plan.docs`).

Creates are `PUT .../docs/<new key>` (Levelstream, the seed stack, raw ASGI) or
`POST .../records` (PocketBase, which names the record); updates `PUT` or
`PATCH` (PocketBase). Loss check: every write answered 2xx must be counted by
the server afterwards (Levelstream: the head seq, which every update moves
too; PocketBase: its record count, for creates only; the others: their count
of acknowledged writes).
"""

from __future__ import annotations

import json
from collections.abc import Callable

from bench import httpload
from bench.compare import Cell
from bench.peers.pocketbase import PocketBase
from bench.peers.targets import Target
from bench.plan import Plan
from bench.servers import ServerProcess, http_get


def acknowledged_writes(target: Target, server: ServerProcess) -> int:
    status, body = http_get(server.port, "/readyz")
    if status != 200:
        raise RuntimeError(f"/readyz answered {status}: {body[:200]!r}")
    data = json.loads(body)
    return int(data["head_seq"] if target.kind == "levelstream" else data["writes"])


def counter(target: Target, server: ServerProcess, workload: str) -> Callable[[], int] | None:
    if isinstance(server, PocketBase):
        return server.records if workload == "W1" else None
    return lambda: acknowledged_writes(target, server)


def run(
    target: Target,
    server: ServerProcess,
    rnd: int,
    plan: Plan,
    cpus: set[int] | None,
    workload: str = "W1",
) -> Cell:
    return httpload.wrk_cell(
        workload,
        target.id,
        rnd,
        port=server.port,
        server_pid=server.pid,
        mode="put" if workload == "W1" else "update",
        connections=plan.http_connections,
        warmup_s=plan.wrk_warmup_s if workload == "W1" else 0,
        seconds=plan.wrk_seconds,
        cpus=cpus,
        keys=plan.docs,
        auth=target.headers.get("Authorization", ""),
        body=target.value,
        writes=counter(target, server, workload),
        api=target.api,
    )
