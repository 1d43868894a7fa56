"""The access log: one JSON line per HTTP request and per WebSocket session.

Fields: time, request id, principal (key id or `jwt:<sub>`, never a token),
client address (after trusted-proxy handling), method, path (never the query
string, which may hold `?token=` or `?ticket=`), status, WebSocket close code,
duration and bytes sent. JSON encoding escapes CR/LF and control characters,
so user-controlled values cannot forge log lines.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

import orjson
from starlette.types import Scope

from app.store.records import format_ts, now_ms


class AccessLog:
    def __init__(self, stream: Any = None, enabled: bool = True) -> None:
        self.enabled = enabled
        self._logger = logging.getLogger("levelstream.access")
        self._logger.propagate = False
        self._logger.setLevel(logging.INFO)
        if not self._logger.handlers:
            handler = logging.StreamHandler(stream or sys.stdout)
            handler.setFormatter(logging.Formatter("%(message)s"))
            self._logger.addHandler(handler)

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
        if scope["type"] == "websocket":
            record["close_code"] = state.get("close_code")
        if state.get("auth_error"):
            record["auth_error"] = state["auth_error"]
        self._logger.info(orjson.dumps(record).decode())
