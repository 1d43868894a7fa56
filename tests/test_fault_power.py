"""Power loss: in `sync` mode no acknowledged write is lost; `async` loses some (the test can tell).

The server's data directory is on a FUSE file system (tests/history/powerfs.py)
that keeps everything not fsynced -- file data and directory entries -- in
memory. Writers and subscribers run; at a random moment the power is cut (that
memory is dropped, every later I/O fails), the server is killed, the file system
remounted from what was durable, and the server started again. The history
checker then judges the whole history: in `sync` mode nothing acknowledged may
be missing and the log must be gap-free; in `async` mode acknowledged writes go
missing (while the log stays a gap-free prefix).
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.history.campaign import Campaign, rounds
from tests.history.checker import Report
from tests.history.powerfs import PowerFs
from tests.server import ServerProcess


def fuse_available() -> None:
    missing = None
    if os.geteuid() != 0 or not os.path.exists("/dev/fuse"):
        missing = "root and /dev/fuse"
    else:
        try:
            import pyfuse3  # noqa: F401
        except ImportError:
            missing = "pyfuse3 (the dev extra; libfuse3-dev to build it)"
    if missing is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"the power-loss test needs {missing}: CI=true must run it", pytrace=False)
        pytest.skip(f"the power-loss test needs {missing}")


@pytest.fixture
def powerfs(tmp_path: Path) -> Iterator[PowerFs]:
    fuse_available()
    fs = PowerFs(tmp_path / "backing", tmp_path / "data")
    yield fs
    if fs.proc is not None:
        fs.unmount()


def power_loss_rounds(fs: PowerFs, durability: str, count: int, seed: int) -> Report:
    rng = random.Random(seed)
    server = ServerProcess(fs.mountpoint, LEVELSTREAM_DURABILITY=durability)
    # In async mode seqs are reused after a power loss: subscribers would be judged on
    # changes the log no longer has; the writers' history shows the losses.
    campaign = Campaign(server, "power", seed=seed, subscribers=durability == "sync")
    fs.mount()
    server.start()
    campaign.started()
    try:
        for _ in range(count):
            with campaign.writing():
                time.sleep(rng.uniform(0.2, 0.8))
                cut = campaign.mark("fault")
                fs.cut_power()
                server.kill()
            fs.unmount()
            fs.mount()
            server.start()
            campaign.recovered.append(campaign.mark("recovered") - cut)  # remounted, ready
            campaign.started()
        report = campaign.verdict(final=durability == "sync")
        campaign.save(f"power loss {durability}", count, report, expect_loss=durability == "async")
        return report
    finally:
        if server.proc is not None:
            server.kill()


def test_sync_mode_loses_no_acknowledged_write_at_power_loss(powerfs: PowerFs) -> None:
    report = power_loss_rounds(powerfs, "sync", rounds(ci=3, soak_scale=4), seed=18)
    report.assert_ok()
    assert report.writes["ok"] >= 50 and report.deliveries > 0


def test_async_mode_loses_acknowledged_writes_at_power_loss(powerfs: PowerFs) -> None:
    report = power_loss_rounds(powerfs, "async", rounds(ci=2, soak_scale=4), seed=81)
    assert report.lost > 0, report.summary()
    # What survives is still a whole log: a gap-free prefix of what was acknowledged.
    assert report.violations["log"] == [], report.summary()


def bearer(server: ServerProcess, token: str) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers=server.headers(token), timeout=30)


def test_secrets_made_at_first_start_survive_a_power_loss(powerfs: PowerFs) -> None:
    # No configured admin token or JWT secret: the first start makes both and keeps them
    # in the data directory. A power loss right after must not take them: a new admin
    # token or JWT secret would lock out every client holding a token.
    server = ServerProcess(powerfs.mountpoint)
    del server.env["LEVELSTREAM_ADMIN_TOKEN"]
    powerfs.mount()
    server.start()
    try:
        admin = (powerfs.mountpoint / "admin.token").read_text().strip()
        with bearer(server, admin) as client:
            minted = client.post("/v1/auth/token", json={"sub": "ada", "ttl_s": 3600})
        assert minted.status_code == 200, minted.text
        jwt = minted.json()["token"]
        powerfs.cut_power()
        server.kill()
        powerfs.unmount()
        powerfs.mount()
        server.start()
        for token in (admin, jwt):
            with bearer(server, token) as client:
                assert client.get("/v1/collections").status_code == 200
    finally:
        if server.proc is not None:
            server.kill()
