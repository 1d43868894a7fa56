"""Disk full: writes refused cleanly (503 `unavailable`), reads and subscriptions go on, recovery.

The data directory is a small tmpfs. Under load from writers and WS/SSE
subscribers a filler file takes every free byte: writes must then answer 503
problem details with code `unavailable` (the checker proves each refused write
absent from the log), reads keep answering, `/readyz` says not ready, the
server stays up. Once the filler is gone writes succeed again by themselves;
after a restart the checker finds every acknowledged write, and subscribers
exact.
"""

from __future__ import annotations

import os
import random
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.helpers import assert_problem
from tests.history.campaign import Campaign, rounds
from tests.server import ServerProcess

ROUNDS = rounds(ci=2, soak_scale=2)
SIZE = "16m"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("the disk-full test mounts a tmpfs: CI=true must run it as root")
        pytest.skip("the disk-full test mounts a tmpfs (root only)")
    data = tmp_path / "data"
    data.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={SIZE}", "tmpfs", str(data)], check=True)
    try:
        yield data
    finally:
        subprocess.run(["umount", "-l", str(data)], check=False)


def fill(path: Path) -> None:
    """Take every free byte of the file system `path` is on."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for chunk in (1 << 20, 65536, 4096, 512, 1):
            try:
                while os.write(fd, b"\0" * chunk):
                    pass
            except OSError:
                pass
    finally:
        os.close(fd)


def wait_for(check: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def resumed(campaign: Campaign, acknowledged: int) -> Callable[[], bool]:
    """Whether more than 10 further writes were acknowledged since `acknowledged`."""
    return lambda: sum(w.outcome == "ok" for w in campaign.history.writes) > acknowledged + 10


def test_a_full_disk_refuses_writes_cleanly_and_recovers(small_disk: Path) -> None:
    rng = random.Random(507)
    server = ServerProcess(small_disk, LEVELSTREAM_DURABILITY="sync")
    campaign = Campaign(server, "full", seed=rng.randrange(2**32))
    server.start()
    campaign.started()
    filler = small_disk / "filler"
    try:
        for _ in range(ROUNDS):
            with campaign.writing(), server.client() as client:
                time.sleep(rng.uniform(0.2, 0.6))
                campaign.mark("fault")
                fill(filler)
                # Refused, with the contract's problem, while the disk stays full.
                wait_for(lambda: client.get("/readyz").status_code == 503, "/readyz stayed ready")
                response = client.put("/v1/collections/full/docs/probe", json={"id": "probe"})
                problem = assert_problem(response, response.status_code, "unavailable")
                assert problem["status"] in (503, 507)
                assert client.get("/healthz").status_code == 200
                listing = client.get("/v1/collections/full/docs", params={"limit": 5})
                assert listing.status_code == 200 and listing.json()["items"]
                time.sleep(rng.uniform(0.3, 1.0))  # writers and subscribers go on meanwhile
                filler.unlink()
                freed = campaign.mark("recovered")
                wait_for(lambda: client.get("/readyz").status_code == 200, "never ready again")
                wait_for(
                    resumed(campaign, sum(w.outcome == "ok" for w in campaign.history.writes)),
                    "writes did not resume by themselves",
                )
                campaign.recovered.append(campaign.first_ack_after(freed))
            assert server.proc is not None and server.proc.poll() is None, "the server died"
        campaign.verdict().assert_ok()
        server.stop()
        server.start()
        campaign.started()
        report = campaign.verdict(final=True)
        campaign.save("disk full", ROUNDS, report)
        report.assert_ok()
        assert campaign.statuses.get(503, 0) + campaign.statuses.get(507, 0) > 0
        assert report.writes["ok"] >= 50 and report.deliveries >= report.changes
    finally:
        if server.proc is not None:
            server.kill()
        filler.unlink(missing_ok=True)
