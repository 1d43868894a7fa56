"""The document operations: each one's only implementation.

`get`, `put`, `patch`, `delete` and `create` each parse their
request (path parts, query through `params`, headers, body), admit it through the
gate, validate, authorize, call the store and render the response. Two dispatches
reach them: the front door (`app/server/front_door.py`, requests without an
Origin) and the FastAPI routes in `documents` (the rest, and the OpenAPI
description); neither adds a check of its own. The WebSocket ops (`ws_ops`) and
`POST /v1/batch` share the steps below the HTTP shape: `read_doc`, the op builders
`put_op`/`patch_op`/`delete_op`, and `commit_answer`, where every write's idempotency
key is honoured (`app.api.idempotency`). Range reads are in `ranges`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel, Field
from starlette.responses import Response

from app.api import idempotency
from app.api.bodies import encode_value, etag_matches, parse_if_match, parse_json
from app.api.idempotency import Idempotent
from app.api.params import TtlSeconds, parse_query
from app.api.requests import HttpRequest
from app.auth.disclosure import shown_refusal, shown_result, unreadable_result
from app.auth.principal import Principal
from app.auth.rules import RuleSet
from app.errors import BadRequest, LevelstreamError, NotFound
from app.settings import Settings
from app.store.base import Store
from app.store.keys import validate_key, validate_name
from app.store.records import DocRecord
from app.store.types import Answered, Once, OpResult, TxResult, WriteOp

JSON = "application/json"


class WriteQuery(BaseModel):
    """The query of PUT, PATCH and POST."""

    ttl_s: TtlSeconds | None = Field(
        None, description="Delete the document after this many seconds"
    )


# Range bounds are keys: the same rules as a key (not empty, no control characters),
# checked by `validate_key`; the schema documents them.
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


def _guarded(rules: RuleSet, principal: Principal, ops: list[WriteOp]) -> list[WriteOp] | None:
    """`ops`, each with its rule guard; None when no rule judges any of them."""
    guarded, any_guard = [], False
    for op in ops:
        guard = rules.write_guard(principal, op)
        any_guard = any_guard or guard is not None
        guarded.append(op if guard is None else replace(op, guard=guard))
    return guarded if any_guard else None


def _shown(guarded: list[WriteOp] | None, result: TxResult) -> TxResult:
    """A committed result without the values a guard found unreadable (`disclosure`)."""
    if guarded is None:
        return result
    results = [unreadable_result(op, r) for op, r in zip(guarded, result.results, strict=True)]
    return TxResult(results, result.last_seq)


async def commit(
    store: Store, rules: RuleSet, principal: Principal, ops: list[WriteOp]
) -> TxResult:
    """Commit ops for `principal`, each judged by its rules inside the write (a guard
    per op); a refusal or a result shows only what it may read (`disclosure`)."""
    guarded = _guarded(rules, principal, ops)
    written = ops if guarded is None else guarded
    try:
        result = await store.write(written)
    except LevelstreamError as exc:
        shown_refusal(principal, written, exc)
        raise
    return _shown(guarded, result)


async def commit_answer(
    store: Store,
    rules: RuleSet,
    principal: Principal,
    ops: list[WriteOp],
    render: Callable[[TxResult], bytes],
    idem: Idempotent | None,
) -> Answered:
    """`commit`, answered by `render`; with an idempotency key, applied at most once:
    the rendered answer is remembered with the write and replayed to a retry. Every
    write of every way in (REST, batch, WebSocket) commits here."""
    if idem is None:
        return Answered(render(await commit(store, rules, principal, ops)), replayed=False)
    guarded = _guarded(rules, principal, ops)
    written = ops if guarded is None else guarded
    owner = idempotency.owner_of(principal)
    once = Once(
        owner,
        idem.key,
        idempotency.digest(idem.way, ops),
        idem.ttl_ms,
        lambda result: render(_shown(guarded, result)),
    )
    try:
        with idempotency.under_way(idem, owner):
            return await store.write_once(written, once)
    except LevelstreamError as exc:
        shown_refusal(principal, written, exc)
        raise


def http_idempotent(request: HttpRequest, method: str) -> Idempotent | None:
    """The `Idempotency-Key` of a REST write, if it has one."""
    services = request.services
    return idempotency.requested(
        request.header(idempotency.HEADER),
        "Idempotency-Key",
        f"http {method}",
        services.settings.idempotency_ttl_s,
        services.in_flight,
    )


async def respond(
    request: HttpRequest,
    principal: Principal,
    ops: list[WriteOp],
    render: Callable[[TxResult], Response],
    idem: Idempotent | None,
) -> Response:
    """A REST write's answer: `render`ed from its commit, or the remembered one."""
    services = request.services
    store, rules = services.store, services.rules.current
    if idem is None:
        return render(await commit(store, rules, principal, ops))

    def remembered(result: TxResult) -> bytes:
        return idempotency.encode_response(render(result))

    answered = await commit_answer(store, rules, principal, ops, remembered, idem)
    return idempotency.decode_response(answered.answer, answered.replayed)


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
    idem = http_idempotent(request, "PUT")
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

    def render(committed: TxResult) -> Response:
        result = committed.results[0]
        response = envelope_response(principal, result, 201 if result.created else 200)
        if result.created:
            response.headers["Location"] = doc_path(collection, key)
        return response

    return await respond(request, principal, [op], render, idem)


async def patch(request: HttpRequest, collection: str, key: str) -> Response:
    principal = await request.principal()
    idem = http_idempotent(request, "PATCH")
    query = parse_query(WriteQuery, request.query)
    writable(principal, "write", collection, key)
    if_rev, _if_exists = parse_if_match(request.header(b"if-match"))
    services = request.services
    value = parse_json(await request.body(), services.settings.max_json_depth)
    op = patch_op(collection, key, value, ttl_s=query.ttl_s, if_rev=if_rev)

    def render(committed: TxResult) -> Response:
        return envelope_response(principal, committed.results[0])

    return await respond(request, principal, [op], render, idem)


async def delete(request: HttpRequest, collection: str, key: str) -> Response:
    principal = await request.principal()
    idem = http_idempotent(request, "DELETE")
    writable(principal, "delete", collection, key)
    if_rev, _ = parse_if_match(request.header(b"if-match"))
    op = WriteOp("delete", collection, key, if_rev=if_rev)
    return await respond(request, principal, [op], _no_content, idem)


def _no_content(_committed: TxResult) -> Response:
    return Response(status_code=204)


async def create(request: HttpRequest, collection: str) -> Response:
    principal = await request.principal()
    idem = http_idempotent(request, "POST")
    query = parse_query(WriteQuery, request.query)
    validate_name(collection)
    principal.require("write", collection)
    services = request.services
    value = parse_json(await request.body(), services.settings.max_json_depth)
    value_json = encode_value(value, services.settings.max_value_bytes)
    op = WriteOp("create", collection, value_json=value_json, ttl_ms=ttl_ms(query.ttl_s))

    def render(committed: TxResult) -> Response:
        result = committed.results[0]
        response = envelope_response(principal, result, 201)
        response.headers["Location"] = doc_path(collection, result.key)
        return response

    return await respond(request, principal, [op], render, idem)
