"""Range reads (`GET /v1/collections/{collection}/docs`): their only implementation.

`list_range` parses the query (`RangeParams`: key bounds, `limit`, `reverse`,
`cursor`, `keys_only`, `where`, `order_by`, `explain`), admits the caller, plans the
read over the collection's indexes, hands the store one `match` (the filter and the
caller's read rule) under the `LEVELSTREAM_MAX_SCAN` budget, and renders the page or
its plan. The front door and the FastAPI route in `documents` both dispatch here.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Annotated, Any

import orjson
from pydantic import BaseModel, Field
from starlette.responses import Response

from app.api.doc_ops import JSON
from app.api.filters import compile_where
from app.api.models import KEY_SCHEMA, optional_param
from app.api.params import MAX_CURSOR, PageLimit, parse_query
from app.api.requests import HttpRequest
from app.cel import Program
from app.errors import BadRequest, ValidationFailed
from app.store.core import planner
from app.store.core.indexing import parse_path
from app.store.keys import validate_key, validate_name
from app.store.types import IndexScan, KeyRange, RangeQuery

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
    program = compile_where(params.where)
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
