"""Secrets the server makes for itself and keeps in the data directory (mode 0600)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path


def read_or_create(path: Path, make: Callable[[], str]) -> tuple[str, bool]:
    """The secret in `path`, or a new one from `make()` written there; (secret, created)."""
    if path.exists():
        return path.read_text(encoding="ascii").strip(), False
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = make()
    # O_EXCL with mode 0600: never readable by others, never overwriting another's.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(secret + "\n")
    return secret, True
