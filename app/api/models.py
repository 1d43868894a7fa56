"""Pydantic models of the wire format, for the OpenAPI document and the SDKs.

Hot paths do not run responses through these (they return bytes built by the
store); request bodies that are arbitrary JSON are parsed by `bodies`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.api.bodies import MAX_TTL_S

# JSON Schema of the contract's names and keys, for documenting parameters.
NAME_SCHEMA: dict[str, Any] = {"pattern": "^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$"}
KEY_SCHEMA: dict[str, Any] = {"pattern": "^[^\\x00-\\x1f\\x7f]+$", "minLength": 1, "maxLength": 512}
# `/v1/changes?collection=`: a name, or * for every collection the caller may read.
NAME_OR_ALL_SCHEMA: dict[str, Any] = {"pattern": "^(\\*|[A-Za-z0-9_][A-Za-z0-9_.-]{0,63})$"}
# A body that is any JSON value but null (a document, or a merge patch: a null patch
# would delete the whole value, which is what DELETE is for).
NOT_NULL_SCHEMA: dict[str, Any] = {"not": {"type": "null"}}
# `If-Match`: one ETag (`"1042"`, weak or bare digits also read) or `*`.
IF_MATCH_SCHEMA: dict[str, Any] = {"pattern": '^ *(\\*|(W/)?"?[0-9]{1,19}"?) *$'}


def optional_param(schema: dict[str, Any]) -> dict[str, Any]:
    """`json_schema_extra` of an optional query or header parameter: the constraints
    go on its string form (FastAPI documents it as `anyOf: [string, null]`)."""
    return {"anyOf": [{"type": "string", **schema}, {"type": "null"}]}


ENVELOPE_EXAMPLE: dict[str, Any] = {
    "collection": "tickets",
    "key": "t-1",
    "value": {"title": "Printer on fire", "status": "open"},
    "rev": 1042,
    "created_at": "2026-11-25T17:00:00.123Z",
    "updated_at": "2026-11-25T17:00:00.123Z",
}
CHANGE_EXAMPLE: dict[str, Any] = {
    "seq": 1042,
    "op": "put",
    "collection": "tickets",
    "key": "t-1",
    "value": {"title": "Printer on fire", "status": "open"},
    "rev": 1042,
    "prev_rev": 1000,
    "ts": "2026-11-25T17:00:00.123Z",
}


class Envelope(BaseModel):
    """A stored document version."""

    model_config = ConfigDict(json_schema_extra={"examples": [ENVELOPE_EXAMPLE]})

    collection: str
    key: str
    value: Any = Field(
        default=None, description="Any JSON value except null (absent in keys_only pages)"
    )
    rev: int = Field(description="The seq of the write that produced this version")
    created_at: str
    updated_at: str
    expires_at: str | None = Field(default=None, description="Set when the document has a TTL")


class DocumentPage(BaseModel):
    """One page of a range read; follow `next_cursor` until it is null."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [ENVELOPE_EXAMPLE], "next_cursor": None}]}
    )

    items: list[Envelope]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end"
    )


class QueryPlan(BaseModel):
    """The answer of a range read with `explain=true`: the plan instead of the items."""

    index: str | None = Field(description="The index the read used; null: it scanned")
    scanned: int = Field(description="Documents (or index entries) examined for this page")
    returned: int = Field(description="Documents the page would hold")
    needs_index: list[str] | None = Field(
        default=None,
        description="Set when a filter no index serves ran out of LEVELSTREAM_MAX_SCAN: "
        "the fields to index",
    )


class CollectionInfo(BaseModel):
    name: str
    count: int


class CollectionList(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [{"name": "tickets", "count": 12}]}]}
    )

    items: list[CollectionInfo]


class ChangeModel(BaseModel):
    """One committed change."""

    model_config = ConfigDict(title="Change", json_schema_extra={"examples": [CHANGE_EXAMPLE]})

    seq: int
    op: Literal["put", "delete"]
    collection: str
    key: str
    value: Any = Field(description="The new value; null for a delete")
    rev: int
    prev_rev: int | None
    ts: str
    reason: Literal["expired"] | None = None


