"""Documents: create, read, replace, patch, delete, range reads, collection list."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Request, Response

from app.api import doc_ops
from app.api.bodies import MAX_TTL_S
from app.api.deps import PrincipalDep, SettingsDep, StoreDep
from app.api.models import (
    ENVELOPE_EXAMPLE,
    IF_MATCH_SCHEMA,
    KEY_SCHEMA,
    NAME_SCHEMA,
    NOT_NULL_SCHEMA,
    CollectionList,
    DocumentPage,
    Envelope,
    authenticated_problems,
    json_body,
    optional_param,
    problems,
)

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
    Query(gt=0, le=MAX_TTL_S, description="Delete the document after this many seconds"),
]
IfMatch = Annotated[
    str | None,
    Header(
        description='Only if the current rev matches: `"1042"`; `*`: only if it exists',
        json_schema_extra=optional_param(IF_MATCH_SCHEMA),
    ),
]
# Range bounds are keys: the same rules as a key (not empty, no control characters).
KEY_BOUND = optional_param(KEY_SCHEMA)
ANY_VALUE = {"description": "Any JSON value except null", **NOT_NULL_SCHEMA}

JSON = "application/json"


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
        str | None,
        Header(
            description="`*`: only if the document does not exist",
            json_schema_extra=optional_param({"pattern": "^ *\\* *$"}),
        ),
    ] = None,
) -> Response:
    return await doc_ops.put_doc(
        store,
        settings,
        principal,
        collection,
        key,
        await request.body(),
        ttl_s,
        if_match,
        if_none_match,
    )


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
    return await doc_ops.get_doc(store, principal, collection, key, if_none_match)


@router.patch(
    "/{collection}/docs/{key:path}",
    summary="Merge-patch a document (RFC 7396)",
    response_model=None,
    responses={
        200: {"model": Envelope, "description": "Patched"},
        **problems(400, 401, 403, 404, 412, 413, 422),
    },
    openapi_extra=json_body(
        {"description": "A JSON Merge Patch: members set, null members removed", **NOT_NULL_SCHEMA},
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
    body = await request.body()
    return await doc_ops.patch_doc(
        store, settings, principal, collection, key, body, ttl_s, if_match
    )


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
    return await doc_ops.delete_doc(store, principal, collection, key, if_match)


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
    body = await request.body()
    return await doc_ops.create_doc(store, settings, principal, collection, body, ttl_s)


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
    gt: Annotated[
        str | None, Query(description="Keys after this one", json_schema_extra=KEY_BOUND)
    ] = None,
    gte: Annotated[
        str | None, Query(description="Keys from this one", json_schema_extra=KEY_BOUND)
    ] = None,
    lt: Annotated[
        str | None, Query(description="Keys before this one", json_schema_extra=KEY_BOUND)
    ] = None,
    lte: Annotated[
        str | None, Query(description="Keys up to this one", json_schema_extra=KEY_BOUND)
    ] = None,
    prefix: Annotated[
        str | None, Query(description="Keys starting with this", json_schema_extra=KEY_BOUND)
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    reverse: bool = False,
    cursor: Annotated[str | None, Query(max_length=2048, description="From next_cursor")] = None,
    keys_only: Annotated[bool, Query(description="Envelopes without values")] = False,
) -> Response:
    return await doc_ops.list_docs(
        store,
        principal,
        collection,
        doc_ops.RangeParams(gt, gte, lt, lte, prefix, limit, reverse, cursor, keys_only),
    )


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
