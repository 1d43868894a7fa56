"""Reading JSON request bodies: bytes to a validated value, with the contract's limits.

Bodies are parsed with orjson (not Starlette's `request.json()`, which turns
deep nesting into a 500): malformed JSON is a 400, a value nested deeper than
the limit or a `null` document is a 422, an encoded value over the size limit
is a 413.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from fastapi import Request

from app.errors import BadRequest, PayloadTooLarge, ValidationFailed

# The longest `ttl_s` a document may be given: ten years.
MAX_TTL_S = 315_360_000

_ETAG_RE = re.compile(r'(?:W/)?"?(\d{1,19})"?')


def parse_json(raw: bytes, max_depth: int, what: str = "the request body") -> Any:
    if not raw.strip():
        raise BadRequest(f"{what} must be a JSON document")
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        if "depth" in str(exc) or "recursion" in str(exc):
            raise ValidationFailed(f"{what} is nested deeper than {max_depth} levels") from None
        raise BadRequest(f"{what} is not valid JSON: {_short(exc)}") from None
    # Each level needs at least two bytes, so short bodies cannot be too deep.
    if len(raw) > 2 * max_depth and too_deep(value, max_depth):
        raise ValidationFailed(f"{what} is nested deeper than {max_depth} levels")
    return value


def _short(exc: orjson.JSONDecodeError) -> str:
    return str(exc).split(":", 1)[0][:200]


def too_deep(value: Any, max_depth: int) -> bool:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        if depth > max_depth:
            return True
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return False


def encode_value(value: Any, max_value_bytes: int, what: str = "the value") -> bytes:
    """A document value as stored: not null, re-encoded compactly, within the size limit."""
    if value is None:
        raise ValidationFailed(
            f"{what} must not be null (delete the document instead)", field="value"
        )
    encoded = orjson.dumps(value)
    if len(encoded) > max_value_bytes:
        raise PayloadTooLarge(
            f"{what} is {len(encoded)} bytes encoded; the limit is {max_value_bytes}",
            limit=max_value_bytes,
        )
    return encoded


async def read_json(request: Request, max_depth: int) -> Any:
    return parse_json(await request.body(), max_depth)


def parse_if_match(header: str | None) -> tuple[int | None, bool]:
    """`If-Match` as (rev, must_exist): `"12"` is rev 12, `*` means any current version."""
    if header is None:
        return None, False
    header = header.strip()
    if header == "*":
        return None, True
    match = _ETAG_RE.fullmatch(header)
    if match is None:
        raise BadRequest('If-Match must be one ETag such as "1042", or *')
    return int(match.group(1)), False


def etag_matches(header: str | None, rev: int) -> bool:
    """Whether an `If-None-Match` list names `rev` (or is `*`)."""
    if header is None:
        return False
    for tag in header.split(","):
        tag = tag.strip()
        if tag == "*":
            return True
        match = _ETAG_RE.fullmatch(tag)
        if match is not None and int(match.group(1)) == rev:
            return True
    return False
