"""`GET /v1/changes`: the change log by seq, with long-polling (`wait`).

A long-poll answers up to a minute after it was admitted. Each time it wakes
up it goes back through the gate (`Gate.recheck`) and rebuilds its filter and
read check from the principal as it is then: a key revoked or narrowed while
the poll waited never gets a change written after that (401 or 403, or the
changes its current rights allow).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from app.api.deps import GateDep, NotifierDep, PrincipalDep, StoreDep, entry_of
from app.api.filters import MAX_SEQ, build_filter
from app.api.models import (
    KEY_SCHEMA,
    NAME_OR_ALL_SCHEMA,
    ChangesPage,
    authenticated_problems,
    optional_param,
    problems,
)
from app.store.types import ChangeBatch

router = APIRouter(prefix="/v1", tags=["changes"], responses=authenticated_problems())
# Documentation of the key filters (at most one of key, prefix, a range): keys' rules.
_KEY_FILTER = optional_param(KEY_SCHEMA)


def changes_body(batch: ChangeBatch, epoch: str) -> bytes:
    return b'{"changes":[%s],"last_seq":%d,"head_seq":%d,"epoch":"%s"}' % (
        b",".join(batch.changes),
        batch.last_seq,
        batch.head_seq,
        epoch.encode("ascii"),
    )


@router.get(
    "/changes",
    summary="Read changes after a seq (long-poll with wait)",
    response_model=None,
    responses={
        200: {"model": ChangesPage, "description": "Changes"},
        **problems(400, 401, 403, 410, 422),
    },
)
async def get_changes(
    request: Request,
    principal: PrincipalDep,
    gate: GateDep,
    store: StoreDep,
    notifier: NotifierDep,
    collection: Annotated[
        str,
        Query(
            description="A collection, or * for all readable", json_schema_extra=NAME_OR_ALL_SCHEMA
        ),
    ],
    key: Annotated[str | None, Query(json_schema_extra=_KEY_FILTER)] = None,
    prefix: Annotated[str | None, Query(json_schema_extra=_KEY_FILTER)] = None,
    gt: Annotated[str | None, Query(json_schema_extra=_KEY_FILTER)] = None,
    gte: Annotated[str | None, Query(json_schema_extra=_KEY_FILTER)] = None,
    lt: Annotated[str | None, Query(json_schema_extra=_KEY_FILTER)] = None,
    lte: Annotated[str | None, Query(json_schema_extra=_KEY_FILTER)] = None,
    since: Annotated[
        int | None, Query(ge=0, le=MAX_SEQ, description="Deliver changes with seq > since")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    wait: Annotated[
        float, Query(ge=0, le=60, description="Long-poll: seconds to wait for a change")
    ] = 0,
) -> Response:
    flt = build_filter(principal, collection, key, prefix, gt, gte, lt, lte)
    can_read = principal.read_check()
    start = store.head_seq if since is None else since
    deadline = time.monotonic() + wait
    while True:
        # Arm before reading, so a commit after the read still wakes us.
        wakeup = notifier.arm()
        try:
            batch = await store.changes(flt, start, limit, can_read)
            remaining = deadline - time.monotonic()
            # A read that stopped short of the head (its scan budget) answers at once.
            done = batch.changes or batch.last_seq < batch.head_seq
            if done or remaining <= 0 or notifier.closed:
                return Response(changes_body(batch, store.epoch), media_type="application/json")
            # Nothing matched up to the head: the next read can start there.
            start = batch.last_seq
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wakeup, remaining)
        finally:
            notifier.disarm(wakeup)
        # Re-admitted before the next read: the credential may have been revoked or
        # narrowed while this poll waited.
        principal = gate.recheck(principal, entry_of(request, "http"))
        flt = build_filter(principal, collection, key, prefix, gt, gte, lt, lte)
        can_read = principal.read_check()
