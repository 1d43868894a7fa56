"""Schemathesis hooks for tests/test_schemathesis.py (loaded by the `st` CLI from
.venv-tools through SCHEMATHESIS_HOOKS; pytest does not import this file)."""

from __future__ import annotations

import json
from typing import Any

import schemathesis


@schemathesis.serializer("application/x-ndjson")
def ndjson(ctx: Any, value: Any) -> bytes:
    """The admin import body: a string is sent as is, anything else as one JSON line."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    return json.dumps(value).encode("utf-8") + b"\n"


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    # A long-poll may rightly hold the request for up to 60 s: keep the run bounded.
    query = case.query
    if case.operation.path == "/v1/changes" and isinstance(query, dict) and "wait" in query:
        query["wait"] = 0
