"""The real-time load generator (picows + uvloop), run as its own process.

`run(spec, cpus)` starts `python -m bench.rtgen` pinned to the load-generator
CPU and returns its step results; `Holding` keeps several generator processes
connected at once (idle connections beyond what one process may open).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from bench.servers import ROOT


def _command(spec: dict[str, Any]) -> list[str]:
    return [sys.executable, "-m", "bench.rtgen", json.dumps(spec)]


def _preexec(cpus: set[int] | None) -> Any:
    def pin() -> None:
        if cpus is not None:
            os.sched_setaffinity(0, cpus)

    return pin


def run(
    spec: dict[str, Any], cpus: set[int] | None, timeout_s: float = 600
) -> list[dict[str, Any]]:
    """Run a spec to its end; returns one dict per step. Raises on a generator failure."""
    done = subprocess.run(
        _command(spec),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        preexec_fn=_preexec(cpus),
    )
    results = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    errors = [r for r in results if "error" in r]
    if errors or done.returncode != 0:
        why = errors[0]["error"] if errors else f"exit {done.returncode}"
        raise RuntimeError(f"load generator failed: {why}\n{done.stderr[-2000:]}")
    return [r for r in results if "step" in r]


class Holding:
    """Several generator processes that each connect and then hold their subscribers."""

    def __init__(self, specs: list[dict[str, Any]], cpus: set[int] | None) -> None:
        self.procs = [
            subprocess.Popen(
                _command({**spec, "hold": True}),
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
                preexec_fn=_preexec(cpus),
            )
            for spec in specs
        ]

    def results(self) -> list[dict[str, Any]]:
        """Each process's step results, once it holds (or has failed)."""
        out = []
        for proc in self.procs:
            assert proc.stdout is not None
            steps: list[dict[str, Any]] = []
            for line in proc.stdout:
                data = json.loads(line)
                if "holding" in data:
                    break
                if "error" in data:
                    steps.append({"error": data["error"]})
                    break
                steps.append(data)
            out.extend(steps)
        return out

    def release(self) -> None:
        for proc in self.procs:
            if proc.stdin is not None:
                proc.stdin.close()
        for proc in self.procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def base_spec(target: Any, server: Any, proto: str) -> dict[str, Any]:
    """The generator's view of a `peers.targets.Target` served by `server`."""
    from bench.servers import ADMIN_TOKEN

    flavor = target.ws if proto == "ws" else target.sse
    if flavor is None:
        raise ValueError(f"{target.id} offers no {proto}")
    return {
        "target": target.id,
        "port": server.port,
        "server_pid": server.pid,
        "proto": proto,
        "flavor": flavor,
        "token": ADMIN_TOKEN,
        "headers": target.headers,
        "writer": target.writer,
        "ordered": target.kind != "pocketbase",
        "sources": ["127.0.0.1"],
        "steps": [],
    }


def ls_connect_spec(server: Any, steps: list[dict[str, Any]]) -> dict[str, Any]:
    """WebSocket connects to a `bench.servers.Levelstream` as W6 counts them: the admin
    token in the URL, no extra handshake headers (unlike `base_spec`'s ls-sync target,
    whose Authorization header every handshake would also carry and the server parse)."""
    from bench.servers import ADMIN_TOKEN

    return {
        "target": "ls-sync",
        "port": server.port,
        "server_pid": server.pid,
        "proto": "ws",
        "flavor": "ls",
        "token": ADMIN_TOKEN,
        "headers": {},
        "writer": "put",
        "sources": ["127.0.0.1"],
        "steps": steps,
    }


def cell_extra(result: dict[str, Any]) -> dict[str, Any]:
    """The numbers of a step result worth keeping in a cell."""
    skip = {"step", "op", "lost", "errors", "p50_ms", "p99_ms"}
    return {k: v for k, v in result.items() if k not in skip and v not in ("", None)}
