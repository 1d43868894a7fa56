"""`POST /v1/batch`: many document ops, all or nothing, consecutive seqs.

`parse_ops`/`parse_op` read JSON-shaped ops (a batch's, and the WebSocket write and
batch ops'); what makes a valid, permitted put/patch/delete is `doc_ops`' (`writable`,
`put_op`, `patch_op`), shared with the REST document routes.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from app.api import idempotency
from app.api.bodies import read_json
from app.api.deps import PrincipalDep, SettingsDep, StoreDep
from app.api.doc_ops import commit_answer, patch_op, put_op, writable
from app.api.idempotency import Idempotent
from app.api.models import BatchRequest, BatchResponse, authenticated_problems, problems
from app.api.params import json_ttl_s
from app.api.services import services_of
from app.auth.disclosure import shown_result
from app.auth.principal import Principal
from app.auth.rules import RuleSet
from app.errors import LevelstreamError, ValidationFailed
from app.settings import Settings
from app.store.base import Store
from app.store.types import Answered, TxResult, WriteOp

router = APIRouter(prefix="/v1", tags=["batch"], responses=authenticated_problems())

MAX_OPS = 1000
_FIELDS = {"op", "collection", "key", "value", "if_rev", "ttl_s"}
_PERMISSION = {"put": "write", "patch": "write", "delete": "delete"}


def parse_ops(body: Any, principal: Principal, settings: Settings) -> list[WriteOp]:
    """Validate and authorize every op first: one bad op refuses the whole batch."""
    if not isinstance(body, dict) or not isinstance(body.get("ops"), list):
        raise ValidationFailed('the body must be {"ops": [...]}', field="ops")
    raw_ops = body["ops"]
    if not raw_ops:
        raise ValidationFailed("ops must hold at least one op", field="ops")
    if len(raw_ops) > MAX_OPS:
        raise ValidationFailed(f"a batch holds at most {MAX_OPS} ops", field="ops")
    ops = []
    for index, raw in enumerate(raw_ops):
        try:
            ops.append(parse_op(raw, principal, settings))
        except LevelstreamError as exc:
            exc.detail = f"op {index}: {exc.detail}"
            exc.extra["op_index"] = index
            raise
    return ops


def render_results(principal: Principal, result: TxResult) -> bytes:
    """The body of a committed batch: each result as `principal` may see it."""
    shown = b",".join(shown_result(principal, r) for r in result.results)
    return b'{"results":[%s],"seq":%d}' % (shown, result.last_seq)


async def write_ops(
    store: Store,
    rules: RuleSet,
    principal: Principal,
    ops: list[WriteOp],
    idem: Idempotent | None = None,
) -> Answered:
    """Commit a batch, answered with its results' JSON (`render_results`), at most once
    with an idempotency key; a refusal always names the failing op (`op_index`)."""

    def render(result: TxResult) -> bytes:
        return render_results(principal, result)

    try:
        return await commit_answer(store, rules, principal, ops, render, idem)
    except LevelstreamError as exc:
        # The store names the op only in transactions of several ops (a single
        # PUT is one too); a batch of one op must still say which op failed.
        if len(ops) == 1 and exc.code != "unavailable" and "op_index" not in exc.extra:
            exc.extra["op_index"] = 0
            exc.detail = f"op 0: {exc.detail}"
        raise


def parse_op(raw: Any, principal: Principal, settings: Settings) -> WriteOp:
    """One write op (a batch's, or a single WebSocket write's), validated and authorized."""
    if not isinstance(raw, dict):
        raise ValidationFailed("an op must be an object")
    unknown = set(raw) - _FIELDS
    if unknown:
        raise ValidationFailed(f"unknown field(s): {', '.join(sorted(unknown))}")
    kind = raw.get("op")
    if not isinstance(kind, str) or kind not in _PERMISSION:  # {} is unhashable: not a 500
        raise ValidationFailed("op must be one of put, patch, delete", field="op")
    ttl_s = json_ttl_s(raw.get("ttl_s"))
    collection, key = raw.get("collection"), raw.get("key")
    writable(principal, _PERMISSION[kind], collection, key)
    assert isinstance(collection, str) and isinstance(key, str)  # checked by `writable`
    if_rev = raw.get("if_rev")
    if if_rev is not None and (type(if_rev) is not int or if_rev < 0):
        raise ValidationFailed("if_rev must be a non-negative integer", field="if_rev")
    if kind == "put":
        return put_op(settings, collection, key, raw.get("value"), ttl_s=ttl_s, if_rev=if_rev)
    if kind == "patch":
        if "value" not in raw:
            raise ValidationFailed("a patch op needs value (the merge patch)", field="value")
        return patch_op(collection, key, raw["value"], ttl_s=ttl_s, if_rev=if_rev)
    return WriteOp("delete", collection, key, if_rev=if_rev)


@router.post(
    "/batch",
    summary="Apply many ops atomically",
    name="apply_batch",
    response_model=None,
    responses={
        200: {"model": BatchResponse, "description": "All ops applied"},
        **problems(400, 401, 403, 404, 409, 412, 413, 422),
    },
    openapi_extra={
        "parameters": [idempotency.PARAMETER_REF],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/BatchRequest"}}
            },
        },
    },
)
async def batch(
    request: Request, principal: PrincipalDep, store: StoreDep, settings: SettingsDep
) -> Response:
    services = services_of(request.app)
    idem = idempotency.requested(
        request.headers.get("idempotency-key"),
        "Idempotency-Key",
        "http batch",
        settings.idempotency_ttl_s,
        services.in_flight,
    )
    ops = parse_ops(await read_json(request, settings.max_json_depth), principal, settings)
    answered = await write_ops(store, services.rules.current, principal, ops, idem)
    headers = {idempotency.REPLAYED_HEADER: "true"} if answered.replayed else None
    return Response(answered.answer, media_type="application/json", headers=headers)


EXTRA_SCHEMAS = [BatchRequest]
