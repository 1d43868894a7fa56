"""Names shared by our uvicorn protocol (app/server.py) and the app (kept apart so
the app does not import the server)."""

# ASGI extension: {"type": SEND_MANY, "texts": [...]} sends many WebSocket text
# frames with one socket write. Offered in scope["extensions"] by our protocol.
SEND_MANY = "levelstream.websocket.send_many"

# ASGI extension offered in an HTTP scope's "extensions" by our protocol
# (app/http_protocol.py), for long-lived streamed responses (SSE):
#   {"on_disconnect": on_disconnect(callback | None), "abort": abort()}
# `on_disconnect` registers what to call once the client has gone (so a stream
# needs no task waiting on `receive`); `abort` drops the connection at once,
# unsent data included (a reader that stopped reading).
HTTP_STREAM = "levelstream.http.stream"
