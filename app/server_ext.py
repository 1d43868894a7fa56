"""Names shared by our uvicorn protocol (app/server.py) and the app (kept apart so
the app does not import the server)."""

# ASGI extension: {"type": SEND_MANY, "texts": [...]} sends many WebSocket text
# frames with one socket write. Offered in scope["extensions"] by our protocol.
SEND_MANY = "levelstream.websocket.send_many"
