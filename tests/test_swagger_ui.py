"""Swagger UI at /docs renders the OpenAPI 3.1 document in a real browser, with local assets."""

from __future__ import annotations

import subprocess
import tempfile

from tests.sdk_support import CHROMIUM, missing
from tests.server import ServerProcess


def test_swagger_ui_renders_every_operation(server: ServerProcess) -> None:
    if not CHROMIUM.exists():
        missing(f"chromium not found at {CHROMIUM}")
    with tempfile.TemporaryDirectory() as profile:
        dom = subprocess.run(
            [
                str(CHROMIUM),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                f"--user-data-dir={profile}",
                "--virtual-time-budget=10000",
                "--dump-dom",
                f"{server.url}/docs",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout
    # Swagger UI 4 shows "Unable to render this definition" for OpenAPI 3.1.
    assert "Unable to render this definition" not in dom
    assert "OAS 3.1" in dom
    for summary in ("Create or replace a document", "Apply many ops atomically", "Revoke an"):
        assert summary in dom
    assert "cdn" not in dom.lower()
