"""`GET /v1/stream`: Server-Sent Events (the wire side is app/api/sse.py).

Each change is `id: <seq>` / `event: change` / `data: <change json>`, the
same bytes for every subscriber. `Last-Event-ID` wins over `since`, so a
browser's automatic reconnect resumes where it stopped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Header, Query, Request, Response

from app.api.deps import StreamPrincipalDep
from app.api.filters import MAX_SEQ, build_filter, parse_since
from app.api.models import authenticated_problems, problems
from app.api.services import Services, services_of
from app.api.sse import EventStream
from app.auth.principal import Principal
from app.errors import BadRequest, ValidationFailed
from app.realtime.connection import Connection, Subscription
from app.store.keys import validate_name

router = APIRouter(prefix="/v1", tags=["realtime"], responses=authenticated_problems())


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
)
async def stream(
    request: Request,
    principal: StreamPrincipalDep,
    collection: Annotated[str | None, Query(description="A collection, or * for all")] = None,
    key: str | None = None,
    prefix: str | None = None,
    gt: str | None = None,
    gte: str | None = None,
    lt: str | None = None,
    lte: str | None = None,
    since: Annotated[int | None, Query(ge=0, le=MAX_SEQ)] = None,
    snapshot: bool = False,
    epoch: Annotated[str | None, Query(description="The epoch the cursor came from")] = None,
    channel: Annotated[str | None, Query(description="Also receive this channel")] = None,
    last_event_id: Annotated[str | None, Header(description="Resume after this seq")] = None,
) -> Response:
    params = StreamParams(
        collection, key, prefix, gt, gte, lt, lte, since, snapshot, epoch, channel, last_event_id
    )
    client_ip = request.scope.get("state", {}).get("client_ip")
    return await open_stream(services_of(request.app), principal, params, client_ip)


@dataclass(frozen=True, slots=True)
class StreamParams:
    """The query (and Last-Event-ID) of `GET /v1/stream`, as `stream` declares them."""

    collection: str | None = None
    key: str | None = None
    prefix: str | None = None
    gt: str | None = None
    gte: str | None = None
    lt: str | None = None
    lte: str | None = None
    since: int | None = None
    snapshot: bool = False
    epoch: str | None = None
    channel: str | None = None
    last_event_id: str | None = None


_STRINGS = frozenset(
    {"collection", "key", "prefix", "gt", "gte", "lt", "lte", "epoch", "channel", "token", "ticket"}
)
# Boolean spellings the fast lane reads itself; any other goes to FastAPI (see fastlane).
PLAIN_BOOLS = {"true": True, "false": False, "1": True, "0": False}
_SEQ_RE = re.compile(r"[0-9]{1,19}")


def plain_stream_query(query: bytes) -> dict[str, Any] | None:
    """The query of a stream request, or None when FastAPI should judge it (see
    app/server/front_door.py): the last value of a name wins, unknown names are ignored."""
    values: dict[str, Any] = {}
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if name in _STRINGS:
            values[name] = value
        elif name == "snapshot":
            if value not in PLAIN_BOOLS:
                return None
            values[name] = PLAIN_BOOLS[value]
        elif name == "since":
            if _SEQ_RE.fullmatch(value) is None or int(value) > MAX_SEQ:
                return None
            values[name] = int(value)
    return values


async def open_stream(
    services: Services, principal: Principal, params: StreamParams, client_ip: str | None
) -> Response:
    """Take a connection slot from the gate (`principal` was admitted by it), register
    the connection and its subscriptions; the response streams its outbox."""
    hub, bus, store, settings, gate = (
        services.hub,
        services.bus,
        services.store,
        services.settings,
        services.gate,
    )
    collection, channel, since, epoch = (
        params.collection,
        params.channel,
        params.since,
        params.epoch,
    )
    if collection is None and channel is None:
        raise ValidationFailed("give a collection (or *) and/or a channel")
    if params.last_event_id is not None:
        since = parse_since(params.last_event_id.strip(), "Last-Event-ID")
    flt = None
    if collection is not None:
        p = params
        flt = build_filter(principal, collection, p.key, p.prefix, p.gt, p.gte, p.lt, p.lte)
    if channel is not None:
        validate_name(channel, "channel")
        principal.require_channel("read", channel)
    if services.draining:
        return Response(status_code=503)
    if since is not None and since > store.head_seq and (epoch is None or epoch == store.epoch):
        raise BadRequest(f"since={since} is ahead of the head seq {store.head_seq}")

    slot = gate.open_connection(principal, client_ip, "sse")
    connection = Connection(principal, "sse", settings.ws_queue_limit)
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
