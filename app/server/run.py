"""Running the app under uvicorn, with a graceful drain on SIGTERM.

Our protocols (app/server/http_protocol.py, app/server/ws_protocol.py) hook into private
code of uvicorn and websockets, written against the versions pinned in
pyproject.toml. At start `hooks_problem` checks those versions and the
private names the hooks use; where they do not fit (or
LEVELSTREAM_UVICORN_HOOKS=off), one log line says so and the server runs
on uvicorn's stock protocols, which `make test-stock-uvicorn` keeps correct.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import logging
import re
import signal
import socket
from types import FrameType
from typing import Any

import uvicorn
from starlette.types import ASGIApp

from app.api.services import started_services
from app.logs import configure_logging
from app.server import http_protocol, ws_protocol
from app.server.http_protocol import HttpProtocol
from app.server.ws_protocol import WebSocketProtocol
from app.settings import Settings

log = logging.getLogger("levelstream.server")

# The versions whose private code the hooks are written against (pinned in pyproject.toml).
HOOKED_VERSIONS = {"uvicorn": "0.54.0", "httptools": "0.9.0", "websockets": "17.4"}
HOOKS = "one-write HTTP responses, stream disconnect hook, WebSocket direct writes"


def hooks_problem(settings: Settings) -> str | None:
    """Why our hooks into uvicorn cannot be engaged, or None when they can."""
    if not settings.uvicorn_hooks:
        return "LEVELSTREAM_UVICORN_HOOKS=off"
    for name, tested in HOOKED_VERSIONS.items():
        installed = importlib.metadata.version(name)
        if installed != tested:
            return f"{name} {installed} is installed; they are written for {tested}"
    missing = http_protocol.internals_missing() + ws_protocol.internals_missing()
    if missing:
        return "private names they use are gone: " + ", ".join(missing)
    return None


class DrainingServer(uvicorn.Server):
    """On shutdown, first close real-time connections with 1001, then let uvicorn finish.

    uvicorn then waits for in-flight requests (writes included) and runs the
    lifespan shutdown, which stops the writer after its queue and closes the store.
    """

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        if sig == signal.SIGTERM:
            # The contract: a drained SIGTERM exits 0. uvicorn (0.29+) re-raises the
            # captured signal after shutdown, which would end the process by it.
            self._captured_signals = [s for s in self._captured_signals if s != signal.SIGTERM]

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        services = started_services(self.config.app)
        if services is not None:
            services.draining = True
            services.notifier.close()
            services.hub.close_all(1001, "server shutting down")
            # Let every connection put its close frame on the wire.
            for _ in range(50):
                if not services.hub.connections:
                    break
                await asyncio.sleep(0.02)
        await super().shutdown(sockets)


def uvicorn_config(
    app: ASGIApp, settings: Settings, host: str, port: int, *, hooks: bool = True, **overrides: Any
) -> uvicorn.Config:
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "workers": 1,
        "loop": "uvloop",
        # httptools, one write per sized response
        "http": HttpProtocol if hooks else "httptools",
        # Our own access log is redacted; uvicorn's prints query strings (tokens).
        "access_log": False,
        # X-Forwarded-For is judged by our trusted-proxy rules, never by uvicorn's
        # default trust of 127.0.0.1.
        "proxy_headers": False,
        "server_header": False,
        "ws": WebSocketProtocol if hooks else "websockets-sansio",
        "ws_max_size": settings.max_body_bytes,
        # No permessage-deflate: compressing every frame of a fan-out costs far more
        # CPU than the bandwidth it saves on the networks this serves, and it opens
        # the door to decompression bombs.
        "ws_per_message_deflate": False,
        "ws_ping_interval": settings.ws_ping_s,
        "ws_ping_timeout": settings.ws_ping_s,
        "timeout_graceful_shutdown": 10,
        "log_level": settings.log_level,
    }
    options.update(overrides)
    return uvicorn.Config(app, **options)


class RedactQueryStrings(logging.Filter):
    """uvicorn logs WebSocket paths with their query string (`?token=`): cut it."""

    _QUERY = re.compile(r"\?[^\s\"]*")

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.args = tuple(
                self._QUERY.sub("?[redacted]", a) if isinstance(a, str) else a
                for a in (record.args if isinstance(record.args, tuple) else (record.args,))
            )
        record.msg = self._QUERY.sub("?[redacted]", str(record.msg))
        return True


def serve(app: ASGIApp, settings: Settings, host: str, port: int) -> None:
    """Run `app` (built by the caller: the transport does not import the wiring)."""
    problem = hooks_problem(settings)
    config = uvicorn_config(app, settings, host, port, hooks=problem is None, log_config=None)
    configure_logging(settings.log_level)
    if problem is None:
        log.info("uvicorn hooks engaged: %s", HOOKS)
    else:
        log.warning("uvicorn hooks off (%s): running on stock uvicorn protocols", problem)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).addFilter(RedactQueryStrings())
    DrainingServer(config).run()
