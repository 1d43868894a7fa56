"""Names of the ASGI extensions our uvicorn protocols (app/server/) offer the app.

They sit at the base so that the operations in app/api/ can use what the
transport offers without importing the transport.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

# ASGI extension offered in a WebSocket scope's "extensions" by our protocol: an
# object with the methods of `DirectWrites` (the protocol itself: every socket
# keeps its scope, so a dict of two bound methods would be three more objects
# per socket for the garbage collector to trace).
SEND_MANY = "levelstream.websocket.send_many"


class DirectWrites(Protocol):
    def write_frames(self, frames: list[str | bytes], on_writable: Callable[[], None]) -> bool:
        """Frame the texts as WebSocket text messages and write them with one socket
        write, synchronously. False: not written; if the socket is only paused by
        backpressure, `on_writable()` is called once it drains."""

    def write_frame(self, frame: str | bytes, on_writable: Callable[[], None]) -> bool:
        """`write_frames` of one frame, with no list per call (the hub writes each
        change of a one-change commit as it fans out)."""

    def sent_directly(self) -> int:
        """The payload bytes written that way (for the access log)."""


# ASGI extension offered in an HTTP scope's "extensions" by our protocol
# (app/server/http_protocol.py), for long-lived streamed responses (SSE): an
# object (the request's cycle) with the methods and attribute of
# `app.api.sse.HttpStream`:
# `start_stream(status, headers, first)` starts the response (chunked) and
# writes its head and `first`, the body's first piece, with one socket write,
# synchronously; False: not started (the app then sends `http.response.start`).
# `on_disconnect(callback | None)` registers what to call once the client has
# gone (so a stream needs no task waiting on `receive`); `abort()` drops the
# connection at once, unsent data included (a reader that stopped reading).
# `write_body(pieces, on_writable)` writes the pieces (str or bytes) as the
# body's next part with one socket write, synchronously, once the response has
# started; False: not written (not started, gone, or paused: then
# `on_writable()` is called once it drains). `waiting_since` is the loop time
# since which a write waits for a paused socket (0.0: none waits);
# `sent_directly()` the body bytes written those ways. `write_piece(piece,
# on_writable)` is `write_body` of one piece (a delivery: no list built).
HTTP_STREAM = "levelstream.http.stream"
