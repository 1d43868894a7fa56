"""Data directories for benchmark targets: on the real disk, fresh per cell, removed after."""

from __future__ import annotations

import itertools
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# fsync on these costs nothing, so a durable-mode figure measured there would lie.
_MEMORY_FS = {"tmpfs", "ramfs", "devtmpfs", "overlay-tmpfs"}


def fs_type(path: Path) -> str:
    """The file-system type holding `path`, from /proc/mounts ("?" when unknown)."""
    try:
        lines = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return "?"
    target = os.path.realpath(path)
    best, best_type = "", "?"
    for line in lines:
        parts = line.split()
        if len(parts) < 3:
            continue
        mount = parts[1].replace("\\040", " ")
        inside = target == mount or target.startswith(mount.rstrip("/") + "/")
        if inside and len(mount) > len(best):
            best, best_type = mount, parts[2]
    return best_type


class Scratch:
    """One temporary root; `fresh(name)` hands out a new, empty directory under it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.fs = fs_type(root)
        self._counter = itertools.count(1)

    def fresh(self, name: str) -> Path:
        path = self.root / f"{next(self._counter):03d}-{name}"
        path.mkdir()
        return path

    def discard(self, path: Path) -> None:
        shutil.rmtree(path, ignore_errors=True)


@contextmanager
def scratch(parent: Path | None) -> Iterator[Scratch]:
    root = Path(tempfile.mkdtemp(prefix="levelstream-bench-", dir=parent))
    try:
        area = Scratch(root)
        if area.fs in _MEMORY_FS:
            print(
                f"warning: {root} is on {area.fs}: fsync is free there, durable figures "
                "mean nothing; set BENCH_TMPDIR to a directory on a real disk",
                file=sys.stderr,
            )
        yield area
    finally:
        shutil.rmtree(root, ignore_errors=True)
