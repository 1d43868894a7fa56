"""Names shared by our uvicorn protocol (app/ws_protocol.py) and the app (kept apart so
the app does not import the server)."""

from __future__ import annotations

from collections.abc import Iterable

# ASGI extension offered in a WebSocket scope's "extensions" by our protocol:
#   {"write": write(frames, on_writable) -> bool, "sent": sent() -> int}
# `write` frames the texts as WebSocket text messages and writes them with one
# socket write, synchronously. False: not written; if the socket is only paused
# by backpressure, `on_writable()` is called once it drains. `sent` is the
# payload bytes written that way (for the access log).
SEND_MANY = "levelstream.websocket.send_many"

# ASGI extension offered in an HTTP scope's "extensions" by our protocol
# (app/http_protocol.py), for long-lived streamed responses (SSE):
#   {"on_disconnect": on_disconnect(callback | None), "abort": abort()}
# `on_disconnect` registers what to call once the client has gone (so a stream
# needs no task waiting on `receive`); `abort` drops the connection at once,
# unsent data included (a reader that stopped reading).
HTTP_STREAM = "levelstream.http.stream"


def missing_internals(
    cls: type, methods: Iterable[str], fields: Iterable[str], set_in: Iterable[str]
) -> list[str]:
    """Of another library's private names our protocols rely on, those its installed
    version lacks: `methods` the class must have, and instance `fields` its `set_in`
    methods must assign (names a method's code stores or loads are in its co_names)."""
    missing = [
        f"{cls.__name__}.{name}" for name in methods if not callable(getattr(cls, name, None))
    ]
    assigned: set[str] = set()
    for method in set_in:
        code = getattr(getattr(cls, method, None), "__code__", None)
        if code is not None:
            assigned.update(code.co_names)
    missing += [f"{cls.__name__}.{name}" for name in fields if name not in assigned]
    return missing
