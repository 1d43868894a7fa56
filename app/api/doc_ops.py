"""The document operations: each one's only implementation.

`get`, `put`, `patch`, `delete`, `create` and `list_range` each parse their
request (path parts, query through `params`, headers, body), admit it through the
gate, validate, authorize, call the store and render the response. Two dispatches
reach them: the front door (`app/server/front_door.py`, requests without an
Origin) and the FastAPI routes in `documents` (the rest, and the OpenAPI
description); neither adds a check of its own. The WebSocket ops (`ws_ops`) and
`POST /v1/batch` share the steps below the HTTP shape: `read_doc`, the op builders
`put_op`/`patch_op`/`delete_op`, and `commit`.
"""

from __future__ import annotations

import base64
import binascii
import functools
from collections.abc import Callable
from dataclasses import replace
from typing import Annotated, Any
from urllib.parse import quote

import orjson
from pydantic import BaseModel, Field
from starlette.responses import Response

from app.api.bodies import encode_value, etag_matches, parse_if_match, parse_json
from app.api.models import KEY_SCHEMA, optional_param
from app.api.params import MAX_CURSOR, PageLimit, TtlSeconds, parse_query
from app.api.requests import HttpRequest
from app.auth.disclosure import shown_refusal, shown_result, unreadable_result
from app.auth.principal import Principal
from app.auth.rules import RuleSet
from app.cel import FILTER_VARIABLES, Program, compile_expression
from app.errors import BadRequest, LevelstreamError, NotFound, ValidationFailed
from app.settings import Settings
from app.store.base import Store
from app.store.core import planner
from app.store.core.indexing import parse_path
from app.store.keys import validate_key, validate_name
from app.store.records import DocRecord
from app.store.types import IndexScan, KeyRange, OpResult, RangeQuery, TxResult, WriteOp

JSON = "application/json"


class WriteQuery(BaseModel):
    """The query of PUT, PATCH and POST."""

    ttl_s: TtlSeconds | None = Field(
        None, description="Delete the document after this many seconds"
    )


# Range bounds are keys: the same rules as a key (not empty, no control characters),
# checked by `validate_key`; the schema documents them.
_KEY_BOUND = optional_param(KEY_SCHEMA)


class RangeParams(BaseModel):
    """The query of a range read."""

    gt: str | None = Field(None, description="Keys after this one", json_schema_extra=_KEY_BOUND)
    gte: str | None = Field(None, description="Keys from this one", json_schema_extra=_KEY_BOUND)
    lt: str | None = Field(None, description="Keys before this one", json_schema_extra=_KEY_BOUND)
    lte: str | None = Field(None, description="Keys up to this one", json_schema_extra=_KEY_BOUND)
    prefix: str | None = Field(
        None, description="Keys starting with this", json_schema_extra=_KEY_BOUND
    )
    limit: PageLimit = 100
    reverse: bool = False
    cursor: Annotated[str | None, Field(max_length=MAX_CURSOR, description="From next_cursor")] = (
        None
    )
    keys_only: bool = Field(False, description="Envelopes without values")
    where: str | None = Field(
        None,
        description="A CEL filter on doc, key and rev (docs/queries.md); "
        "without a usable index it examines at most LEVELSTREAM_MAX_SCAN documents",
    )
    order_by: Annotated[str | None, Field(max_length=600)] = Field(
        None, description="A dotted field to order by (needs an index on it)"
    )
    explain: bool = Field(
        False, description='The plan instead of the items: {"index", "scanned", "returned"}'
    )


def envelope_response(principal: Principal, result: OpResult, status: int = 200) -> Response:
    """A write's answer: the envelope, or less for a caller that may not read it."""
    return Response(
        shown_result(principal, result),
        status_code=status,
        media_type=JSON,
        headers={"ETag": f'"{result.rev}"'},
    )


def doc_path(collection: str, key: str) -> str:
    return f"/v1/collections/{collection}/docs/{quote(key, safe='/')}"


