"""`GET /v1/stream`: Server-Sent Events (sse-starlette).

Each change is `id: <seq>` / `event: change` / `data: <change json>`, the
same bytes for every subscriber. `Last-Event-ID` wins over `since`, so a
browser's automatic reconnect resumes where it stopped.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response
from sse_starlette import EventSourceResponse

from app.api.deps import SettingsDep, StoreDep, StreamPrincipalDep
from app.api.filters import MAX_SEQ, build_filter, parse_since
from app.api.models import authenticated_problems, problems
from app.errors import BadRequest, ValidationFailed
from app.realtime.channels import ChannelBus
from app.realtime.connection import Connection, Subscription
from app.realtime.hub import Hub
from app.store.keys import validate_name

router = APIRouter(prefix="/v1", tags=["realtime"], responses=authenticated_problems())

RETRY_MS = 2000


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
    store: StoreDep,
    settings: SettingsDep,
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
    hub: Hub = request.app.state.hub
    bus: ChannelBus = request.app.state.bus
    if collection is None and channel is None:
        raise ValidationFailed("give a collection (or *) and/or a channel")
    if last_event_id is not None:
        since = parse_since(last_event_id.strip(), "Last-Event-ID")
    flt = None
    if collection is not None:
        flt = build_filter(principal, collection, key, prefix, gt, gte, lt, lte)
    if channel is not None:
        validate_name(channel, "channel")
        principal.require_channel("read", channel)
    if request.app.state.draining:
        return Response(status_code=503)
    if since is not None and since > store.head_seq and (epoch is None or epoch == store.epoch):
        raise BadRequest(f"since={since} is ahead of the head seq {store.head_seq}")

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
            hub.subscribe(sub, since=since, snapshot=snapshot)

    async def events() -> AsyncIterator[bytes]:
        try:
            yield b"retry: %d\n\n" % RETRY_MS
            while True:
                frames = await connection.outbox.take()
                if frames:
                    # One write for everything queued: fewer syscalls under load.
                    yield b"".join(f if isinstance(f, bytes) else f.encode() for f in frames)
                    continue
                if connection.close_code not in (None, 1000, 1001):
                    # Slow consumer or revoked: say why before the stream ends.
                    yield b": closed %d %s\n\n" % (
                        connection.close_code or 4008,
                        connection.close_reason.encode(),
                    )
                return
        finally:
            hub.disconnect(connection)
            bus.disconnect(connection)
            connection.outbox.close()

    return EventSourceResponse(
        events(),
        ping=settings.sse_ping_s,
        # A reader that stops reading (a stopped process, a stuck proxy) is cut
        # after this long instead of holding its subscriptions for ever.
        send_timeout=settings.sse_send_timeout_s,
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
