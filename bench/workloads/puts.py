"""W1: PUT throughput, 64 keep-alive connections (wrk), each PUT a 100-byte value to a new key.

Loss check: every PUT answered 2xx must be counted by the server afterwards
(Levelstream: the head seq; the others: their count of acknowledged writes).
"""

from __future__ import annotations

import json

from bench import httpload
from bench.compare import Cell
from bench.peers.targets import Target
from bench.plan import Plan
from bench.servers import ServerProcess, http_get


def acknowledged_writes(target: Target, server: ServerProcess) -> int:
    status, body = http_get(server.port, "/readyz")
    if status != 200:
        raise RuntimeError(f"/readyz answered {status}: {body[:200]!r}")
    data = json.loads(body)
    return int(data["head_seq"] if target.kind == "levelstream" else data["writes"])


def run(target: Target, server: ServerProcess, rnd: int, plan: Plan, cpus: set[int] | None) -> Cell:
    return httpload.wrk_cell(
        "W1",
        target.id,
        rnd,
        port=server.port,
        server_pid=server.pid,
        mode="put",
        connections=plan.http_connections,
        warmup_s=plan.wrk_warmup_s,
        seconds=plan.wrk_seconds,
        cpus=cpus,
        auth=target.headers.get("Authorization", ""),
        body=target.value,
        writes=lambda: acknowledged_writes(target, server),
    )