def ttl_ms(ttl_s: float | None) -> int | None:
    return None if ttl_s is None else max(int(ttl_s * 1000), 1)


# --- below the HTTP shape: shared with batch and the WebSocket ops -------------------


async def read_doc(
    store: Store, rules: RuleSet, principal: Principal, collection: object, key: object
) -> DocRecord:
    """One document as `principal` may read it (REST GET and the WebSocket `get`); one
    its read rule hides is answered exactly as a missing one."""
    name = validate_name(collection)  # type: ignore[arg-type]
    validate_key(key)  # type: ignore[arg-type]
    assert isinstance(key, str)  # checked by `validate_key`
    principal.require("read", name)
    record = await store.get(name, key)
    visible = rules.read_check(principal, name)
    if record is None or (visible is not None and not visible(key, record.rev, record.value())):
        raise NotFound(f"document {key!r} not found in collection {name!r}")
    return record


def writable(principal: Principal, action: str, collection: object, key: object) -> None:
    """A write's target (a valid name and key) and its right to it."""
    validate_name(collection)  # type: ignore[arg-type]
    validate_key(key)  # type: ignore[arg-type]
    principal.require(action, collection)  # type: ignore[arg-type]


def put_op(
    settings: Settings,
    collection: str,
    key: str,
    value: Any,
    *,
    ttl_s: float | None = None,
    if_rev: int | None = None,
    if_exists: bool = False,
    if_absent: bool = False,
) -> WriteOp:
    """A put of `value` (any JSON but null, within the size limit)."""
    value_json = encode_value(value, settings.max_value_bytes)
    return WriteOp(
        "put",
        collection,
        key,
        value_json,
        if_rev=if_rev,
        if_exists=if_exists,
        if_absent=if_absent,
        ttl_ms=ttl_ms(ttl_s),
    )


def patch_op(
    collection: str, key: str, patch: Any, *, ttl_s: float | None = None, if_rev: int | None = None
) -> WriteOp:
    return WriteOp("patch", collection, key, patch=patch, if_rev=if_rev, ttl_ms=ttl_ms(ttl_s))


async def commit(
    store: Store, rules: RuleSet, principal: Principal, ops: list[WriteOp]
) -> TxResult:
    """Commit ops for `principal`, each judged by its rules inside the write (a guard
    per op); a refusal or a result shows only what it may read (`disclosure`)."""
    guarded, any_guard = [], False
    for op in ops:
        guard = rules.write_guard(principal, op)
        any_guard = any_guard or guard is not None
        guarded.append(op if guard is None else replace(op, guard=guard))
    try:
        result = await store.write(guarded)
    except LevelstreamError as exc:
        shown_refusal(principal, guarded, exc)
        raise
    if not any_guard:
        return result
    results = [unreadable_result(op, r) for op, r in zip(guarded, result.results, strict=True)]
    return TxResult(results, result.last_seq)


# --- the HTTP operations ---------------------------------------------------------------


async def get(request: HttpRequest, collection: str, key: str) -> Response:
    principal = await request.principal()
    services = request.services
    record = await read_doc(services.store, services.rules.current, principal, collection, key)
    etag = f'"{record.rev}"'
    if etag_matches(request.header(b"if-none-match"), record.rev):
        return Response(status_code=304, headers={"ETag": etag})
    return Response(record.envelope, media_type=JSON, headers={"ETag": etag})


async def put(request: HttpRequest, collection: str, key: str) -> Response:
    principal = await request.principal()
    query = parse_query(WriteQuery, request.query)
    writable(principal, "write", collection, key)
    if_rev, if_exists = parse_if_match(request.header(b"if-match"))
    if_none_match = request.header(b"if-none-match")
    if if_none_match is not None and if_none_match.strip() != "*":
        raise BadRequest("If-None-Match on PUT supports only *")
    services = request.services
    value = parse_json(await request.body(), services.settings.max_json_depth)
    op = put_op(
        services.settings,
        collection,
        key,
        value,
        ttl_s=query.ttl_s,
        if_rev=if_rev,
        if_exists=if_exists,
        if_absent=if_none_match is not None,
    )
    result = (await commit(services.store, services.rules.current, principal, [op])).results[0]
    response = envelope_response(principal, result, 201 if result.created else 200)
    if result.created:
        response.headers["Location"] = doc_path(collection, key)
    return response


