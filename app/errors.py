"""Errors every layer may raise; the API layer turns them into RFC 9457 problems.

They carry the contract's machine-readable `code`, never an HTTP status, so the
store stays free of HTTP (the API maps codes to statuses in one table).
"""

from __future__ import annotations

from typing import Any


class LevelstreamError(Exception):
    """A refusal with a contract `code`, a human `detail` and optional extra members."""

    code = "internal"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class BadRequest(LevelstreamError):
    code = "bad_request"


class ValidationFailed(LevelstreamError):
    code = "validation_failed"


class Unauthorized(LevelstreamError):
    code = "unauthorized"


class Forbidden(LevelstreamError):
    code = "forbidden"


class NotFound(LevelstreamError):
    code = "not_found"


class Conflict(LevelstreamError):
    code = "conflict"


class PreconditionFailed(LevelstreamError):
    code = "precondition_failed"


class PayloadTooLarge(LevelstreamError):
    code = "payload_too_large"


class HistoryCompacted(LevelstreamError):
    code = "history_compacted"

    def __init__(self, oldest_seq: int) -> None:
        super().__init__(
            f"history before seq {oldest_seq} has been compacted; resnapshot", oldest_seq=oldest_seq
        )
        self.oldest_seq = oldest_seq


class RateLimited(LevelstreamError):
    code = "rate_limited"


class Unavailable(LevelstreamError):
    code = "unavailable"
