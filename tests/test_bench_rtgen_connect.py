"""The real-time load generator's connect step (bench.rtgen.gen.Gen.connect), under uvloop
as `python -m bench.rtgen` runs it.

A subscriber counts once the server has answered its `subscribe`; a refused
upgrade, a refused connection or a ramp that outlives its one deadline is a
failure, never a subscriber, and never hangs the step.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

import pytest
import uvloop

from bench.rtgen.gen import MAX_RAMPS, Gen
from tests.server import ADMIN_TOKEN, ServerProcess


def spec(port: int, token: str = ADMIN_TOKEN) -> dict[str, Any]:
    # The probes read the server's CPU and RSS from /proc; any live process will do where
    # none of them is asserted.
    return {"port": port, "proto": "ws", "flavor": "ls", "token": token, "server_pid": os.getpid()}


def connect(gen: Gen, **step: Any) -> dict[str, Any]:
    async def run() -> dict[str, Any]:
        try:
            result: dict[str, Any] = await gen.connect(**step)
            result["ready"] = [s.ready and not s.gone for s in gen.tracker.subs]
            return result
        finally:
            gen.close()

    return uvloop.run(run())


def test_every_subscriber_counts_once_its_subscribe_is_answered(
    leveldb_server: ServerProcess,
) -> None:
    gen = Gen({**spec(leveldb_server.port), "server_pid": leveldb_server.proc.pid})  # type: ignore[union-attr]
    result = connect(gen, total=30, concurrency=7, settle_s=0.0)
    assert (result["added"], result["failures"], result["total"]) == (30, 0, 30)
    assert result["ready"] == [True] * 30


def test_a_refused_upgrade_is_a_failure_not_a_subscriber(leveldb_server: ServerProcess) -> None:
    gen = Gen(spec(leveldb_server.port, token="not-a-token"))
    result = connect(gen, total=10, concurrency=2, max_failures=3, settle_s=0.0)
    assert result["added"] == 0
    assert result["total"] == 0
    assert result["failures"] >= 3
    # Refused by the close frame (4001), not left open until the ramp's deadline.
    assert "close code 4001" in result["first_error"]


def test_a_refused_connection_is_a_failure() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, never listening: connections are refused
        result = connect(Gen(spec(port)), total=5, concurrency=2, max_failures=4, settle_s=0.0)
    assert (result["added"], result["total"]) == (0, 0)
    assert result["failures"] >= 4
    assert "ConnectionRefusedError" in result["first_error"]


def test_what_is_still_opening_at_the_ramps_deadline_fails_and_is_closed() -> None:
    # A listener that never accepts, with a backlog of one: the kernel completes the TCP
    # handshake of the first connections, which then wait for an answer to the WebSocket
    # upgrade that never comes; the SYNs of the rest are dropped, so they wait to connect.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        gen = Gen(spec(silent.getsockname()[1]))
        result = connect(gen, total=8, concurrency=4, settle_s=0.0, deadline_s=0.5)
    assert (result["added"], result["total"]) == (0, 0)
    assert result["failures"] == 4  # the four opening when the deadline struck
    assert "deadline" in result["first_error"]
    assert gen.tracker.subs == []


def test_a_minimum_window_repeats_the_ramp_and_keeps_only_the_last(tmp_path: Path) -> None:
    # W6's accept rate over at least `min_window_s` of ramps: the ramp's connections are
    # aborted and opened again; the rate is over every ramp, the memory the first ramp's,
    # and afterwards the server holds what one ramp opened, all of them subscribed.
    server = ServerProcess(tmp_path / "data").start()
    try:
        gen = Gen({**spec(server.port), "server_pid": server.proc.pid})  # type: ignore[union-attr]

        async def run() -> tuple[dict[str, Any], float]:
            try:
                result = await gen.connect(total=40, concurrency=8, settle_s=0.0, min_window_s=60)
                async with server.async_client() as client:
                    metrics = (await client.get("/metrics")).text
                return result, _sample(metrics, "levelstream_connections", transport="ws")
            finally:
                gen.close()

        result, held = uvloop.run(run())
    finally:
        server.stop()
    assert result["ramps"] == MAX_RAMPS  # 60 s is out of reach: the ramps stop at their cap
    assert result["per_s_by_ramp"] and len(result["per_s_by_ramp"]) == MAX_RAMPS
    assert (result["accepted"], result["added"], result["failures"]) == (40 * MAX_RAMPS, 40, 0)
    assert result["per_s"] == pytest.approx(result["accepted"] / result["seconds"], rel=0.01)
    assert result["total"] == 40 and len(gen.tracker.subs) == 40
    assert held == 40
    assert gen.tracker.disconnects == 0  # an aborted subscriber is dropped, not lost


def test_a_minimum_window_one_ramp_already_fills_is_not_repeated(
    leveldb_server: ServerProcess,
) -> None:
    gen = Gen({**spec(leveldb_server.port), "server_pid": leveldb_server.proc.pid})  # type: ignore[union-attr]
    result = connect(gen, total=5, concurrency=2, settle_s=0.0, min_window_s=0.000001)
    assert (result["ramps"], result["accepted"], result["total"]) == (1, 5, 5)


def _sample(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0