async def patch(request: HttpRequest, collection: str, key: str) -> Response:
    principal = await request.principal()
    query = parse_query(WriteQuery, request.query)
    writable(principal, "write", collection, key)
    if_rev, _if_exists = parse_if_match(request.header(b"if-match"))
    services = request.services
    value = parse_json(await request.body(), services.settings.max_json_depth)
    op = patch_op(collection, key, value, ttl_s=query.ttl_s, if_rev=if_rev)
    result = (await commit(services.store, services.rules.current, principal, [op])).results[0]
    return envelope_response(principal, result)


async def delete(request: HttpRequest, collection: str, key: str) -> Response:
    principal = await request.principal()
    writable(principal, "delete", collection, key)
    if_rev, _ = parse_if_match(request.header(b"if-match"))
    services = request.services
    op = WriteOp("delete", collection, key, if_rev=if_rev)
    await commit(services.store, services.rules.current, principal, [op])
    return Response(status_code=204)


async def create(request: HttpRequest, collection: str) -> Response:
    principal = await request.principal()
    query = parse_query(WriteQuery, request.query)
    validate_name(collection)
    principal.require("write", collection)
    services = request.services
    value = parse_json(await request.body(), services.settings.max_json_depth)
    value_json = encode_value(value, services.settings.max_value_bytes)
    op = WriteOp("create", collection, value_json=value_json, ttl_ms=ttl_ms(query.ttl_s))
    result = (await commit(services.store, services.rules.current, principal, [op])).results[0]
    response = envelope_response(principal, result, 201)
    response.headers["Location"] = doc_path(collection, result.key)
    return response


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode_cursor(
    collection: str, last_key: str, reverse: bool, scan: IndexScan | None = None, at: bytes = b""
) -> str:
    """The next page's cursor: the last key, or in an index walk the index and the
    position in it (which ends with the key, and names the document's place exactly,
    so the walk goes on after it whatever was written meanwhile)."""
    data: dict[str, Any] = {"c": collection, "r": reverse}
    if scan is None:
        data["k"] = last_key
    else:
        data["i"], data["p"] = scan.index_id, _b64(at)
    return _b64(orjson.dumps(data))


def decode_cursor(
    cursor: str, collection: str, reverse: bool, scan: IndexScan | None = None
) -> tuple[str | None, bytes | None]:
    """The cursor's last key, or (in an index walk) its position."""
    try:
        data: Any = orjson.loads(_unb64(cursor))
        same = data["c"] == collection and data["r"] == reverse
        key, index_id, position = data.get("k"), data.get("i"), data.get("p")
        at = None if position is None else _unb64(position)
    except (binascii.Error, ValueError, KeyError, TypeError, AttributeError):
        raise BadRequest("cursor is not one this server issued") from None
    if not same:
        raise BadRequest("cursor belongs to another collection or direction")
    if index_id != (None if scan is None else scan.index_id):
        raise BadRequest(
            "cursor belongs to another query plan (an index was created or dropped since): "
            "start the read again"
        )
    if scan is not None:
        if not at or not isinstance(index_id, int):
            raise BadRequest("cursor is not one this server issued")
        return None, at
    if not isinstance(key, str):
        raise BadRequest("cursor is not one this server issued")
    # Cursors are client-held: a forged one must not smuggle in a key that no
    # document can have (control characters, empty, over 512 bytes).
    try:
        validate_key(key, "cursor")
    except ValidationFailed:
        raise BadRequest("cursor is not one this server issued") from None
    return key, None


def _bound(value: str | None, name: str) -> str | None:
    if value is not None:
        validate_key(value, name)
    return value


