"""Secrets the server makes for itself and keeps in the data directory (mode 0600).

Written durably: a power loss right after the first start must not take the
secret (a new one would invalidate every token issued with the old), nor leave
an empty file. The secret goes to a temporary file that is fsynced, then renamed
to its name and the directory fsynced (rename, not link: not every file system
links). Two first starts racing on one data directory are refused by the
store's lock right after; the secret of the one that stays is the one on disk.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path


def read_or_create(path: Path, make: Callable[[], str]) -> tuple[str, bool]:
    """The secret in `path`, or a new one from `make()` written there; (secret, created)."""
    if path.exists():
        return path.read_text(encoding="ascii").strip(), False
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = make()
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    # O_EXCL with mode 0600: never readable by others, never overwriting another's.
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secret + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return secret, True
