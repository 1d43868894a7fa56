"""The bootstrap admin credential.

From `LEVELSTREAM_ADMIN_TOKEN` when set; otherwise the first start makes one,
prints it once on the terminal (not through the logger) and keeps it in
`<data dir>/admin.token`, mode 0600, so later starts reuse it.
"""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

from app.auth.secret_files import read_or_create

TOKEN_FILE = "admin.token"


def admin_token(configured: str | None, data_dir: Path) -> str:
    if configured:
        return configured
    path = data_dir / TOKEN_FILE
    token, created = read_or_create(path, lambda: "lsa_" + secrets.token_urlsafe(32))
    if not created:
        return token
    print(
        f"Levelstream: created the admin token (shown once; also in {path}):\n  {token}",
        file=sys.stderr,
        flush=True,
    )
    return token
