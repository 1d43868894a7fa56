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


# Exceptions that mean a service the store or bus depends on (PostgreSQL, Redis) is out
# of reach: an outage, answered 503 `unavailable`, not a bug answered 500. The cluster
# backends add their drivers' types when they load (`add_outage_errors`).
_OUTAGE_ERRORS: tuple[type[BaseException], ...] = (ConnectionError,)


def add_outage_errors(*types: type[BaseException]) -> None:
    global _OUTAGE_ERRORS
    _OUTAGE_ERRORS = (*_OUTAGE_ERRORS, *types)


def as_outage(exc: BaseException) -> Unavailable | None:
    """The refusal for an exception that an outage explains, or None (a bug)."""
    if isinstance(exc, _OUTAGE_ERRORS):
        return Unavailable(
            f"a service the server depends on is out of reach ({type(exc).__name__})"
        )
    return None
