"""A FUSE file system that can lose power: what is not fsynced is gone.

Passes everything through to a backing directory, but only what was made durable:
file data reaches the backing file on `fsync`/`fdatasync` of that file, and
directory entries (create, rename, unlink, mkdir) on `fsync` of their directory.
Until then they live in this process's memory. On SIGUSR1 ("power loss") that
memory is dropped and every later request fails with EIO; a new mount of the
same backing directory then shows exactly what was durable. A file whose data
was synced before its directory entry was lives in `.orphans/` meanwhile, as an
inode with no name would on a real disk, and is gone after a power loss.

The file system runs in its own process (tests/history/powerfs_server.py, root
and /dev/fuse); `PowerFs` below mounts it for a test. SIGTERM unmounts after
syncing everything (a clean shutdown).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ORPHANS = ".orphans"


@dataclass
class Node:
    ino: int
    is_dir: bool
    mode: int
    backing: str | None  # where its durable self is in the backing directory, if anywhere
    entries: dict[bytes, int] | None = None  # a directory's names as seen (None: not loaded)
    data: bytearray | None = None  # a file's content as seen, once written (None: = backing)
    dirty: int | None = None  # the lowest offset written since the last sync
    mtime_ns: int = field(default_factory=time.time_ns)


class PowerFs:
    """Mount, cut power and unmount the file system above, from a test."""

    def __init__(self, backing: Path, mountpoint: Path) -> None:
        self.backing, self.mountpoint = backing, mountpoint
        self.proc: subprocess.Popen[bytes] | None = None
        self.powered = False

    def mount(self) -> PowerFs:
        self.backing.mkdir(parents=True, exist_ok=True)
        self.mountpoint.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.history.powerfs_server",
                str(self.backing),
                str(self.mountpoint),
            ],
            cwd=Path(__file__).resolve().parents[2],
            stdout=subprocess.PIPE,
        )
        deadline = time.monotonic() + 20
        while not os.path.ismount(self.mountpoint):
            assert self.proc.poll() is None, "the FUSE file system exited"
            assert time.monotonic() < deadline, "the FUSE file system did not mount"
            time.sleep(0.02)
        self.powered = True
        return self

    def cut_power(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        self.proc.send_signal(signal.SIGUSR1)
        assert self.proc.stdout.readline() == b"power lost\n"
        self.powered = False

    def unmount(self) -> None:
        """Unmount; after `cut_power` nothing more reaches the backing directory."""
        assert self.proc is not None
        if self.powered:
            self.proc.send_signal(signal.SIGTERM)  # syncs everything, then unmounts
        else:
            subprocess.run(["umount", "-l", str(self.mountpoint)], check=False, capture_output=True)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(20)
        self.proc = None
        self.powered = False
