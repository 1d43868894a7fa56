"""Operations and their routes: each operation is implemented once, here.

Where each one lives (it parses, admits, validates, authorizes and renders):

- documents: `doc_ops.get/put/patch/delete/create`, range reads `ranges.list_range`
  (routes in `documents`; the front door, app/server/front_door.py, calls the same
  functions)
- `GET /v1/stream`: `stream.open_stream` (route in `stream`, also the front door)
- `GET /v1/changes`: `changes.read_changes`
- `POST /v1/batch`: `batch.batch` (`parse_ops`, shared with the WebSocket `batch` op)
- channels: `channels` (`channel_for`, `publish`, `presence`, shared with the WebSocket ops)
- keys: `keys`; tokens and tickets: `auth_routes`; rules: `rules`; indexes: `indexes`
- WebSocket ops: `ws_ops` (REST's steps where REST has the op: `doc_ops.read_doc`,
  `batch.parse_op`, `doc_ops.commit`, `channels`)

Query parameters are declared once, as models parsed by `params.parse_query` and
described to OpenAPI by `params.described`; `requests.HttpRequest` is what an
operation reads of a request, whichever dispatch reached it.
"""
