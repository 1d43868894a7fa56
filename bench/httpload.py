"""HTTP load with wrk (Debian's), driven by bench/lua/bench.lua, plus seeding documents.

`wrk_problem()` installs wrk with apt-get when it is missing and this is root;
`run_wrk` runs one timed window pinned to the load-generator CPU and reports
wrk's own counts and latency percentiles, its CPU (from the child's rusage)
and the server's; `seed_docs` writes the documents k000000.. that the GET and
range workloads read.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import resource
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench import payload
from bench.compare import Cell
from bench.loadgen import RawHttp1
from bench.measure import CpuProbe, MachineCpuProbe

LUA = Path(__file__).resolve().parent / "lua" / "bench.lua"
DOCS_PREFIX = f"/v1/collections/{payload.COLLECTION}/docs"
ORIGIN = "https://app.example.com"  # W2o's browser origin, allowed by the Levelstream servers


@dataclass(frozen=True, slots=True)
class HttpApi:
    """How a target's HTTP API names documents (see bench/lua/bench.lua)."""

    docs: str  # the collection's path, no trailing slash
    create: str = "put"  # put: PUT docs/<fresh key>; post: POST docs
    update: str = "PUT"
    keyfmt: str = "k%06d"
    range: str = "?gte=%s&limit=100"


LS_API = HttpApi(DOCS_PREFIX)
PB_API = HttpApi(
    f"/api/collections/{payload.COLLECTION}/records",
    create="post",
    update="PATCH",
    keyfmt="k%014d",
    range="?filter=id%%3E%%3D%%27%s%%27&sort=id&perPage=100&skipTotal=1",
)


def wrk_problem() -> str | None:
    """None when wrk can run (installing it from Debian if needed and possible)."""
    if shutil.which("wrk"):
        return None
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return "wrk is not installed (apt-get install wrk, as root)"
    print("installing wrk (Debian) ...", file=sys.stderr, flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "wrk"]):
        try:
            subprocess.run(cmd, env=env, capture_output=True, timeout=600, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"apt-get failed: {exc}"
    return None if shutil.which("wrk") else "apt-get install wrk failed"


@dataclass(slots=True)
class WrkResult:
    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p99_ms: float
    extra: dict[str, float] = field(default_factory=dict)
    error_detail: str = ""

    @property
    def ok(self) -> int:
        return self.requests - int(self.extra.get("status_errors", 0))


def run_wrk(
    port: int,
    *,
    mode: str,
    connections: int,
    seconds: int,
    server_pid: int,
    cpus: set[int] | None,
    run: str = "r",
    keys: int = 1000,
    auth: str = "",
    body: bytes = payload.VALUE,
    api: HttpApi = LS_API,
    origin: str = "",
) -> WrkResult:
    """One wrk window: `mode` is put (fresh keys), update, get (random k..) or range (100 docs)."""
    bare = mode == "range" or (mode == "put" and api.create == "post")
    env = {
        **os.environ,
        "BENCH_WRK_MODE": mode,
        "BENCH_WRK_PREFIX": api.docs if bare else api.docs + "/",
        "BENCH_WRK_RUN": run,
        "BENCH_WRK_KEYS": str(keys),
        "BENCH_WRK_KEYFMT": api.keyfmt,
        "BENCH_WRK_BODY": body.decode(),
        "BENCH_WRK_AUTH": auth,
        "BENCH_WRK_ORIGIN": origin,
        "BENCH_WRK_CREATE": api.create,
        "BENCH_WRK_UPDATE": api.update,
        "BENCH_WRK_RANGE": api.range,
    }
    cmd = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA),
        f"http://127.0.0.1:{port}",
    ]

    def pin() -> None:
        if cpus is not None:
            os.sched_setaffinity(0, cpus)

    server, machine = CpuProbe("server", server_pid), MachineCpuProbe()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    server.start()
    machine.start()
    done = subprocess.run(
        cmd, env=env, capture_output=True, text=True, timeout=seconds + 60, preexec_fn=pin
    )
    extra = {**server.stop(), **machine.stop()}
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    used = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(
            f"wrk failed ({done.returncode}): {done.stderr[-500:]}{done.stdout[-500:]}"
        )
    data = json.loads(lines[-1])
    elapsed = data["duration_us"] / 1e6
    extra["cpu_loadgen_pct"] = round(100 * used / elapsed, 1)
    own = extra["cpu_server_pct"] + extra["cpu_loadgen_pct"]
    extra["cpu_other_pct"] = round(max(0.0, extra["machine_cpu_pct"] - own), 1)
    socket_errors = data["connect"] + data["read"] + data["write"] + data["timeout"]
    extra["status_errors"] = data["status"]
    extra["socket_errors"] = socket_errors
    return WrkResult(
        requests=data["requests"],
        seconds=elapsed,
        errors=data["status"] + socket_errors,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        extra=extra,
    )


