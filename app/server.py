"""Running the app under uvicorn, with a graceful drain on SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import re
import signal
import socket
from types import FrameType
from typing import Any

import uvicorn
from fastapi import FastAPI
from uvicorn.protocols.utils import ClientDisconnected
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.exceptions import InvalidState
from websockets.protocol import State

from app.http_protocol import HttpProtocol
from app.logs import configure_logging
from app.main import create_app
from app.server_ext import SEND_MANY
from app.settings import Settings

log = logging.getLogger("levelstream.server")


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
        app = self.config.app
        if isinstance(app, FastAPI) and hasattr(app.state, "hub"):
            app.state.draining = True
            app.state.notifier.close()
            app.state.hub.close_all(1001, "server shutting down")
            # Let the sender tasks put their close frames on the wire.
            for _ in range(50):
                if not app.state.hub.connections:
                    break
                await asyncio.sleep(0.02)
        await super().shutdown(sockets)


def text_frame(payload: bytes) -> bytes:
    """An unmasked, final WebSocket text frame (RFC 6455 §5.2)."""
    size = len(payload)
    if size < 126:
        return bytes((0x81, size)) + payload
    if size < 65536:
        return b"\x81\x7e" + size.to_bytes(2, "big") + payload
    return b"\x81\x7f" + size.to_bytes(8, "big") + payload


class WebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's WebSocket protocol, except that a peer that stopped reading is dropped.

    uvicorn ends a connection whose ping went unanswered, or whose closing handshake
    timed out, with `transport.close()`, which first flushes what is buffered. For a
    peer that stopped reading (a stopped process, a stuck client) with changes still
    queued for it, that never happens: the connection, its subscriptions and its
    presence would outlive it for good. `abort()` drops it at once.
    """

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        # The app's task is created but has not run yet: it sees the extension.
        self.scope["extensions"][SEND_MANY] = {}

    async def send(self, message: Any) -> None:
        if message["type"] == SEND_MANY:
            await self._send_many(message["texts"])
            return
        await self._send_one(message)

    async def _send_many(self, texts: list[str]) -> None:
        """Frame every text, then write them all at once: one syscall, not one per frame."""
        await self.writable.wait()
        if self.disconnected or self.close_sent or not self.handshake_complete:
            raise ClientDisconnected()
        if self.conn.state is not State.OPEN:
            raise ClientDisconnected()
        if self.conn.extensions:
            # A negotiated extension (compression) transforms frames: let websockets do it.
            try:
                for text in texts:
                    self.conn.send_text(text.encode())
            except InvalidState:
                raise ClientDisconnected() from None
            self.transport.write(b"".join(self.conn.data_to_send()))
            return
        # Server frames are unmasked and unfragmented here, so framing is just a header.
        self.transport.write(b"".join(text_frame(text.encode()) for text in texts))

    def keepalive_timeout(self) -> None:
        super().keepalive_timeout()
        self.transport.abort()

    async def _send_one(self, message: Any) -> None:
        await super().send(message)
        if message["type"] == "websocket.close" and self.close_timer is not None:
            self.close_timer.cancel()
            self.close_timer = self.loop.call_later(self.close_timeout, self.transport.abort)


def uvicorn_config(settings: Settings, host: str, port: int, **overrides: Any) -> uvicorn.Config:
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "workers": 1,
        "loop": "uvloop",
        "http": HttpProtocol,  # httptools, one write per sized response
        # Our own access log is redacted; uvicorn's prints query strings (tokens).
        "access_log": False,
        # X-Forwarded-For is judged by our trusted-proxy rules, never by uvicorn's
        # default trust of 127.0.0.1.
        "proxy_headers": False,
        "server_header": False,
        "ws": WebSocketProtocol,
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
    return uvicorn.Config(create_app(settings), **options)


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


def serve(settings: Settings, host: str, port: int) -> None:
    config = uvicorn_config(settings, host, port, log_config=None)
    configure_logging(settings.log_level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).addFilter(RedactQueryStrings())
    DrainingServer(config).run()
