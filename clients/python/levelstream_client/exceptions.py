"""Typed exceptions for Levelstream's RFC 9457 problems (hand-written; `make sdk` keeps it).

Every error the server returns is a problem document with a machine-readable
`code`; each code has its own exception class, so callers write
`except PreconditionFailedError:` instead of comparing status codes. The same
classes are raised by the REST client from `levelstream_client.sdk.connect`
and by the real-time client (`ok: false` replies, close codes, `reset`).
"""

from __future__ import annotations

import json
from typing import Any

import httpx

PROBLEM_CONTENT_TYPE = "application/problem+json"


class LevelstreamError(Exception):
    """A refusal from the server: `status`, contract `code`, `detail`, the whole `problem`."""

    code = "internal"

    def __init__(
        self,
        detail: str,
        *,
        status: int | None = None,
        code: str | None = None,
        problem: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status
        if code is not None:
            self.code = code
        self.problem: dict[str, Any] = problem or {}

    @property
    def request_id(self) -> str | None:
        value = self.problem.get("request_id")
        return value if isinstance(value, str) else None

    def __str__(self) -> str:
        where = f" (status {self.status})" if self.status is not None else ""
        # A detail that only repeats the code ("unauthorized: unauthorized") says nothing.
        if not self.detail or self.detail == self.code:
            return f"{self.code}{where}"
        return f"{self.code}: {self.detail}{where}"


class BadRequestError(LevelstreamError):
    code = "bad_request"


class ValidationFailedError(LevelstreamError):
    code = "validation_failed"


class UnauthorizedError(LevelstreamError):
    code = "unauthorized"


class ForbiddenError(LevelstreamError):
    code = "forbidden"


class NotFoundError(LevelstreamError):
    code = "not_found"


class ConflictError(LevelstreamError):
    code = "conflict"


class PreconditionFailedError(LevelstreamError):
    """`If-Match` / `if_rev` did not match: someone else wrote first."""

    code = "precondition_failed"

    @property
    def current_rev(self) -> int | None:
        value = self.problem.get("current_rev")
        return value if isinstance(value, int) else None


class PayloadTooLargeError(LevelstreamError):
    code = "payload_too_large"


class HistoryCompactedError(LevelstreamError):
    """The resume point is older than the change log keeps: take a new snapshot.

    A subscription's end with a `reset` raises this (or its subclass
    `RulesChangedError`): either way the client takes a new snapshot; `reason` says why.
    """

    code = "history_compacted"
    reason = "history_compacted"

    @property
    def oldest_seq(self) -> int | None:
        value = self.problem.get("oldest_seq")
        return value if isinstance(value, int) else None


class RulesChangedError(HistoryCompactedError):
    """The rules changed what this subscription may see (a `reset` with reason
    `rules_changed`): documents it showed may be hidden now without a change saying so,
    so take a new snapshot under the new rules. A `HistoryCompactedError`, so code that
    resnapshots on that handles this too; catch it first to tell the user why."""

    code = "rules_changed"
    reason = "rules_changed"


class RateLimitedError(LevelstreamError):
    code = "rate_limited"

    @property
    def retry_after(self) -> float | None:
        value = self.problem.get("retry_after")
        return float(value) if isinstance(value, int | float) else None


class UnavailableError(LevelstreamError):
    code = "unavailable"


class InternalError(LevelstreamError):
    code = "internal"


ERRORS_BY_CODE: dict[str, type[LevelstreamError]] = {
    cls.code: cls
    for cls in (
        BadRequestError,
        ValidationFailedError,
        UnauthorizedError,
        ForbiddenError,
        NotFoundError,
        ConflictError,
        PreconditionFailedError,
        PayloadTooLargeError,
        HistoryCompactedError,
        RateLimitedError,
        UnavailableError,
        InternalError,
    )
}
_CODE_BY_STATUS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
    410: "history_compacted",
    412: "precondition_failed",
    413: "payload_too_large",
    422: "validation_failed",
    429: "rate_limited",
    503: "unavailable",
}


def error_from_problem(problem: dict[str, Any], status: int | None = None) -> LevelstreamError:
    """The typed exception for a problem document (or a WebSocket `error` object)."""
    status = status if status is not None else _int_or_none(problem.get("status"))
    code = problem.get("code")
    if not isinstance(code, str) or code not in ERRORS_BY_CODE:
        code = _CODE_BY_STATUS.get(status or 0, "internal")
    detail = problem.get("detail", problem.get("message", ""))
    cls = ERRORS_BY_CODE[code]
    return cls(str(detail), status=status, code=code, problem=dict(problem))


# What a WebSocket close code means, for a close whose reason is empty or just the code.
_CLOSE_MEANING = {
    4001: (
        UnauthorizedError,
        401,
        "the server refused the credential: the token is missing, invalid, expired or "
        "revoked, or the ticket was already used",
    ),
    4003: (
        ForbiddenError,
        403,
        "the credential may no longer use this connection: the key was revoked or changed, "
        "or its rights do not allow this origin or address",
    ),
}


def error_from_close(code: int, reason: str | None) -> LevelstreamError:
    """The typed exception for a WebSocket closed with 4001 or 4003: what was wrong."""
    cls, status, meaning = _CLOSE_MEANING[code]
    said = (reason or "").strip()
    if said.startswith("{"):
        # The server's reason is JSON, `{"code", "detail"?, ...}`: the detail says what.
        try:
            parsed = json.loads(said)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            said = str(parsed.get("detail") or parsed.get("code") or "")
    detail = meaning if said in ("", cls.code) else said
    return cls(f"{detail} (WebSocket close {code})", status=status, problem={"close_code": code})


def error_from_response(response: httpx.Response) -> LevelstreamError:
    """The typed exception for an error response that has been read."""
    body: Any = None
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        body = {"detail": response.text[:500] or response.reason_phrase}
    return error_from_problem(body, response.status_code)


def raise_for_problem(response: httpx.Response) -> None:
    """httpx response hook (sync client): raise the typed exception for a 4xx/5xx."""
    if response.status_code >= 400:
        response.read()
        raise error_from_response(response)


async def araise_for_problem(response: httpx.Response) -> None:
    """httpx response hook (async client): raise the typed exception for a 4xx/5xx."""
    if response.status_code >= 400:
        await response.aread()
        raise error_from_response(response)


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) else None
