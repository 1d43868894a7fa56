"""The JS SDK's browser bundle in a real browser: Debian's chromium, driven by
playwright-core, loads dist/levelstream.browser.js in a small page served by this
test (another origin than the server's: CORS and the WebSocket Origin check apply),
subscribes, and shows a change written through REST, over WebSocket and over the
EventSource fallback."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.sdk_support import CHROMIUM, JS_DIR, built_js_sdk, chromium
from tests.server import ADMIN_TOKEN, ServerProcess


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def page_server() -> Iterator[str]:
    """clients/js over HTTP on loopback: the page and the bundle."""
    handler = functools.partial(QuietHandler, directory=str(JS_DIR))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_browser_bundle_subscribes_and_shows_a_rest_write(tmp_path: Path, page_server: str) -> None:
    node = built_js_sdk()
    chromium()
    server = ServerProcess(tmp_path / "data", LEVELSTREAM_ALLOWED_ORIGINS=page_server).start()
    try:
        with server.client() as client:
            assert client.put("/v1/collections/desk/docs/seed", json={"seed": True}).is_success
        for transport in ("websocket", "sse"):
            result = subprocess.run(
                [
                    node,
                    "test/browser.mjs",
                    f"{page_server}/test/browser/index.html",
                    server.url,
                    ADMIN_TOKEN,
                    "desk",
                    transport,
                ],
                cwd=JS_DIR,
                env={**os.environ, "CHROMIUM": str(CHROMIUM), "HOME": str(tmp_path)},
                capture_output=True,
                text=True,
                timeout=90,
            )
            assert result.returncode == 0, result.stdout + result.stderr
            outcome = json.loads(result.stdout.strip().splitlines()[-1])
            assert outcome["ok"], outcome
            assert f'"via":"{transport}"' in outcome["shown"]
            expected = "live via sse" if transport == "sse" else "live via websocket"
            assert outcome["status"] == expected, outcome
            assert outcome["items"] >= 2  # the snapshot's seed, then the live change
    finally:
        server.stop()