# --- seeding documents for GET and range reads -------------------------------------


def doc_key(i: int, prefix: str = "k") -> str:
    return f"{prefix}{i:06d}"


async def _seed(
    port: int,
    count: int,
    headers: dict[str, str],
    batch: bool,
    prefix: str,
    doc: bytes,
    numbered: bool = False,
) -> int:
    headers = {**headers, "Content-Type": "application/json"}
    value = doc.decode()

    def value_of(i: int) -> str:
        return payload.numbered(i).decode() if numbered else value

    if batch:  # Levelstream: POST /v1/batch, 1000 puts per request
        client = RawHttp1("127.0.0.1", port, headers)
        try:
            for start in range(0, count, 1000):
                ops = ",".join(
                    f'{{"op":"put","collection":"{payload.COLLECTION}",'
                    f'"key":"{doc_key(i, prefix)}","value":{value_of(i)}}}'
                    for i in range(start, min(count, start + 1000))
                )
                status, body = await client.request(
                    "POST", "/v1/batch", f'{{"ops":[{ops}]}}'.encode()
                )
                if status != 200:
                    raise RuntimeError(f"seeding: POST /v1/batch {status}: {body[:300]!r}")
        finally:
            await client.aclose()
        return count
    clients = [RawHttp1("127.0.0.1", port, headers) for _ in range(16)]

    async def put(worker: int) -> None:
        for i in range(worker, count, len(clients)):
            path = f"{DOCS_PREFIX}/{doc_key(i, prefix)}"
            status, body = await clients[worker].request("PUT", path, doc)
            if status not in (200, 201):
                raise RuntimeError(f"seeding: PUT {path} {status}: {body[:300]!r}")

    try:
        await asyncio.gather(*(put(w) for w in range(len(clients))))
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))
    return count


def seed_docs(
    port: int,
    count: int,
    headers: dict[str, str],
    *,
    batch: bool,
    prefix: str = "k",
    value: bytes = payload.VALUE,
    numbered: bool = False,
) -> int:
    """Write documents <prefix>000000.. (100-byte values), `batch`: 1000 per /v1/batch;
    `numbered`: document i is `payload.numbered(i)` (a catch-up checks every one)."""
    import uvloop

    return uvloop.run(_seed(port, count, headers, batch, prefix, value, numbered))


def check_range(port: int, headers: dict[str, str], api: HttpApi = LS_API) -> int:
    """Items in one range page of 100 (the range workload is void unless it is 100)."""
    first = api.keyfmt % 0
    query = api.range.replace("%s", first).replace("%%", "%")

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:  # http.client: a page may come chunked (PocketBase's do)
        conn.request("GET", api.docs + query, headers=headers)
        response = conn.getresponse()
        status, body = response.status, response.read()
    finally:
        conn.close()
    if status != 200:
        raise RuntimeError(f"range read: {status}: {body[:300]!r}")
    return len(json.loads(body)["items"])


# --- one workload window as a comparison cell -----------------------------------------


def wrk_cell(
    workload: str,
    target: str,
    rnd: int,
    *,
    port: int,
    server_pid: int,
    mode: str,
    connections: int,
    warmup_s: int,
    seconds: int,
    cpus: set[int] | None,
    keys: int = 1000,
    auth: str = "",
    body: bytes = payload.VALUE,
    writes: Callable[[], int] | None = None,
    api: HttpApi = LS_API,
    origin: str = "",
    param: str = "",
) -> Cell:
    """Warm up, then measure one wrk window. With `writes` (the server's count of
    acknowledged writes), a PUT the server answered 2xx but did not count is lost."""

    def window(run: str, length: int) -> WrkResult:
        return run_wrk(
            port,
            mode=mode,
            connections=connections,
            seconds=length,
            server_pid=server_pid,
            cpus=cpus,
            run=run,
            keys=keys,
            auth=auth,
            body=body,
            api=api,
            origin=origin,
        )

    if warmup_s > 0:
        window(f"r{rnd}w", warmup_s)
    before = writes() if writes else 0
    result = window(f"r{rnd}m", seconds)
    lost = max(0, result.ok - (writes() - before)) if writes else 0
    return Cell(
        workload,
        target,
        param or f"{connections} conns",
        rnd,
        value=round(result.requests / result.seconds, 1),
        p50_ms=round(result.p50_ms, 3),
        p99_ms=round(result.p99_ms, 3),
        errors=result.errors,
        lost=lost,
        extra={**result.extra, "requests": result.requests},
    )
