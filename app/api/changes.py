"""`GET /v1/changes`: the change log by seq, with long-polling (`wait`).

A long-poll answers up to a minute after it was admitted. Each time it wakes
up it goes back through the gate (`Gate.recheck`) and rebuilds its filter and
read check from the principal as it is then: a key revoked or narrowed while
the poll waited never gets a change written after that (401 or 403, or the
changes its current rights allow).

`read_changes` is the operation's only implementation; the route calls it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Annotated

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from app.api.filters import MAX_SEQ, build_filter
from app.api.models import (
    KEY_SCHEMA,
    NAME_OR_ALL_SCHEMA,
    ChangesPage,
    authenticated_problems,
    optional_param,
    problems,
)
from app.api.params import PageLimit, described, parse_query
from app.api.requests import HttpRequest
from app.auth.principal import Principal
from app.auth.rules import RuleSet
from app.store.types import ChangeBatch, ChangeFilter

router = APIRouter(prefix="/v1", tags=["changes"], responses=authenticated_problems())
# Documentation of the key filters (at most one of key, prefix, a range): keys' rules.
_KEY_FILTER = optional_param(KEY_SCHEMA)


class ChangesQuery(BaseModel):
    """The query of `GET /v1/changes`."""

    collection: str = Field(
        description="A collection, or * for all readable", json_schema_extra=NAME_OR_ALL_SCHEMA
    )
    key: str | None = Field(None, json_schema_extra=_KEY_FILTER)
    prefix: str | None = Field(None, json_schema_extra=_KEY_FILTER)
    gt: str | None = Field(None, json_schema_extra=_KEY_FILTER)
    gte: str | None = Field(None, json_schema_extra=_KEY_FILTER)
    lt: str | None = Field(None, json_schema_extra=_KEY_FILTER)
    lte: str | None = Field(None, json_schema_extra=_KEY_FILTER)
    since: Annotated[
        int | None, Field(ge=0, le=MAX_SEQ, description="Deliver changes with seq > since")
    ] = None
    limit: PageLimit = 100
    wait: float = Field(0, ge=0, le=60, description="Long-poll: seconds to wait for a change")
    where: str | None = Field(
        None,
        description="A CEL filter on doc, key and rev: enter/leave events (docs/queries.md)",
    )

    def filter_for(self, principal: Principal, rules: RuleSet) -> ChangeFilter:
        return build_filter(
            principal,
            self.collection,
            self.key,
            self.prefix,
            self.gt,
            self.gte,
            self.lt,
            self.lte,
            rules=rules,
            where=self.where,
        )


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
    openapi_extra=described((ChangesQuery, "query")),
)
async def get_changes(request: Request) -> Response:
    return await read_changes(HttpRequest.of(request))


async def read_changes(request: HttpRequest) -> Response:
    """`GET /v1/changes`, the operation's only implementation."""
    principal = await request.principal()
    query = parse_query(ChangesQuery, request.query)
    services = request.services
    store, notifier, gate = services.store, services.notifier, services.gate
    flt = query.filter_for(principal, services.rules.current)
    can_read = principal.read_check()
    start = store.head_seq if query.since is None else query.since
    deadline = time.monotonic() + query.wait
    while True:
        # Arm before reading, so a commit after the read still wakes us.
        wakeup = notifier.arm()
        try:
            batch = await store.changes(flt, start, query.limit, can_read)
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
        principal = gate.recheck(principal, request.entry("http"))
        flt = query.filter_for(principal, services.rules.current)  # rules saved meanwhile
        can_read = principal.read_check()
