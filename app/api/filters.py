"""The subscription filter, shared by poll, SSE and WebSocket, and the `where` of every
read (range reads too): compiled once, refused with the position."""

from __future__ import annotations

import functools

from app.auth.principal import Principal
from app.auth.rules import RuleSet
from app.cel import FILTER_VARIABLES, Program, compile_expression
from app.errors import Forbidden, ValidationFailed
from app.realtime.connection import Connection
from app.realtime.hub import Hub
from app.store.keys import validate_key, validate_name
from app.store.types import ChangeFilter, KeyRange

MAX_SEQ = 2**63 - 1


def compile_where(source: str | None) -> Program | None:
    """A `where`, compiled once; a refusal names the parameter and the position."""
    if source is None:
        return None
    if not isinstance(source, str):
        raise ValidationFailed("where must be a string (a CEL expression)", field="where")
    try:
        return _compiled_filter(source)
    except ValidationFailed as exc:
        exc.detail = f"where: {exc.detail}"
        exc.extra.setdefault("field", "where")
        raise


@functools.lru_cache(maxsize=256)
def _compiled_filter(source: str) -> Program:
    """Compiling costs about as much as reading a small page, and clients repeat their
    filters (paging, polling, reconnecting): programs are immutable, so recent ones are
    kept. A refusal raises, and is not kept."""
    return compile_expression(source, FILTER_VARIABLES)


def build_filter(
    principal: Principal,
    collection: str,
    key: str | None,
    prefix: str | None,
    gt: str | None,
    gte: str | None,
    lt: str | None,
    lte: str | None,
    *,
    rules: RuleSet,
    where: str | None = None,
) -> ChangeFilter:
    """The subscription filter of the contract: a collection, at most one key filter,
    and the documents its `where` and the read rules show (`RuleSet.live_match`)."""
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
    program = compile_where(where)
    live = rules.live_filter(principal, collection, program)
    match, tree = (None, None) if live is None else live
    return ChangeFilter(
        collection, key=key, bounds=bounds, where=program, match=match, match_tree=tree
    )


def resync_views(
    hub: Hub,
    connection: Connection,
    before: tuple[RuleSet, Principal],
    after: tuple[RuleSet, Principal],
) -> None:
    """The rules or the connection's credential changed. A subscription whose view the
    change alters (`RuleSet.read_view`: the read rules that apply, the principal as they
    see it) ends with a `reset` (`reason: rules_changed`): documents it showed may be
    hidden now without changing, so no event could say so, and the client takes a new
    snapshot under the new rules. The others go on as they are: the same view shows
    the same documents."""
    (old_rules, old_principal), (rules, principal) = before, after
    for sub in list(connection.subscriptions.values()):
        collection = sub.flt.collection
        old_view = old_rules.read_view(old_principal, collection)
        if old_view != rules.read_view(principal, collection):
            hub.reset(sub, "rules_changed")


def parse_since(value: object, what: str = "since") -> int | None:
    """A resume cursor: a seq from 0 to 2**63-1 (a numeric string is accepted)."""
    if value is None:
        return None
    if isinstance(value, str) and value.isdigit() and len(value) < 20:
        value = int(value)
    if type(value) is not int or not 0 <= value <= MAX_SEQ:
        raise ValidationFailed(f"{what} must be an integer seq from 0 to 2**63-1")
    return value
