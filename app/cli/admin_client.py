"""The admin API from the command line, for when the server is running.

LevelDB allows one process per data directory, so while the server runs the
CLI cannot open the store itself; it asks the server instead, with the admin
token (`LEVELSTREAM_ADMIN_TOKEN` or `<data dir>/admin.token`) at
`LEVELSTREAM_URL` (default: `http://$HOST:$PORT`, loopback for 0.0.0.0).
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from typing import Any

import orjson

from app.auth.bootstrap import TOKEN_FILE
from app.errors import Unavailable, ValidationFailed
from app.settings import Settings


def base_url() -> str:
    configured = os.environ.get("LEVELSTREAM_URL")
    if configured:
        return configured.rstrip("/")
    host = os.environ.get("HOST", "127.0.0.1")
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    return f"http://{host}:{os.environ.get('PORT', '8000')}"


def admin_token(settings: Settings) -> str:
    if settings.admin_token:
        return settings.admin_token
    path = settings.data_dir / TOKEN_FILE
    try:
        return path.read_text(encoding="ascii").strip()
    except OSError:
        raise Unavailable(
            f"the server is running: set LEVELSTREAM_ADMIN_TOKEN (no {path} to read)"
        ) from None


def call(method: str, path: str, body: Any = None) -> Any:
    """One admin API call; a refusal raises with the problem's detail."""
    settings = Settings()
    request = urllib.request.Request(  # noqa: S310 - an http(s) URL we build
        base_url() + path,
        method=method,
        data=orjson.dumps(body) if body is not None else None,
        headers={
            "Authorization": f"Bearer {admin_token(settings)}",
            "Content-Type": "application/json",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            raw = response.read()
    except urllib.error.HTTPError as exc:
        try:
            detail = orjson.loads(exc.read()).get("detail", exc.reason)
        except ValueError:
            detail = exc.reason
        raise ValidationFailed(f"the server refused: {detail}") from None
    except urllib.error.URLError as exc:
        raise Unavailable(f"cannot reach the server at {base_url()}: {exc.reason}") from None
    return orjson.loads(raw) if raw else None