def _where(source: str | None) -> Program | None:
    """The filter, compiled once; a refusal names the parameter and the position."""
    if source is None:
        return None
    try:
        return _compiled_filter(source)
    except ValidationFailed as exc:
        exc.detail = f"where: {exc.detail}"
        exc.extra.setdefault("field", "where")
        raise


@functools.lru_cache(maxsize=256)
def _compiled_filter(source: str) -> Program:
    """Compiling costs about as much as reading a small page, and clients repeat their
    filters (paging, polling): programs are immutable, so recent ones are kept. A
    refusal raises, and is not kept."""
    return compile_expression(source, FILTER_VARIABLES)


def range_match(
    program: Program | None,
    visible: Callable[[str, int | None, Any], bool] | None,
    plan: planner.Plan | None,
) -> Callable[[Any], bool] | None:
    """The store's `match` on a decoded envelope: the filter, and the caller's read rule.

    A filter the plan's index walk decides (`Plan.decided`) is not checked again: the
    walk reaches only matching documents. The read rule always is. With neither, the
    store need not decode a document at all.
    """
    if plan is not None and plan.decided and plan.scan is not None:
        program = None
    if program is None and visible is None:
        return None

    def match(envelope: Any) -> bool:
        key, rev, value = envelope["key"], envelope["rev"], envelope["value"]
        if program is not None and not program.matches({"doc": value, "key": key, "rev": rev}):
            return False
        return visible is None or visible(key, rev, value)

    return match


async def list_range(request: HttpRequest, collection: str) -> Response:
    principal = await request.principal()
    params = parse_query(RangeParams, request.query)
    validate_name(collection)
    principal.require("read", collection)
    bounds = KeyRange(
        gt=_bound(params.gt, "gt"),
        gte=_bound(params.gte, "gte"),
        lt=_bound(params.lt, "lt"),
        lte=_bound(params.lte, "lte"),
        prefix=_bound(params.prefix, "prefix"),
    )
    program = _where(params.where)
    order_by = None if params.order_by is None else parse_path(params.order_by, "order_by")
    store, settings = request.services.store, request.services.settings
    # A read rule hides documents like a filter does, within the same scan budget (a page
    # it cuts short ends with a cursor; only a `where` without an index is refused).
    visible = request.services.rules.current.read_check(principal, collection)
    plan = None
    if program is not None or order_by is not None:
        tree = None if program is None else program.tree
        plan = planner.plan(tree, order_by, await store.indexes(collection))
    scan = None if plan is None else plan.scan
    reverse = params.reverse
    after, at = None, None
    if params.cursor:
        after, at = decode_cursor(params.cursor, collection, reverse, scan)
    query = RangeQuery(
        collection,
        bounds,
        params.limit,
        reverse,
        after,
        params.keys_only,
        match=range_match(program, visible, plan),
        max_scan=settings.max_scan,
        scan=scan,
        after_position=at,
    )
    page = await store.range(query)
    refused = plan is not None and scan is None and page.exhausted_budget
    if params.explain:
        explained: dict[str, Any] = {
            "index": None if scan is None else scan.name,
            "scanned": page.scanned,
            "returned": len(page.items),
        }
        if refused and plan is not None:
            explained["needs_index"] = list(plan.wanted)
        return Response(orjson.dumps(explained), media_type=JSON)
    if refused and plan is not None:
        raise planner.needs_index(
            f"the filter examined {settings.max_scan} documents (LEVELSTREAM_MAX_SCAN) "
            "without an index",
            plan.wanted,
            "where",
        )
    next_cursor = b"null"
    if page.last_key is not None:
        cursor = encode_cursor(collection, page.last_key, reverse, scan, page.last_position or b"")
        next_cursor = orjson.dumps(cursor)
    body = b'{"items":[' + b",".join(page.items) + b'],"next_cursor":' + next_cursor + b"}"
    return Response(body, media_type=JSON, headers={"X-Levelstream-Seq": str(page.seq)})
