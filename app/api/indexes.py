"""JSON field indexes of a collection: create (built online), read with progress,
list, drop. Admin only. What an index is and how reads use it: docs/queries.md."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from app.api.deps import AdminDep, StoreDep
from app.api.models import authenticated_problems, problems
from app.errors import Conflict, NotFound
from app.store.core.indexing import MAX_FIELDS, IndexDef, parse_fields, validate_index_name
from app.store.keys import validate_name

router = APIRouter(
    prefix="/v1/collections/{collection}/indexes",
    tags=["indexes"],
    responses=authenticated_problems(403),
)


class IndexSpec(BaseModel):
    fields: list[str] = Field(
        min_length=1,
        max_length=MAX_FIELDS,
        description="Dotted field paths, in index order (the leading ones serve == and in)",
        examples=[["owner", "status"]],
    )


class Index(BaseModel):
    name: str
    fields: list[str]
    state: Literal["building", "ready"] = Field(
        description="`building` while the online build runs; reads use only `ready` indexes"
    )
    done: int = Field(description="Documents indexed by the build so far")
    total: int = Field(description="Documents of the collection (as the build last saw)")


class IndexList(BaseModel):
    items: list[Index]


def _public(index: IndexDef) -> Index:
    return Index.model_validate(index.public())


@router.put(
    "/{name}",
    summary="Create an index (built online over existing documents)",
    response_model=Index,
    responses={
        200: {"description": "The index existed already (same fields)"},
        201: {"model": Index, "description": "Created; it builds in the background"},
        **problems(401, 403, 409, 422),
    },
)
async def put_index(
    collection: str, name: str, spec: IndexSpec, store: StoreDep, _admin: AdminDep
) -> Response:
    validate_name(collection)
    validate_index_name(name)
    fields = parse_fields(spec.fields)
    index, created = await store.create_index(collection, name, fields)
    if index.fields != fields:
        raise Conflict(
            f"index {name!r} exists with other fields {_public(index).fields}; "
            "drop it first to redefine it"
        )
    body = _public(index).model_dump_json()
    return Response(body, status_code=201 if created else 200, media_type="application/json")


@router.get("", summary="List a collection's indexes", response_model=IndexList)
async def list_indexes(collection: str, store: StoreDep, _admin: AdminDep) -> IndexList:
    validate_name(collection)
    return IndexList(items=[_public(index) for index in await store.indexes(collection)])


async def _find(store: StoreDep, collection: str, name: str) -> IndexDef:
    validate_name(collection)
    validate_index_name(name)
    found = next((i for i in await store.indexes(collection) if i.name == name), None)
    if found is None:
        raise NotFound(f"index {name!r} not found in collection {collection!r}")
    return found


@router.get(
    "/{name}",
    summary="Read an index and its build progress",
    response_model=Index,
    responses=problems(401, 403, 404),
)
async def get_index(collection: str, name: str, store: StoreDep, _admin: AdminDep) -> Index:
    return _public(await _find(store, collection, name))


@router.delete(
    "/{name}",
    summary="Drop an index",
    status_code=204,
    response_model=None,
    responses={204: {"description": "Dropped"}, **problems(401, 403, 404)},
)
async def delete_index(collection: str, name: str, store: StoreDep, _admin: AdminDep) -> Response:
    validate_name(collection)
    validate_index_name(name)
    if not await store.drop_index(collection, name):
        raise NotFound(f"index {name!r} not found in collection {collection!r}")
    return Response(status_code=204)
