"""Structured diagnostics: every log record, ours and uvicorn's, as one JSON line
on standard error, with the request id of the request it concerns.

A line holds `event` (the message), `stack_info` (when asked for),
`request_id` (inside a request), `level`, `logger`, `timestamp` (ISO 8601,
UTC) and `exception` (the traceback), in that order: what structlog's
`ProcessorFormatter` + `JSONRenderer` wrote before, byte for byte. The
standard library does it here because structlog cost ~45 ms of every server
start (it imports rich for its console renderer), for what is one context
variable and one `json.dumps`.

The access log is separate (app/server/access_log.py, standard output).

No level prints wire data (`NoWireData`): at `trace` uvicorn's message logger
dumps every request's scope (headers, so `Authorization`, and the query
string, so `?token=`/`?ticket=`) and at `debug` the websockets library dumps
every handshake and frame (an `auth` op carries a token). Those records are
dropped; the rest of `trace` and `debug` (connections made and lost, our own
diagnostics) stays.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import traceback
from contextvars import ContextVar
from datetime import UTC, datetime

_request_id: ContextVar[str | None] = ContextVar("levelstream_request_id", default=None)


class JsonLines(logging.Formatter):
    """One JSON object per record (`format` never mutates the record)."""

    def format(self, record: logging.LogRecord) -> str:
        line = {"event": record.getMessage()}
        if record.stack_info:
            line["stack_info"] = record.stack_info
        request_id = _request_id.get()
        if request_id is not None:
            line["request_id"] = request_id
        line["level"] = record.levelname.lower()
        line["logger"] = record.name
        line["timestamp"] = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        exc_type, exc, tb = record.exc_info or (None, None, None)
        if exc is not None:  # `exc_info=True` outside an except block logs no exception
            text = "".join(traceback.format_exception(exc_type, exc, tb))
            line["exception"] = text.removesuffix("\n")
        return json.dumps(line)


class NoWireData(logging.Filter):
    """Drops the records that copy requests and frames off the wire (they hold credentials)."""

    _WEBSOCKETS_DIR = os.sep + "websockets" + os.sep

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "uvicorn.asgi":  # uvicorn's trace message logger: scopes, messages
            return False
        # The websockets library logs through uvicorn's logger: its debug records are
        # handshake lines, headers and frames.
        return not (record.levelno < logging.INFO and self._WEBSOCKETS_DIR in record.pathname)


def configure_logging(level: str) -> None:
    """Route stdlib logging through the JSON formatter at `level`."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines())
    handler.addFilter(NoWireData())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn installs its own handlers; let its records reach ours instead.
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True


def bind_request(request_id: str) -> None:
    """Attach the request id to every record logged while serving this request."""
    _request_id.set(request_id)
