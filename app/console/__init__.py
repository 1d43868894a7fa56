"""The live web console at `/console`, served with its assets from this package.

One page (`static/index.html`) with its script, stylesheet and icon, and a copy of
the JS SDK's browser bundle (`static/levelstream.browser.js`, refreshed by
`make console-bundle`, checked against a fresh build by `make console-check`): no
CDN, and nothing to build at run time, so `make run` and a pip-installed package
serve the same files.

The page talks only to its own origin, and it says so: a strict
Content-Security-Policy (scripts from files of this origin only, no inline
script or style, `connect-src 'self'` for REST and the WebSocket, no form
submissions, no framing) on the page and on every asset.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

STATIC = Path(__file__).resolve().parent / "static"
PAGE = "/console"
ASSETS = "/console/static"

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",  # REST and ws:// or wss:// to this origin only
        "base-uri 'none'",
        "form-action 'none'",  # forms are handled by script: a token never lands in a URL
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


class ConsoleAssets(StaticFiles):
    """The console's files, each answered with the console's security headers."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.update(SECURITY_HEADERS)
        return response


def install(app: FastAPI) -> None:
    app.mount(ASSETS, ConsoleAssets(directory=STATIC), name="console")
    page = (STATIC / "index.html").read_bytes()

    @app.get(PAGE, include_in_schema=False)
    async def console() -> Response:
        return Response(
            page,
            media_type="text/html; charset=utf-8",
            headers={**SECURITY_HEADERS, "Cache-Control": "no-store"},
        )
