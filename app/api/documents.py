"""Documents: create, read, replace, patch, delete, range reads, collection list."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any
from urllib.parse import quote

import orjson
from fastapi import APIRouter, Header, Path, Query, Request, Response

from app.api.bodies import encode_value, etag_matches, parse_if_match, read_json
from app.api.deps import PrincipalDep, SettingsDep, StoreDep
from app.api.models import (
    ENVELOPE_EXAMPLE,
    KEY_SCHEMA,
    NAME_SCHEMA,
    CollectionList,
    DocumentPage,
    Envelope,
    authenticated_problems,
    json_body,
    problems,
)
from app.errors import BadRequest, NotFound, ValidationFailed
from app.store.keys import validate_key, validate_name
from app.store.types import KeyRange, OpResult, RangeQuery, WriteOp

router = APIRouter(prefix="/v1/collections", tags=["documents"], responses=authenticated_problems())

# The patterns are documentation (for clients and fuzzers): the store validates names itself.
CollectionPath = Annotated[
    str, Path(description="Collection name", examples=["tickets"], json_schema_extra=NAME_SCHEMA)
]
KeyPath = Annotated[
    str,
    Path(
        description="Document key: 1-512 bytes of UTF-8, no control characters; `/` allowed",
        examples=["t-1"],
        json_schema_extra=KEY_SCHEMA,
    ),
]
TtlQuery = Annotated[
    float | None,
    Query(gt=0, le=315_360_000, description="Delete the document after this many seconds"),
]
IfMatch = Annotated[str | None, Header(description='Only if the current rev matches: `"1042"`')]
ANY_VALUE = {"description": "Any JSON value except null"}

JSON = "application/json"


def _envelope_response(result: OpResult, status: int = 200) -> Response:
    return Response(
        result.body, status_code=status, media_type=JSON, headers={"ETag": f'"{result.rev}"'}
    )


def _doc_path(collection: str, key: str) -> str:
    return f"/v1/collections/{collection}/docs/{quote(key, safe='/')}"


def _ttl_ms(ttl_s: float | None) -> int | None:
    return None if ttl_s is None else max(int(ttl_s * 1000), 1)


@router.put(
    "/{collection}/docs/{key:path}",
    summary="Create or replace a document",
    response_model=None,
    responses={
        200: {"model": Envelope, "description": "Replaced"},
        201: {"model": Envelope, "description": "Created"},
        **problems(400, 401, 403, 412, 413, 422),
    },
    openapi_extra=json_body(ANY_VALUE, "The document value", ENVELOPE_EXAMPLE["value"]),
)
async def put_document(
    request: Request,
    collection: CollectionPath,
    key: KeyPath,
    principal: PrincipalDep,
    store: StoreDep,
    settings: SettingsDep,
    ttl_s: TtlQuery = None,
    if_match: IfMatch = None,
    if_none_match: Annotated[
        str | None, Header(description="`*`: only if the document does not exist")
    ] = None,
) -> Response:
    validate_name(collection)
    validate_key(key)
    principal.require("write", collection)
    if_rev, if_exists = parse_if_match(if_match)
    if if_none_match is not None and if_none_match.strip() != "*":
        raise BadRequest("If-None-Match on PUT supports only *")
    value_json = encode_value(
        await read_json(request, settings.max_json_depth), settings.max_value_bytes
    )
    op = WriteOp(
        "put",
        collection,
        key,
        value_json,
        if_rev=if_rev,
        if_exists=if_exists,
        if_absent=if_none_match is not None,
        ttl_ms=_ttl_ms(ttl_s),
    )
    result = (await store.write([op])).results[0]
    response = _envelope_response(result, 201 if result.created else 200)
    if result.created:
        response.headers["Location"] = _doc_path(collection, key)
    return response


@router.get(
    "/{collection}/docs/{key:path}",
    summary="Read a document",
    response_model=None,
    responses={
        200: {"model": Envelope, "description": "The document"},
        304: {"description": "Not modified (If-None-Match)"},
        **problems(401, 403, 404, 422),
    },
)
async def get_document(
    collection: CollectionPath,
    key: KeyPath,
    principal: PrincipalDep,
    store: StoreDep,
    if_none_match: Annotated[str | None, Header(description='`"<rev>"` from an ETag')] = None,
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


@router.patch(
    "/{collection}/docs/{key:path}",
    summary="Merge-patch a document (RFC 7396)",
    response_model=None,
    responses={
        200: {"model": Envelope, "description": "Patched"},
        **problems(400, 401, 403, 404, 412, 413, 422),
    },
    openapi_extra=json_body(
        {"description": "A JSON Merge Patch: members set, null members removed"},
        "The merge patch",
        {"status": "closed", "assignee": None},
    ),
)
async def patch_document(
    request: Request,
    collection: CollectionPath,
    key: KeyPath,
    principal: PrincipalDep,
    store: StoreDep,
    settings: SettingsDep,
    ttl_s: TtlQuery = None,
    if_match: IfMatch = None,
) -> Response:
    validate_name(collection)
    validate_key(key)
    principal.require("write", collection)
    if_rev, _if_exists = parse_if_match(if_match)
    patch = await read_json(request, settings.max_json_depth)
    op = WriteOp("patch", collection, key, patch=patch, if_rev=if_rev, ttl_ms=_ttl_ms(ttl_s))
    return _envelope_response((await store.write([op])).results[0])


@router.delete(
    "/{collection}/docs/{key:path}",
    summary="Delete a document",
    status_code=204,
    response_model=None,
    responses={204: {"description": "Deleted"}, **problems(400, 401, 403, 404, 412, 422)},
)
async def delete_document(
    collection: CollectionPath,
    key: KeyPath,
    principal: PrincipalDep,
    store: StoreDep,
    if_match: IfMatch = None,
) -> Response:
    validate_name(collection)
    validate_key(key)
    principal.require("delete", collection)
    if_rev, _ = parse_if_match(if_match)
    await store.write([WriteOp("delete", collection, key, if_rev=if_rev)])
    return Response(status_code=204)


@router.post(
    "/{collection}/docs",
    summary="Create a document with a server-chosen, time-ordered key",
    status_code=201,
    response_model=None,
    responses={
        201: {"model": Envelope, "description": "Created"},
        **problems(400, 401, 403, 413, 422),
    },
    openapi_extra=json_body(ANY_VALUE, "The document value", ENVELOPE_EXAMPLE["value"]),
)
async def create_document(
    request: Request,
    collection: CollectionPath,
    principal: PrincipalDep,
    store: StoreDep,
    settings: SettingsDep,
    ttl_s: TtlQuery = None,
) -> Response:
    validate_name(collection)
    principal.require("write", collection)
    value_json = encode_value(
        await read_json(request, settings.max_json_depth), settings.max_value_bytes
    )
    op = WriteOp("create", collection, value_json=value_json, ttl_ms=_ttl_ms(ttl_s))
    result = (await store.write([op])).results[0]
    response = _envelope_response(result, 201)
    response.headers["Location"] = _doc_path(collection, result.key)
    return response


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


@router.get(
    "/{collection}/docs",
    summary="Read an ordered range of documents",
    response_model=None,
    responses={
        200: {"model": DocumentPage, "description": "One page"},
        **problems(400, 401, 403, 422),
    },
)
async def list_documents(
    collection: CollectionPath,
    principal: PrincipalDep,
    store: StoreDep,
    gt: Annotated[str | None, Query(description="Keys after this one")] = None,
    gte: Annotated[str | None, Query(description="Keys from this one")] = None,
    lt: Annotated[str | None, Query(description="Keys before this one")] = None,
    lte: Annotated[str | None, Query(description="Keys up to this one")] = None,
    prefix: Annotated[str | None, Query(description="Keys starting with this")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    reverse: bool = False,
    cursor: Annotated[str | None, Query(max_length=2048, description="From next_cursor")] = None,
    keys_only: Annotated[bool, Query(description="Envelopes without values")] = False,
) -> Response:
    validate_name(collection)
    principal.require("read", collection)
    bounds = KeyRange(
        gt=_bound(gt, "gt"),
        gte=_bound(gte, "gte"),
        lt=_bound(lt, "lt"),
        lte=_bound(lte, "lte"),
        prefix=_bound(prefix, "prefix"),
    )
    after = decode_cursor(cursor, collection, reverse) if cursor else None
    query = RangeQuery(collection, bounds, limit, reverse, after, keys_only)
    page = await store.range(query)
    next_cursor = (
        orjson.dumps(encode_cursor(collection, page.last_key, reverse))
        if page.last_key is not None
        else b"null"
    )
    body = b'{"items":[' + b",".join(page.items) + b'],"next_cursor":' + next_cursor + b"}"
    return Response(body, media_type=JSON, headers={"X-Levelstream-Seq": str(page.seq)})


@router.get(
    "",
    summary="List the collections that hold documents",
    response_model=CollectionList,
    responses=problems(401),
)
async def list_collections(principal: PrincipalDep, store: StoreDep) -> CollectionList:
    items = [
        {"name": name, "count": count}
        for name, count in await store.collections()
        if principal.may("read", name)
    ]
    return CollectionList.model_validate({"items": items})
