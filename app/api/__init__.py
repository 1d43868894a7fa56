"""HTTP and WebSocket routes: thin, they parse, authorize and call the store."""
