"""The subscription filter, shared by poll, SSE and WebSocket."""

from __future__ import annotations

from app.auth.principal import Principal
from app.errors import Forbidden, ValidationFailed
from app.store.keys import validate_key, validate_name
from app.store.types import ChangeFilter, KeyRange

MAX_SEQ = 2**63 - 1


def build_filter(
    principal: Principal,
    collection: str,
    key: str | None,
    prefix: str | None,
    gt: str | None,
    gte: str | None,
    lt: str | None,
    lte: str | None,
) -> ChangeFilter:
    """The subscription filter of the contract: a collection, then at most one key filter."""
    if collection != "*":
        validate_name(collection)
    if not principal.may_subscribe(collection):
        if collection == "*":
            raise Forbidden("this credential may not read")
        raise Forbidden(f"this credential may not read collection {collection!r}")
    ranged = any(b is not None for b in (gt, gte, lt, lte))
    if sum((key is not None, prefix is not None, ranged)) > 1:
        raise ValidationFailed("use at most one of key, prefix, or a gt/gte/lt/lte range")
    for name, value in (
        ("key", key),
        ("prefix", prefix),
        ("gt", gt),
        ("gte", gte),
        ("lt", lt),
        ("lte", lte),
    ):
        if value is not None:
            validate_key(value, name)
    bounds = None
    if prefix is not None or ranged:
        bounds = KeyRange(gt=gt, gte=gte, lt=lt, lte=lte, prefix=prefix)
    return ChangeFilter(collection, key=key, bounds=bounds)


def parse_since(value: object, what: str = "since") -> int | None:
    """A resume cursor: a seq from 0 to 2**63-1 (a numeric string is accepted)."""
    if value is None:
        return None
    if isinstance(value, str) and value.isdigit() and len(value) < 20:
        value = int(value)
    if type(value) is not int or not 0 <= value <= MAX_SEQ:
        raise ValidationFailed(f"{what} must be an integer seq from 0 to 2**63-1")
    return value