class ChangesPage(BaseModel):
    """Changes after `since`, in seq order."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "changes": [CHANGE_EXAMPLE],
                    "last_seq": 1042,
                    "head_seq": 1042,
                    "epoch": "6f1c2d3e4a5b6c7d",
                }
            ]
        }
    )

    changes: list[ChangeModel]
    last_seq: int = Field(description="Pass as `since` next time")
    head_seq: int = Field(description="The database's latest seq at the read")
    epoch: str


class BatchOp(BaseModel):
    """One op of a batch; the server refuses any other member."""

    model_config = ConfigDict(extra="forbid")

    op: Literal["put", "patch", "delete"]
    collection: str = Field(json_schema_extra=NAME_SCHEMA)
    key: str = Field(json_schema_extra=KEY_SCHEMA)
    value: Any = Field(
        default=None,
        description="The value (put: any JSON value but null) or merge patch (patch: required)",
    )
    if_rev: int | None = Field(
        default=None, ge=0, description="Fail the whole batch unless at this rev"
    )
    ttl_s: float | None = Field(
        default=None, gt=0, le=MAX_TTL_S, description="put and patch: expire after seconds"
    )


class BatchRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "ops": [
                        {
                            "op": "put",
                            "collection": "tickets",
                            "key": "t-1",
                            "value": {"title": "Printer"},
                            "if_rev": 1042,
                        },
                        {"op": "delete", "collection": "tickets", "key": "t-2"},
                    ]
                }
            ]
        }
    )

    ops: list[BatchOp] = Field(min_length=1, max_length=1000)


class Deleted(BaseModel):
    collection: str
    key: str
    deleted: Literal[True]


class BatchResponse(BaseModel):
    """One result per op, in the order given."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "results": [
                        {**ENVELOPE_EXAMPLE, "rev": 1043, "value": {"title": "Printer"}},
                        {"collection": "tickets", "key": "t-2", "deleted": True},
                    ],
                    "seq": 1044,
                }
            ]
        }
    )

    results: list[Envelope | Deleted]
    seq: int = Field(description="The seq of the batch's last change")


class Problem(BaseModel):
    """RFC 9457 problem details."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": "urn:levelstream:problem:not_found",
                    "title": "Not found",
                    "status": 404,
                    "detail": "document 't-1' not found in collection 'tickets'",
                    "code": "not_found",
                    "request_id": "3f2b9c0d4e5f4a7b8c9d0e1f2a3b4c5d",
                }
            ]
        },
    )

    type: str
    title: str
    status: int
    detail: str
    code: Literal[
        "bad_request",
        "validation_failed",
        "unauthorized",
        "forbidden",
        "not_found",
        "conflict",
        "precondition_failed",
        "payload_too_large",
        "history_compacted",
        "rate_limited",
        "unavailable",
        "internal",
    ]
    request_id: str | None


class Health(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"status": "ready", "head_seq": 1042, "epoch": "6f1c2d3e4a5b6c7d"}]
        }
    )

    status: str
    head_seq: int | None = None
    epoch: str | None = None


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries documenting problem+json errors."""
    described = {
        400: "Bad request (malformed JSON or header)",
        401: "Missing or invalid credential",
        403: "The credential lacks the permission",
        404: "Not found",
        409: "Conflict",
        410: "History compacted: resnapshot",
        412: "Precondition failed (If-Match / If-None-Match / if_rev)",
        413: "Payload too large",
        422: "Validation failed",
        429: "Rate limited",
        503: "Unavailable",
    }
    return {
        status: {
            "description": described[status],
            "content": {
                "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
            },
        }
        for status in statuses
    }


# Every authenticated route can answer these (malformed request, credential, validation,
# rate limit).
AUTHENTICATED = (400, 401, 422, 429)


def authenticated_problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a router whose routes all need a credential."""
    return problems(*AUTHENTICATED, *statuses)


def json_body(schema: dict[str, Any], description: str, example: Any) -> dict[str, Any]:
    """`openapi_extra` for a route that reads its JSON body itself."""
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {"application/json": {"schema": schema, "example": example}},
        }
    }
