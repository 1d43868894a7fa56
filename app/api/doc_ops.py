"""The single-document operations, free of FastAPI: the routes in `documents` and
the fast lane (`fastlane`) both call these, so the two paths cannot drift apart."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import orjson
from starlette.responses import Response

from app.api.batch import commit
from app.api.bodies import encode_value, etag_matches, parse_if_match, parse_json
from app.auth.disclosure import shown_result
from app.auth.principal import Principal
from app.errors import BadRequest, NotFound, ValidationFailed
from app.settings import Settings
from app.store.base import Store
from app.store.keys import validate_key, validate_name
from app.store.types import KeyRange, OpResult, RangeQuery, WriteOp

JSON = "application/json"


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


async def get_doc(
    store: Store, principal: Principal, collection: str, key: str, if_none_match: str | None
) -> Response:
    validate_name(collection)
    validate_key(key)
    principal.require("read", collection)
    record = await store.get(collection, key)
    if record is None:
        raise NotFound(f"document {key!r} not found in collection {collection!r}")
    etag = f'"{record.rev}"'
    if etag_matches(if_none_match, record.rev):
        return Response(status_code=304, headers={"ETag": etag})
    return Response(record.envelope, media_type=JSON, headers={"ETag": etag})


async def put_doc(
    store: Store,
    settings: Settings,
    principal: Principal,
    collection: str,
    key: str,
    body: bytes,
    ttl_s: float | None,
    if_match: str | None,
    if_none_match: str | None,
) -> Response:
    validate_name(collection)
    validate_key(key)
    principal.require("write", collection)
    if_rev, if_exists = parse_if_match(if_match)
    if if_none_match is not None and if_none_match.strip() != "*":
        raise BadRequest("If-None-Match on PUT supports only *")
    value_json = encode_value(parse_json(body, settings.max_json_depth), settings.max_value_bytes)
    op = WriteOp(
        "put",
        collection,
        key,
        value_json,
        if_rev=if_rev,
        if_exists=if_exists,
        if_absent=if_none_match is not None,
        ttl_ms=ttl_ms(ttl_s),
    )
    result = (await commit(store, principal, [op])).results[0]
    response = envelope_response(principal, result, 201 if result.created else 200)
    if result.created:
        response.headers["Location"] = doc_path(collection, key)
    return response


async def patch_doc(
    store: Store,
    settings: Settings,
    principal: Principal,
    collection: str,
    key: str,
    body: bytes,
    ttl_s: float | None,
    if_match: str | None,
) -> Response:
    validate_name(collection)
    validate_key(key)
    principal.require("write", collection)
    if_rev, _if_exists = parse_if_match(if_match)
    patch = parse_json(body, settings.max_json_depth)
    op = WriteOp("patch", collection, key, patch=patch, if_rev=if_rev, ttl_ms=ttl_ms(ttl_s))
    return envelope_response(principal, (await commit(store, principal, [op])).results[0])


async def delete_doc(
    store: Store, principal: Principal, collection: str, key: str, if_match: str | None
) -> Response:
    validate_name(collection)
    validate_key(key)
    principal.require("delete", collection)
    if_rev, _ = parse_if_match(if_match)
    await commit(store, principal, [WriteOp("delete", collection, key, if_rev=if_rev)])
    return Response(status_code=204)


async def create_doc(
    store: Store,
    settings: Settings,
    principal: Principal,
    collection: str,
    body: bytes,
    ttl_s: float | None,
) -> Response:
    validate_name(collection)
    principal.require("write", collection)
    value_json = encode_value(parse_json(body, settings.max_json_depth), settings.max_value_bytes)
    op = WriteOp("create", collection, value_json=value_json, ttl_ms=ttl_ms(ttl_s))
    result = (await commit(store, principal, [op])).results[0]
    response = envelope_response(principal, result, 201)
    response.headers["Location"] = doc_path(collection, result.key)
    return response


@dataclass(frozen=True, slots=True)
class RangeParams:
    """The query parameters of a range read, as `documents.list_documents` declares them."""

    gt: str | None = None
    gte: str | None = None
    lt: str | None = None
    lte: str | None = None
    prefix: str | None = None
    limit: int = 100
    reverse: bool = False
    cursor: str | None = None
    keys_only: bool = False


def encode_cursor(collection: str, last_key: str, reverse: bool) -> str:
    raw = orjson.dumps({"c": collection, "k": last_key, "r": reverse})
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str, collection: str, reverse: bool) -> str:
    try:
        data: Any = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        key, same = data["k"], data["c"] == collection and data["r"] == reverse
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise BadRequest("cursor is not one this server issued") from None
    if not same or not isinstance(key, str):
        raise BadRequest("cursor belongs to another collection or direction")
    # Cursors are client-held: a forged one must not smuggle in a key that no
    # document can have (control characters, empty, over 512 bytes).
    try:
        validate_key(key, "cursor")
    except ValidationFailed:
        raise BadRequest("cursor is not one this server issued") from None
    return key


def _bound(value: str | None, name: str) -> str | None:
    if value is not None:
        validate_key(value, name)
    return value


async def list_docs(
    store: Store, principal: Principal, collection: str, params: RangeParams
) -> Response:
    validate_name(collection)
    principal.require("read", collection)
    bounds = KeyRange(
        gt=_bound(params.gt, "gt"),
        gte=_bound(params.gte, "gte"),
        lt=_bound(params.lt, "lt"),
        lte=_bound(params.lte, "lte"),
        prefix=_bound(params.prefix, "prefix"),
    )
    reverse = params.reverse
    after = decode_cursor(params.cursor, collection, reverse) if params.cursor else None
    query = RangeQuery(collection, bounds, params.limit, reverse, after, params.keys_only)
    page = await store.range(query)
    next_cursor = (
        orjson.dumps(encode_cursor(collection, page.last_key, reverse))
        if page.last_key is not None
        else b"null"
    )
    body = b'{"items":[' + b",".join(page.items) + b'],"next_cursor":' + next_cursor + b"}"
    return Response(body, media_type=JSON, headers={"X-Levelstream-Seq": str(page.seq)})
