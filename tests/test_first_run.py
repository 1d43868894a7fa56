"""What a new user meets on the first `make run`: `.env` sets where it listens, and a
second server on the same data directory says so in one line and exits."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from app.store.leveldb import LevelStore
from tests.server import ADMIN_TOKEN, ROOT, ServerProcess, free_port


def serve_env(**extra: str) -> dict[str, str]:
    """The test's environment without HOST/PORT, so only what the test gives counts."""
    env = {k: v for k, v in os.environ.items() if k not in ("HOST", "PORT")}
    return {**env, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", **extra}


def test_dotenv_sets_host_and_port(tmp_path: Path) -> None:
    """README: HOST and PORT may come from `.env` (as `make run` runs `levelstream serve`)."""
    port = free_port()
    (tmp_path / ".env").write_text(
        f"HOST=127.0.0.1\nPORT={port}\nLEVELSTREAM_DATA_DIR={tmp_path / 'data'}\n"
        f"LEVELSTREAM_ADMIN_TOKEN={ADMIN_TOKEN}\n"
    )
    log = (tmp_path / "server.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve"],
        cwd=tmp_path,
        env=serve_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        ready = False
        while not ready and proc.poll() is None and time.monotonic() < deadline:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).is_success
            except httpx.HTTPError:
                time.sleep(0.1)
        assert ready, (tmp_path / "server.log").read_text(errors="replace")[-2000:]
        assert (tmp_path / "data" / "db").is_dir()  # and LEVELSTREAM_ settings from it too
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)
        log.close()


def test_a_second_server_on_the_same_data_dir_says_so_in_one_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = ServerProcess(data).start()
    try:
        second = subprocess.run(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(free_port())],
            cwd=ROOT,
            env=serve_env(LEVELSTREAM_DATA_DIR=str(data), LEVELSTREAM_ADMIN_TOKEN=ADMIN_TOKEN),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode != 0
        output = (second.stdout + second.stderr).strip().splitlines()
        assert output == [
            f"error: data directory {data} is in use by another Levelstream process"
        ], output
        with first.client() as client:  # the first one is unharmed
            assert client.get("/readyz").is_success
    finally:
        first.stop()


# A child that opens the LevelDB at argv[1] with the driver the store uses: "opened"
# when it could (so two processes would hold one database), else LevelDB's refusal.
_OPEN_FROM_ANOTHER_PROCESS = """
import sys
from app.store.leveldb_driver import plyvel
try:
    plyvel.DB(sys.argv[1]).close()
    print("opened")
except plyvel.IOError as exc:
    print(exc)
"""


def test_a_second_open_in_the_same_process_keeps_the_database_locked(tmp_path: Path) -> None:
    """A second open in the process that holds the database is refused before LevelDB is
    asked: LevelDB's own refusal opens and closes LOCK, and that close drops the process's
    fcntl lock on it, so another process could then open the database beside this one."""
    path = tmp_path / "db"
    store = LevelStore(path)
    try:
        with pytest.raises(RuntimeError, match="already open in this process"):
            LevelStore(path)
        child = subprocess.run(
            [sys.executable, "-c", _OPEN_FROM_ANOTHER_PROCESS, str(path)],
            cwd=ROOT,
            env=serve_env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert child.returncode == 0, child.stderr
        assert "opened" not in child.stdout
        assert "LOCK" in child.stdout, child.stdout
    finally:
        asyncio.run(store.close())
    again = LevelStore(path)  # closed, it may be opened here again
    asyncio.run(again.close())
