"""The data directory is its owner's only: 0700, and every file the server keeps in it
(LevelDB's tables, logs and manifest, the generated secrets) 0600, also when the
directory existed before with looser modes."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from tests.security_helpers import Ledger, uid
from tests.server import ServerProcess


def _modes(data_dir: Path) -> dict[str, int]:
    found = {".": stat.S_IMODE(data_dir.stat().st_mode)}
    for path in data_dir.rglob("*"):
        found[str(path.relative_to(data_dir))] = stat.S_IMODE(path.lstat().st_mode)
    return found


def test_data_files_are_readable_by_their_owner_only(tmp_path: Path, sec_ledger: Ledger) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o755)
    os.chmod(data_dir, 0o755)
    (data_dir / "stale.txt").write_text("left by hand\n")
    os.chmod(data_dir / "stale.txt", 0o644)
    # No LEVELSTREAM_JWT_SECRET: the server generates jwt.secret into the data dir.
    proc = ServerProcess(data_dir)
    proc.env.pop("LEVELSTREAM_JWT_SECRET", None)
    sec_ledger.watch(proc)
    proc.start()
    try:
        with proc.client() as client:
            collection = uid("modes")
            for i in range(50):
                put = client.put(f"/v1/collections/{collection}/docs/k{i}", json={"i": i})
                assert put.status_code == 201
        modes = _modes(data_dir)  # while it runs: LevelDB's log and lock are open
    finally:
        proc.stop()
    modes.update(_modes(data_dir))  # and what a clean close wrote
    assert "jwt.secret" in modes and "db/CURRENT" in modes, sorted(modes)
    assert any(name.startswith("db/MANIFEST") for name in modes), sorted(modes)
    loose = {
        name: oct(mode)
        for name, mode in modes.items()
        if mode != (0o700 if (data_dir / name).is_dir() else 0o600)
    }
    assert loose == {}
