"""The access log: one JSON line per HTTP request and per WebSocket session.

Fields: time, request id, principal (key id or `jwt:<sub>`, never a token),
client address (after trusted-proxy handling), method, path (never the query
string, which may hold `?token=` or `?ticket=`), status, WebSocket close code
(`stalled`: a WebSocket or SSE reader cut for reading nothing),
duration and bytes sent; a change of rules adds the new `rules_version`. JSON
encoding escapes CR/LF and control characters,
so user-controlled values cannot forge log lines.
"""

from __future__ import annotations

import asyncio
import atexit
import sys
import time
from typing import Any

import orjson
from starlette.types import Scope

from app.store.records import format_ts, now_ms

FLUSH_DELAY_S = 0.05
MAX_BUFFERED = 1000


def close_code_of(state: dict[str, Any]) -> int | str | None:
    """How a WebSocket or SSE session ended: its close code, or `stalled` for a peer cut
    for reading nothing (whatever code was meant for it, it never read it)."""
    if state.get("stalled"):
        return "stalled"
    code: int | None = state.get("close_code")
    return code


class AccessLog:
    """Buffers lines and writes them in batches (at most 50 ms late).

    A `logging` handler writes and flushes once per record, which cost as much
    as serving a document read; one write per batch keeps the log nearly free.
    """

    def __init__(self, stream: Any = None, enabled: bool = True) -> None:
        self.enabled = enabled
        self._stream = stream if stream is not None else sys.stdout.buffer
        self._lines: list[bytes] = []
        self._scheduled = False
        atexit.register(self.flush)  # the last lines, after the server loop ends

    def write(self, scope: Scope, status: int, sent: int, started_at: float) -> None:
        if not self.enabled:
            return
        state = scope.get("state", {})
        record: dict[str, Any] = {
            "time": format_ts(now_ms()).decode(),
            "request_id": state.get("request_id"),
            "principal": state.get("principal_id"),
            "client": state.get("client_ip"),
            "method": scope.get("method", "WS") if scope["type"] == "http" else "WS",
            "path": scope.get("path"),
            "status": status,
            "duration_ms": round((time.perf_counter() - started_at) * 1000, 3),
            "bytes": sent,
        }
        if scope["type"] == "websocket" or state.get("stalled"):
            record["close_code"] = close_code_of(state)
        if state.get("rules_version") is not None:  # a change of rules (app/api/rules.py)
            record["rules_version"] = state["rules_version"]
        if state.get("auth_error"):
            record["auth_error"] = state["auth_error"]
        self._lines.append(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
        if len(self._lines) >= MAX_BUFFERED:
            self.flush()
        elif not self._scheduled:
            try:
                asyncio.get_running_loop().call_later(FLUSH_DELAY_S, self.flush)
                self._scheduled = True
            except RuntimeError:  # no event loop: write now
                self.flush()

    def flush(self) -> None:
        self._scheduled = False
        if not self._lines:
            return
        lines, self._lines = self._lines, []
        try:
            self._stream.write(b"".join(lines))
            self._stream.flush()
        except (OSError, ValueError):
            pass  # stdout closed or broken: never let logging take the server down
