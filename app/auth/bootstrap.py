"""The bootstrap admin credential.

From `LEVELSTREAM_ADMIN_TOKEN` when set; otherwise the first start makes one,
prints it once on the terminal (not through the logger) and keeps it in
`<data dir>/admin.token`, mode 0600, so later starts reuse it.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

TOKEN_FILE = "admin.token"


def admin_token(configured: str | None, data_dir: Path) -> str:
    if configured:
        return configured
    path = data_dir / TOKEN_FILE
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    token = "lsa_" + secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(token + "\n")
    print(
        f"Levelstream: created the admin token (shown once; also in {path}):\n  {token}",
        file=sys.stderr,
        flush=True,
    )
    return token
