"""Documents: the routes of create, read, replace, patch, delete, range reads (thin:
the operations are `doc_ops`'), and the collection list."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from app.api import doc_ops, idempotency, ranges
from app.api.deps import PrincipalDep, StoreDep
from app.api.doc_ops import WriteQuery
from app.api.models import (
    ENVELOPE_EXAMPLE,
    IF_MATCH_SCHEMA,
    KEY_SCHEMA,
    NAME_SCHEMA,
    NOT_NULL_SCHEMA,
    CollectionList,
    DocumentPage,
    Envelope,
    QueryPlan,
    authenticated_problems,
    json_body,
    optional_param,
    problems,
)
from app.api.params import described
from app.api.ranges import RangeParams
from app.api.requests import HttpRequest

router = APIRouter(prefix="/v1/collections", tags=["documents"], responses=authenticated_problems())


# What the routes take from their path, and their headers: plain strings, described
# here and checked by the operation (`validate_name`, `validate_key`, `parse_if_match`).
class CollectionPath(BaseModel):
    collection: str = Field(
        description="Collection name", examples=["tickets"], json_schema_extra=NAME_SCHEMA
    )


class DocPath(CollectionPath):
    key: str = Field(
        description="Document key: 1-512 bytes of UTF-8, no control characters; `/` allowed",
        examples=["t-1"],
        json_schema_extra=KEY_SCHEMA,
    )


_IF_MATCH = Field(
    None,
    alias="if-match",
    description='Only if the current rev matches: `"1042"`; `*`: only if it exists',
    json_schema_extra=optional_param(IF_MATCH_SCHEMA),
)


class GetHeaders(BaseModel):
    if_none_match: str | None = Field(
        None, alias="if-none-match", description='`"<rev>"` from an ETag'
    )


class IfMatchHeaders(BaseModel):
    if_match: str | None = _IF_MATCH


class PutHeaders(IfMatchHeaders):
    if_none_match: str | None = Field(
        None,
        alias="if-none-match",
        description="`*`: only if the document does not exist",
        json_schema_extra=optional_param({"pattern": "^ *\\* *$"}),
    )


ANY_VALUE = {"description": "Any JSON value except null", **NOT_NULL_SCHEMA}
DOCUMENT_BODY = json_body(ANY_VALUE, "The document value", ENVELOPE_EXAMPLE["value"])
DOC_ROUTE = "/{collection}/docs/{key:path}"


def _write(extra: dict[str, Any]) -> dict[str, Any]:
    """A write route's `openapi_extra`: its parameters and the `Idempotency-Key` header."""
    extra["parameters"].append(idempotency.PARAMETER_REF)
    return extra


def _doc(request: Request) -> tuple[HttpRequest, str, str]:
    params = request.path_params
    return HttpRequest.of(request), params["collection"], params["key"]


# Each route hands its request to the operation in `doc_ops`, the only implementation;
# the front door reaches the same functions without FastAPI (app/server/front_door.py).


@router.put(
    DOC_ROUTE,
    summary="Create or replace a document",
    response_model=None,
    responses={
        200: {"model": Envelope, "description": "Replaced"},
        201: {"model": Envelope, "description": "Created"},
        **problems(400, 401, 403, 409, 412, 413, 422),
    },
    openapi_extra=_write(
        described((DocPath, "path"), (WriteQuery, "query"), (PutHeaders, "header"), **DOCUMENT_BODY)
    ),
)
async def put_document(request: Request) -> Response:
    return await doc_ops.put(*_doc(request))


@router.get(
    DOC_ROUTE,
    summary="Read a document",
    response_model=None,
    responses={
        200: {"model": Envelope, "description": "The document"},
        304: {"description": "Not modified (If-None-Match)"},
        **problems(401, 403, 404, 422),
    },
    openapi_extra=described((DocPath, "path"), (GetHeaders, "header")),
)
async def get_document(request: Request) -> Response:
    return await doc_ops.get(*_doc(request))


@router.patch(
    DOC_ROUTE,
    summary="Merge-patch a document (RFC 7396)",
    response_model=None,
    responses={
        200: {"model": Envelope, "description": "Patched"},
        **problems(400, 401, 403, 404, 409, 412, 413, 422),
    },
    openapi_extra=_write(
        described(
            (DocPath, "path"),
            (WriteQuery, "query"),
            (IfMatchHeaders, "header"),
            **json_body(
                {
                    "description": "A JSON Merge Patch: members set, null members removed",
                    **NOT_NULL_SCHEMA,
                },
                "The merge patch",
                {"status": "closed", "assignee": None},
            ),
        )
    ),
)
async def patch_document(request: Request) -> Response:
    return await doc_ops.patch(*_doc(request))


@router.delete(
    DOC_ROUTE,
    summary="Delete a document",
    status_code=204,
    response_model=None,
    responses={204: {"description": "Deleted"}, **problems(400, 401, 403, 404, 409, 412, 422)},
    openapi_extra=_write(described((DocPath, "path"), (IfMatchHeaders, "header"))),
)
async def delete_document(request: Request) -> Response:
    return await doc_ops.delete(*_doc(request))


@router.post(
    "/{collection}/docs",
    summary="Create a document with a server-chosen, time-ordered key",
    status_code=201,
    response_model=None,
    responses={
        201: {"model": Envelope, "description": "Created"},
        **problems(400, 401, 403, 409, 413, 422),
    },
    openapi_extra=_write(
        described((CollectionPath, "path"), (WriteQuery, "query"), **DOCUMENT_BODY)
    ),
)
async def create_document(request: Request) -> Response:
    return await doc_ops.create(HttpRequest.of(request), request.path_params["collection"])


@router.get(
    "/{collection}/docs",
    summary="Read an ordered range of documents",
    response_model=None,
    responses={
        200: {
            "model": DocumentPage | QueryPlan,
            "description": "One page; with `explain=true`, the plan instead",
        },
        **problems(400, 401, 403, 422),
    },
    openapi_extra=described((CollectionPath, "path"), (RangeParams, "query")),
)
async def list_documents(request: Request) -> Response:
    return await ranges.list_range(HttpRequest.of(request), request.path_params["collection"])


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
