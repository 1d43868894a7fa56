"""`python -m bench.accept_cost`: instructions per WebSocket (or SSE) accept, per server.

W6 counts a WebSocket connection once the server has registered it
(Levelstream: its `subscribe` answered; the seed: socket.io's connect packet
answered). Its wall-clock rate on a shared 2-CPU machine mostly measures the
other processes; the instructions the server executes per accepted
connection do not move with the machine's load, so code changes of the
accept path are compared on them.

Each target runs under `valgrind --tool=callgrind` (its user-space
instructions, JIT and interpreter alike), started as suite `peers` starts it.
The suite's generator (`bench.rtgen`, picows) first opens `--warm`
connections and holds them (imports, caches and first-use allocations are
behind us), then the counters are zeroed (`callgrind_control -z`), `--accepts`
more connections are opened, with `--concurrency` handshakes in flight, and
the counters are dumped (`callgrind_control -d`) while every connection is
still open: accept, handshake, authentication, admission, session set-up and
the first `subscribe`, and nothing of the closes. With `--keep DIR` the dumps
stay there for `callgrind_annotate`.

`--proto sse` opens W6's SSE streams instead (Levelstream: `GET /v1/stream`
until its `retry:` arrived; PocketBase: `GET /api/realtime`, then the POST that
subscribes it), all held open while the counters are dumped.

    python -m bench.accept_cost ls-sync seed --accepts 300
    python -m bench.accept_cost ls-sync pocketbase --proto sse --accepts 300
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import rtgen
from bench.peers.targets import by_id

SLOW_START_S = 300.0  # a server under valgrind starts 20-50x slower


def _valgrind_server(server: Any, out: Path) -> None:
    """Make `server` start its command under callgrind (`_Pinned.command` wraps)."""
    command = server.command

    def wrapped() -> list[str]:
        return [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out}",
            "--trace-children=no",
            *command(),
        ]

    server.command = wrapped


def _collected(path: Path) -> int:
    """The instruction total of one callgrind dump."""
    text = path.read_text(errors="replace")
    found = re.search(r"^(?:summary|totals):\s+(\d+)", text, re.MULTILINE)
    if found is None:
        raise RuntimeError(f"no total in {path}")
    return int(found.group(1))


def _control(*args: str) -> None:
    subprocess.run(["callgrind_control", *args], check=True, capture_output=True, timeout=120)


def measure(
    target_id: str, accepts: int, warm: int, concurrency: int, keep: Path | None, proto: str = "ws"
) -> int:
    """Instructions the server executed for `accepts` accepts of `proto` (ws | sse)."""
    target = by_id(target_id)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        out_dir = keep or work
        out = out_dir / f"callgrind.{target_id}.out"
        server = target.server(work, None)
        _valgrind_server(server, out)
        server.start(timeout=SLOW_START_S)
        holdings = []
        try:
            steps = []
            for total in (warm, warm + accepts):
                spec = rtgen.base_spec(target, server, proto)
                step = {"op": "connect", "total": total - (warm if steps else 0)}
                spec["steps"] = [{**step, "concurrency": concurrency, "settle_s": 0.5}]
                if steps:
                    _control("-z", str(server.pid))
                holding = rtgen.Holding([spec], None)
                holdings.append(holding)
                steps.extend(holding.results())
                if any("error" in s or s.get("failures") for s in steps):
                    raise RuntimeError(f"connecting failed: {steps}")
            before = set(out_dir.glob(f"callgrind.{target_id}.out*"))
            _control("-d", str(server.pid))
            deadline = time.monotonic() + 120
            dumps: set[Path] = set()
            while not dumps and time.monotonic() < deadline:
                time.sleep(0.5)
                dumps = set(out_dir.glob(f"callgrind.{target_id}.out*")) - before
            if not dumps:
                raise RuntimeError("callgrind wrote no dump")
            time.sleep(1.0)  # let it finish writing
            return _collected(max(dumps, key=lambda p: p.stat().st_mtime))
        finally:
            for holding in holdings:
                holding.release()
            if hasattr(server, "kill"):
                server.kill()
            else:
                server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.accept_cost", description=__doc__)
    parser.add_argument("targets", nargs="+", help="target ids of suite peers (ls-sync, seed)")
    parser.add_argument("--accepts", type=int, default=300)
    parser.add_argument("--warm", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--keep", type=Path, help="keep the callgrind dumps in this folder")
    parser.add_argument("--proto", choices=("ws", "sse"), default="ws")
    args = parser.parse_args()
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        raise SystemExit("needs valgrind (apt-get install valgrind)")
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    kind = "WebSocket" if args.proto == "ws" else "SSE stream"
    for target_id in args.targets:
        total = measure(target_id, args.accepts, args.warm, args.concurrency, args.keep, args.proto)
        print(
            f"{target_id}: {total / args.accepts:,.0f} instructions per accepted {kind} "
            f"({total:,} for {args.accepts}, {args.concurrency} in flight, callgrind)",
            flush=True,
        )


if __name__ == "__main__":
    main()
