"""`LEVELSTREAM_DURABILITY`: `sync` fsyncs the write-ahead log before a write is acknowledged.

The real server runs as usual; `strace` attaches to it and records every
`write`, `fdatasync` and `fsync` with its thread, timestamp and file. Several
clients write concurrently, each document under a unique key that shows up in
the bytes LevelDB appends to its log. For each acknowledged write the test
finds the log append that carried it and requires a completed sync of the log,
by the same thread, after that append and before the client got its answer.
With `async` the same writes reach the log and no sync of it happens at all.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.server import ServerProcess

WRITERS = 6
WRITES_EACH = 25
STRACE_ATTACH_TIMEOUT_S = 20
COLL = "durable"
# The LevelDB write-ahead log: <data dir>/db/<number>.log (the server's own log is elsewhere).
WAL_RE = re.compile(r"/db/\d+\.log>")
LINE_RE = re.compile(
    r"^(?P<tid>\d+) +(?P<ts>\d+\.\d+) +"
    r"(?:<\.\.\. (?P<resumed>\w+) resumed>.*|(?P<call>\w+)\((?P<args>.*))$"
)
DURATION_RE = re.compile(r"<(\d+\.\d+)>$")


def strace_binary() -> str:
    path = shutil.which("strace")
    if path is None:
        message = "strace is not installed (apt-get install strace; `make test` does as root)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{message}: CI=true must test durability", pytrace=False)
        pytest.skip(message)
    return path


@dataclass
class Syscall:
    tid: int
    name: str
    start: float
    end: float
    args: str  # the call's arguments as strace printed them (file paths with -y)


def parse_trace(text: str) -> list[Syscall]:
    """strace -f -ttt -T -y output, with calls split across threads joined back."""
    calls: list[Syscall] = []
    pending: dict[int, Syscall] = {}
    for line in text.splitlines():
        match = LINE_RE.match(line)
        if match is None:
            continue  # signals, exits, attach notes
        tid, ts = int(match["tid"]), float(match["ts"])
        if match["resumed"]:
            call = pending.pop(tid, None)
            if call is not None:
                call.end = ts
                calls.append(call)
            continue
        call = Syscall(tid, match["call"], ts, ts, match["args"])
        if line.endswith("<unfinished ...>"):
            pending[tid] = call
            continue
        duration = DURATION_RE.search(line)
        call.end = ts + (float(duration[1]) if duration else 0.0)
        calls.append(call)
    return calls


@dataclass
class Ack:
    key: str
    sent: float
    acked: float


def write_concurrently(server: ServerProcess, run: str) -> list[Ack]:
    """WRITERS threads PUT WRITES_EACH documents each; every answer's timing."""
    acks: list[Ack] = []
    lock = threading.Lock()
    errors: list[str] = []

    def writer(n: int) -> None:
        with server.client() as http:
            for i in range(WRITES_EACH):
                key = f"{run}w{n:02d}i{i:04d}z"
                sent = time.time()
                response = http.put(f"/v1/collections/{COLL}/docs/{key}", json={"n": i})
                acked = time.time()
                if response.status_code != 201:
                    errors.append(response.text)
                    return
                with lock:
                    acks.append(Ack(key, sent, acked))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors[:3]
    return acks


@pytest.fixture
def traced(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[ServerProcess, Path]]:
    """A server with the requested durability, under strace from a warm-up write on."""
    strace = strace_binary()
    server = ServerProcess(
        tmp_path / "data", LEVELSTREAM_DURABILITY=request.param, LEVELSTREAM_ACCESS_LOG="false"
    ).start()
    trace_path = tmp_path / "strace.txt"
    assert server.proc is not None
    # -y names each fd's file; -s shows whole appends (the keys are in them).
    options = ["-f", "-ttt", "-T", "-y", "-s", "1000000", "-e", "trace=write,fdatasync,fsync"]
    tracer = subprocess.Popen(
        [strace, *options, "-o", str(trace_path), "-p", str(server.proc.pid)],
        stderr=subprocess.DEVNULL,
    )
    try:
        # Attached to every thread once a write made now shows up in the trace.
        deadline = time.monotonic() + STRACE_ATTACH_TIMEOUT_S
        with server.client() as http:
            while True:
                marker = f"warmup{time.monotonic_ns()}"
                assert http.put(f"/v1/collections/{COLL}/docs/{marker}", json={}).status_code == 201
                time.sleep(0.1)
                if trace_path.exists() and marker in trace_path.read_text(errors="replace"):
                    break
                assert tracer.poll() is None, "strace exited: cannot trace the server"
                assert time.monotonic() < deadline, "strace never saw the server's writes"
        yield server, trace_path
    finally:
        tracer.send_signal(signal.SIGINT)  # detaches; the server goes on
        tracer.wait(20)
        server.stop()


def wal_appends(calls: list[Syscall], key: str) -> list[Syscall]:
    return [c for c in calls if c.name == "write" and WAL_RE.search(c.args) and key in c.args]


def wal_syncs(calls: list[Syscall]) -> list[Syscall]:
    return [c for c in calls if c.name in ("fdatasync", "fsync") and WAL_RE.search(c.args)]


def trace_after_writes(trace_path: Path, acks: list[Ack]) -> list[Syscall]:
    """The parsed trace once the last acknowledged write's append is in it."""
    last = max(acks, key=lambda a: a.acked).key
    for _ in range(100):  # strace writes its file as it goes
        calls = parse_trace(trace_path.read_text(errors="replace"))
        if wal_appends(calls, last):
            return calls
        time.sleep(0.1)
    raise AssertionError(f"the append of {last} never showed up in the trace")


@pytest.mark.parametrize("traced", ["sync"], indirect=True)
def test_sync_acknowledges_only_after_the_log_is_synced(
    traced: tuple[ServerProcess, Path],
) -> None:
    server, trace_path = traced
    acks = write_concurrently(server, "s")
    calls = trace_after_writes(trace_path, acks)
    syncs = wal_syncs(calls)
    assert syncs, "no fdatasync/fsync of the LevelDB log at all"
    for ack in acks:
        appends = wal_appends(calls, ack.key)
        assert appends, f"{ack.key} was acknowledged but never appended to the log"
        append = appends[0]
        covering = [
            s
            for s in syncs
            if s.tid == append.tid and s.start >= append.start and s.end <= ack.acked
        ]
        assert covering, (
            f"{ack.key} was acknowledged at {ack.acked:.6f} without a completed sync of "
            f"the log after its append at {append.start:.6f}"
        )
    # Group commit: concurrent writers share syncs (not a bound on it, only that it ran).
    assert len(acks) == WRITERS * WRITES_EACH


@pytest.mark.parametrize("traced", ["async"], indirect=True)
def test_async_acknowledges_without_syncing_the_log(
    traced: tuple[ServerProcess, Path],
) -> None:
    server, trace_path = traced
    acks = write_concurrently(server, "a")
    calls = trace_after_writes(trace_path, acks)
    for ack in acks:
        assert wal_appends(calls, ack.key), f"{ack.key} never reached the log"
    assert wal_syncs(calls) == [], "async durability synced the log"
