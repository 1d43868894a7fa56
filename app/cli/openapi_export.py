"""The OpenAPI document, built by importing the app: no server, no data directory."""

from __future__ import annotations

import tempfile
from pathlib import Path

import orjson

from app.main import create_app
from app.settings import Settings


def openapi_json() -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        # Placeholders, so building the app writes no secret anywhere.
        settings = Settings(
            data_dir=Path(tmp),
            admin_token="unused-for-export",  # noqa: S106 - a placeholder
            jwt_secret="unused-for-export",  # noqa: S106 - a placeholder
        )
        document = create_app(settings).openapi()
    return orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"
