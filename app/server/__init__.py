"""Transport: uvicorn protocols with our hooks, front door, request context, access log, CORS."""
