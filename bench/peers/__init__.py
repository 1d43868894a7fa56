"""The peers Levelstream is measured against, side by side (suite `peers`).

- `seed-stack/`: the seed's stack in Node.js (express + level + socket.io),
  installed with `npm ci` at bench time;
- the ceilings, each the least a Python server can do on the same stack:
  `raw_asgi` (a minimal ASGI app on uvicorn over plyvel), `raw_ws` (a
  `websockets` broadcast server) and `raw_sse` (a plain Starlette streaming
  response);
- `targets`: each of them (and Levelstream) as a `ServerProcess`.
"""
