"""A real Levelstream server in a subprocess, on a loopback port, for end-to-end tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
ADMIN_TOKEN = "lsa_test_admin_token_0123456789abcdef"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _PortTaken(Exception):
    pass


class ServerProcess:
    """Start, stop, SIGKILL and restart one server on one data directory."""

    def __init__(self, data_dir: Path, **env: str) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.env = {
            **os.environ,
            "LEVELSTREAM_DATA_DIR": str(data_dir),
            "LEVELSTREAM_ADMIN_TOKEN": ADMIN_TOKEN,
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        self.log_path = data_dir.parent / f"{data_dir.name}.server.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_once = False
        self.starts = 0  # processes that became ready: which one served what, on a failure
        self.run_log_start = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def headers(self, token: str = ADMIN_TOKEN) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def start(self, timeout: float = 30) -> ServerProcess:
        """Start and wait until ready.

        The port was free when picked, but another socket (a client's ephemeral
        port) can take it before the server binds: then a first start moves to a
        fresh port, and a restart (whose clients know the port) tries it again.
        """
        attempts = 10
        for _ in range(attempts):
            try:
                return self._start_once(timeout)
            except _PortTaken:
                if self.started_once:
                    time.sleep(0.5)
                else:
                    self.port = free_port()
        raise RuntimeError(f"could not bind a port in {attempts} attempts")

    def _start_once(self, timeout: float) -> ServerProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log_start = self.log_path.stat().st_size if self.log_path.exists() else 0
        self.run_log_start = log_start  # where this process's lines begin
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child owns it
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(self.port)],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                output = self.log_path.read_bytes()[log_start:]
                if b"address already in use" in output:
                    self.proc = None
                    raise _PortTaken
                raise RuntimeError(f"server exited with {self.proc.returncode}: {self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    self.started_once = True
                    self.starts += 1
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"server did not become ready: {self.log_tail()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        code = self.proc.wait(timeout)
        self.proc = None
        return code

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def restart(self) -> ServerProcess:
        self.stop()
        return self.start()

    def run_log(self) -> str:
        """The log of the current (or last) server process only: a start retried on a
        taken port, or a restart, appends to the same file."""
        try:
            with self.log_path.open("rb") as log:
                log.seek(self.run_log_start)
                return log.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, n: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except FileNotFoundError:
            return ""

    def lifecycle_log(self, limit: int = 20_000) -> str:
        """The whole log (every process on this data directory) but the access lines of
        requests answered below 500: starts, stops, warnings and errors, in order."""
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return ""
        kept = [line for line in lines if '"method":' not in line or '"status":5' in line]
        return "\n".join(kept)[-limit:]

    def log_end(self, count: int = 12) -> str:
        """The head seq and the last `count` changes (seq, collection, key, op), or why not."""
        if self.proc is None or self.proc.poll() is not None:
            return "(the server is not running)"
        try:
            with self.client() as client:
                every = {"collection": "*"}
                head = client.get("/v1/changes", params=every).json()["head_seq"]
                since = max(head - count, 0)
                page = client.get("/v1/changes", params={**every, "since": since}).json()
        except (httpx.HTTPError, KeyError, ValueError) as exc:
            return f"(could not read the change log: {exc!r})"
        lines = [f"head_seq {head}"]
        for change in page.get("changes", []):
            where = f"{change.get('collection')}/{change.get('key')}"
            lines.append(f"{change.get('seq')} {where} {change.get('op')}")
        return "\n".join(lines)

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=self.headers(), timeout=30, **kwargs)

    def async_client(self, **kwargs: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, headers=self.headers(), timeout=30, **kwargs)
