"""`GET /v1/stream`: Server-Sent Events (the wire side is app/api/sse.py).

Each change is `id: <seq>` / `event: change` / `data: <change json>`, the
same bytes for every subscriber. `Last-Event-ID` wins over `since`, so a
browser's automatic reconnect resumes where it stopped.

`open_stream` is the operation's only implementation: the front door (requests
without an Origin) and the route below (the rest, and the OpenAPI description)
both call it.
"""

from __future__ import annotations

import functools
from typing import Annotated

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from app.api.filters import MAX_SEQ, build_filter, parse_since
from app.api.models import authenticated_problems, problems
from app.api.params import described, query_values, validated
from app.api.requests import HttpRequest
from app.api.sse import EventStream, stream_outbox
from app.errors import BadRequest, ValidationFailed
from app.realtime.connection import Connection, Subscription
from app.store.keys import validate_name

router = APIRouter(prefix="/v1", tags=["realtime"], responses=authenticated_problems())


class StreamQuery(BaseModel):
    """The query of `GET /v1/stream`."""

    collection: str | None = Field(None, description="A collection, or * for all")
    key: str | None = None
    prefix: str | None = None
    gt: str | None = None
    gte: str | None = None
    lt: str | None = None
    lte: str | None = None
    since: Annotated[int | None, Field(ge=0, le=MAX_SEQ)] = None
    snapshot: bool = False
    where: str | None = Field(
        None,
        description="A CEL filter on doc, key and rev: enter/leave events (docs/queries.md)",
    )
    epoch: str | None = Field(None, description="The epoch the cursor came from")
    channel: str | None = Field(None, description="Also receive this channel")
    token: str | None = Field(
        None, description="A credential, for browsers (EventSource cannot set headers)"
    )
    ticket: str | None = Field(None, description="A single-use ticket from POST /v1/auth/ticket")


class StreamHeaders(BaseModel):
    last_event_id: str | None = Field(
        None, alias="last-event-id", description="Resume after this seq"
    )


@router.get(
    "/stream",
    summary="Subscribe to changes (and channel messages) as Server-Sent Events",
    name="stream_changes",
    response_model=None,
    responses={
        200: {
            "description": "An event stream: change, snapshot, message, presence, reset",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
        **problems(400, 401, 403, 422),
    },
    openapi_extra=described((StreamQuery, "query"), (StreamHeaders, "header")),
)
async def stream(request: Request) -> Response:
    return await open_stream(HttpRequest.of(request))


def _plain(query: bytes) -> bool:
    """A query that may be kept: it names no credential, even percent-encoded."""
    return b"%" not in query and b"token" not in query and b"ticket" not in query


# Thousands of clients open the same stream (`?collection=orders`): its query is parsed
# and validated once. The dict and the model are shared, never changed. A refusal raises
# and is not kept; a query with a credential is never kept (it stays in no cache).
_kept_values = functools.lru_cache(maxsize=256)(query_values)


@functools.lru_cache(maxsize=256)
def _kept_params(query: bytes) -> StreamQuery:
    return validated(StreamQuery, _kept_values(query), "query")


async def open_stream(request: HttpRequest) -> Response:
    """`GET /v1/stream`, the only implementation (the front door and the route call it).

    A credential is a `ticket`, a `token` or the request's headers. The connection
    takes a slot from the gate, registers with the hub and the bus; the response
    streams its outbox."""
    query = request.query
    plain = _plain(query)
    values = _kept_values(query) if plain else query_values(query)
    # Admitted before the query is judged, as every operation is (a 401 before a 422).
    ticket, token = values.get("ticket"), values.get("token")
    principal = await request.principal(ticket or token or None, "sse")
    params = _kept_params(query) if plain else validated(StreamQuery, values, "query")
    services = request.services
    hub, bus, store, settings = services.hub, services.bus, services.store, services.settings
    collection, channel, since, epoch = (
        params.collection,
        params.channel,
        params.since,
        params.epoch,
    )
    last_event_id = request.header(b"last-event-id")
    if collection is None and channel is None:
        raise ValidationFailed("give a collection (or *) and/or a channel")
    if last_event_id is not None:
        since = parse_since(last_event_id.strip(), "Last-Event-ID")
    flt = None
    if collection is not None:
        p = params
        flt = build_filter(
            principal,
            collection,
            p.key,
            p.prefix,
            p.gt,
            p.gte,
            p.lt,
            p.lte,
            rules=services.rules.current,
            where=p.where,
        )
    if channel is not None:
        validate_name(channel, "channel")
        principal.require_channel("read", channel)
    if services.draining:
        return Response(status_code=503)
    if since is not None and since > store.head_seq and (epoch is None or epoch == store.epoch):
        raise BadRequest(f"since={since} is ahead of the head seq {store.head_seq}")

    client_ip = request.scope["state"].get("client_ip")
    slot = services.gate.open_connection(principal, client_ip, "sse")
    limit = settings.ws_queue_limit
    outbox = stream_outbox(request.scope, limit, hub.flusher)
    connection = Connection(principal, "sse", limit, outbox)
    hub.connect(connection)
    if channel is not None:
        bus.subscribe(connection, "message", channel)
    if flt is not None:
        if epoch is not None and epoch != store.epoch:
            oldest = await store.oldest_seq()
            connection.outbox.push(b'event: reset\ndata: {"oldest_seq":%d}\n\n' % oldest)
            connection.end(1000, "epoch changed")
        else:
            sub = Subscription(
                connection, "sse", flt, principal.read_check(), settings.ws_queue_limit
            )
            hub.subscribe(sub, since=since, snapshot=params.snapshot)

    def on_end() -> None:
        hub.disconnect(connection)
        bus.disconnect(connection)
        connection.outbox.close()
        slot.release()

    return EventStream(connection, services.sse_keeper, on_end)
