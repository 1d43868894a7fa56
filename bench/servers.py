"""Servers under test, each a subprocess on a loopback port, optionally pinned to CPUs.

`Levelstream` starts the real thing as `make run` does (`python -m app.cli
serve`). Peers (the Node stack, raw ASGI, ...) will be further subclasses of
`ServerProcess` with their own command line and readiness check.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Self

ROOT = Path(__file__).resolve().parent.parent
ADMIN_TOKEN = "lsa_bench_admin_token_0123456789abcdef"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


class ServerProcess:
    """A command that serves HTTP on `self.port`; ready when `ready_path` answers 200."""

    ready_path = "/"

    def __init__(self, workdir: Path, *, cpus: set[int] | None = None) -> None:
        self.workdir = workdir
        self.cpus = cpus
        self.port = free_port()
        self.log_path = workdir / "server.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        return dict(os.environ)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def _pin(self) -> None:  # runs in the child before exec: every thread inherits it
        if self.cpus is not None:
            os.sched_setaffinity(0, self.cpus)

    def start(self, timeout: float = 30) -> Self:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self.command(),
                cwd=ROOT,
                env=self.env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=self._pin,  # the child pins itself before exec
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if http_get(self.port, self.ready_path)[0] == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"server did not become ready:\n{self.log_tail()}")

    def stop(self, timeout: float = 20) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def log_tail(self, n: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except FileNotFoundError:
            return ""

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Levelstream(ServerProcess):
    """Levelstream as `make run` starts it, with its data under `workdir`."""

    ready_path = "/readyz"

    def __init__(
        self, workdir: Path, *, durability: str = "sync", cpus: set[int] | None = None
    ) -> None:
        super().__init__(workdir, cpus=cpus)
        self.durability = durability

    def command(self) -> list[str]:
        return [sys.executable, "-m", "app.cli", "serve", "--port", str(self.port)]

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "LEVELSTREAM_DATA_DIR": str(self.workdir / "data"),
            "LEVELSTREAM_ADMIN_TOKEN": ADMIN_TOKEN,
            "LEVELSTREAM_DURABILITY": self.durability,
            "PYTHONUNBUFFERED": "1",
        }

    @property
    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {ADMIN_TOKEN}"}

    def readiness(self) -> dict[str, Any]:
        status, body = http_get(self.port, "/readyz")
        if status != 200:
            raise RuntimeError(f"/readyz answered {status}: {body[:200]!r}")
        data: dict[str, Any] = json.loads(body)
        return data
