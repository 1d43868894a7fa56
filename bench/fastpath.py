"""Two small measurements of the server's front paths (issue 17, parts 3 and 4).

`python -m bench.fastpath get`: the CPU cost of one document GET with and without
an `Origin` header, calling the app in-process as an ASGI app (no sockets, no
uvicorn): what the app itself spends per request, the part an Origin changes.
Rounds alternate between the two so that drift hits both alike.

`python -m bench.fastpath accepts`: WebSocket connections accepted per second by a
real server (`python -m app.cli serve`, durability sync) on loopback, as W6 counts
them: a connection counts once the server has answered its `subscribe` op. First
`--sequential` connections one after the other (the handshake's latency), then
`--concurrent` more with 200 handshakes in flight (the W6 figure); the
connections stay open. The picows generator of the suite runs in its own process;
with two CPUs or more the server is pinned to one and the generator to another.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ORIGIN = "https://app.example.com"
TOKEN = "lsa_bench_admin_token_0123456789abcdef"


async def _get_costs(calls: int, rounds: int) -> dict[str, list[float]]:
    from app.main import create_app
    from app.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp),
            admin_token=TOKEN,
            allowed_origins=ORIGIN,
            access_log=False,
            durability="async",
        )
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            await _call(app, "PUT", [], b'{"v": 1}')
            auth = [(b"authorization", b"Bearer " + TOKEN.encode()), (b"host", b"bench")]
            with_origin = [*auth, (b"origin", ORIGIN.encode())]
            costs: dict[str, list[float]] = {"without Origin": [], "with Origin": []}
            for _ in range(rounds):
                for name, headers in (("without Origin", auth), ("with Origin", with_origin)):
                    costs[name].append(await _per_call(app, headers, calls))
            return costs


async def _per_call(app: Any, headers: list[tuple[bytes, bytes]], calls: int) -> float:
    """Microseconds of CPU per GET, over `calls` GETs."""
    for _ in range(100):  # warm
        await _call(app, "GET", headers)
    start = time.process_time()
    for _ in range(calls):
        await _call(app, "GET", headers)
    return (time.process_time() - start) / calls * 1e6


async def _call(
    app: Callable[..., Awaitable[None]],
    method: str,
    headers: list[tuple[bytes, bytes]],
    body: bytes = b"",
) -> None:
    auth = headers or [(b"authorization", b"Bearer " + TOKEN.encode())]
    status = await call_app(app, method, "/v1/collections/bench/docs/k", auth, body)
    if status not in (200, 201):
        raise RuntimeError(f"{method} answered {status}")


async def call_app(
    app: Callable[..., Awaitable[None]],
    method: str,
    path: str,
    headers: list[tuple[bytes, bytes]],
    body: bytes = b"",
) -> int:
    """One request straight into the ASGI app, as uvicorn would hand it over (no server,
    no socket): the status it answered."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    status = 0

    async def receive() -> dict[str, Any]:
        return messages.pop() if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


def run_get(calls: int, rounds: int) -> None:
    import uvloop

    costs = uvloop.run(_get_costs(calls, rounds))
    plain = statistics.median(costs["without Origin"])
    for name, values in costs.items():
        shown = " / ".join(f"{v:.1f}" for v in values)
        median = statistics.median(values)
        print(f"{name:15} µs CPU per GET, rounds: {shown}; median {median:.1f}", end="")
        print(f" ({median / plain:.2f}x)" if name != "without Origin" else "")


def run_accepts(sequential: int, concurrent: int, rounds: int) -> None:
    from bench import rtgen
    from bench.cpus import plan
    from bench.servers import Levelstream

    server_cpus, gen_cpus = plan(pin=True)
    for rnd in range(rounds):
        with (
            tempfile.TemporaryDirectory() as tmp,
            Levelstream(Path(tmp), cpus=server_cpus) as server,
        ):
            spec = rtgen.ls_connect_spec(
                server,
                [
                    {"op": "connect", "total": sequential, "concurrency": 1, "settle_s": 0},
                    {"op": "connect", "total": sequential + concurrent, "settle_s": 0},
                ],
            )
            steps = rtgen.run(spec, gen_cpus)
        seq, conc = steps
        print(
            f"round {rnd + 1}: {seq['per_s']:,.0f}/s sequential ({sequential}), "
            f"{conc['per_s']:,.0f}/s with 200 in flight ({concurrent}; "
            f"server CPU {conc['cpu_server_pct']:.0f} %, "
            f"{conc['cpu_server_pct'] * 1e4 / max(conc['per_s'], 1):.0f} µs per connection, "
            f"generator {conc['cpu_loadgen_pct']:.0f} %, "
            f"others {conc['cpu_other_pct']:.0f} %)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.fastpath", description=__doc__)
    sub = parser.add_subparsers(dest="what", required=True)
    get = sub.add_parser("get", help="per-GET CPU with and without Origin, in-process")
    get.add_argument("--calls", type=int, default=20_000)
    get.add_argument("--rounds", type=int, default=5)
    accepts = sub.add_parser("accepts", help="WebSocket accepts/s against a real server")
    accepts.add_argument("--sequential", type=int, default=500)
    accepts.add_argument("--concurrent", type=int, default=5_000)
    accepts.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("PYTHONHASHSEED", "0")
    if args.what == "get":
        run_get(args.calls, args.rounds)
    else:
        run_accepts(args.sequential, args.concurrent, args.rounds)


if __name__ == "__main__":
    main()
