"""RFC 9457 problem details: the one shape of every error the API returns."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from app.errors import LevelstreamError, ValidationFailed

log = logging.getLogger("levelstream.api")

PROBLEM_TYPE = "application/problem+json"

STATUS_BY_CODE = {
    "bad_request": 400,
    "validation_failed": 422,
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "conflict": 409,
    "precondition_failed": 412,
    "payload_too_large": 413,
    "history_compacted": 410,
    "rate_limited": 429,
    "unavailable": 503,
    "internal": 500,
}
TITLE_BY_CODE = {
    "bad_request": "Bad request",
    "validation_failed": "Validation failed",
    "unauthorized": "Unauthorized",
    "forbidden": "Forbidden",
    "not_found": "Not found",
    "conflict": "Conflict",
    "precondition_failed": "Precondition failed",
    "payload_too_large": "Payload too large",
    "history_compacted": "History compacted",
    "rate_limited": "Rate limited",
    "unavailable": "Service unavailable",
    "internal": "Internal server error",
}
_CODE_BY_STATUS = {status: code for code, status in STATUS_BY_CODE.items()}


def field_name(loc: Any) -> str:
    """A validation error's location as a field name: `("body", "ops", 3, "key")` is
    `ops[3].key`; `("query", "gt")` is `gt`; the whole body is `body`."""
    parts = list(loc) if isinstance(loc, list | tuple) else [loc]
    if len(parts) > 1 and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    name = ""
    for part in parts:
        name += f"[{part}]" if isinstance(part, int) else f".{part}" if name else str(part)
    return name or "body"


def _name_fields(extra: dict[str, Any], detail: str) -> dict[str, Any]:
    """Every 422 names its field: `errors[]` entries with `field`, and a top-level
    `field` (the first one's). A batch op's field is named inside its op (`ops[3].key`)."""
    errors = extra.get("errors")
    if isinstance(errors, list):
        named = [
            {**e, "field": e.get("field") or field_name(e.get("loc", ()))}
            for e in errors
            if isinstance(e, dict)
        ]
    elif isinstance(extra.get("field"), str):
        field = extra["field"]
        if isinstance(extra.get("op_index"), int):
            field = f"ops[{extra['op_index']}].{field}"
        named = [{"field": field, "msg": detail}]
    else:
        return extra
    extra = {**extra, "errors": named}
    if named:
        extra["field"] = named[0]["field"]  # the full path (`ops[3].key`), as in errors[]
    return extra


def problem_body(
    code: str, detail: str, request_id: str | None, status: int | None = None, **extra: Any
) -> bytes:
    status = status or STATUS_BY_CODE[code]
    if code == "validation_failed":
        extra = _name_fields(extra, detail)
    body: dict[str, Any] = {
        "type": f"urn:levelstream:problem:{code}",
        "title": TITLE_BY_CODE[code],
        "status": status,
        "detail": detail,
        "code": code,
        "request_id": request_id,
    }
    for name, value in extra.items():
        body.setdefault(name, value)
    return orjson.dumps(body)


def problem_response(
    code: str,
    detail: str,
    request_id: str | None,
    status: int | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    status = status or STATUS_BY_CODE[code]
    return Response(
        problem_body(code, detail, request_id, status, **extra),
        status_code=status,
        media_type=PROBLEM_TYPE,
        headers=headers,
    )


def request_id_of(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


def error_response(exc: LevelstreamError, request_id: str | None) -> Response:
    """The problem response for a refusal, with the headers its code calls for."""
    headers = None
    if exc.code == "unauthorized":
        headers = {"WWW-Authenticate": 'Bearer realm="levelstream"'}
    elif exc.code == "rate_limited" and "retry_after" in exc.extra:
        headers = {"Retry-After": str(exc.extra["retry_after"])}
    return problem_response(exc.code, exc.detail, request_id, headers=headers, **exc.extra)


async def _levelstream_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LevelstreamError)
    return error_response(exc, request_id_of(request))


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return error_response(invalid(exc.errors()), request_id_of(request))


def invalid(
    errors: Sequence[Mapping[str, Any]], where: str | None = None, prefix: tuple[str, ...] = ()
) -> ValidationFailed:
    """The refusal of pydantic's validation `errors` (FastAPI's, or ours of a query
    model in `params`): every path renders a bad parameter through here.

    Only where and what: never echo the input back (it may hold a secret), and
    never the name of a model class (pydantic's own summary line has one).
    """
    named = []
    for err in errors:
        loc = [*((where,) if where else ()), *prefix, *err.get("loc", ())]
        named.append(
            {
                "loc": loc,
                "field": field_name(loc),
                "msg": _message(err),
                "type": err.get("type", ""),
            }
        )
    detail = "; ".join(f"{e['field']}: {e['msg']}" for e in named[:5]) or "invalid request"
    return ValidationFailed(detail, errors=named)


def _message(err: Mapping[str, Any]) -> str:
    msg = str(err.get("msg", ""))
    # "Value error, not an origin ..." is pydantic's wrapping of our validators' text.
    return msg.removeprefix("Value error, ")


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = _CODE_BY_STATUS.get(
        exc.status_code, "bad_request" if exc.status_code < 500 else "internal"
    )
    detail = exc.detail if isinstance(exc.detail, str) else TITLE_BY_CODE[code]
    headers = dict(exc.headers) if exc.headers else None
    return problem_response(
        code, detail, request_id_of(request), status=exc.status_code, headers=headers
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(LevelstreamError, _levelstream_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
