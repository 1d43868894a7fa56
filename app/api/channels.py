"""Ephemeral channels over REST: publish a message, list presence.

`channel_for`, `publish` and `presence` are the operations' steps, shared with the
WebSocket `publish` and `presence` ops (`ws_ops`).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel

from app.api.bodies import read_json
from app.api.deps import PrincipalDep, SettingsDep
from app.api.models import NAME_SCHEMA, authenticated_problems, json_body, problems
from app.api.services import services_of
from app.auth.principal import Permission, Principal
from app.realtime.bus import Bus
from app.realtime.channels import sender_id
from app.store.keys import validate_name

router = APIRouter(prefix="/v1/channels", tags=["channels"], responses=authenticated_problems())

ChannelPath = Annotated[
    str, Path(description="Channel name", examples=["ticket-42"], json_schema_extra=NAME_SCHEMA)
]


AS_SELF = (
    "Name the publisher in the message's `from` (`key:<id>`, `jwt:<sub>`); by default "
    "`from` is an opaque id that names no credential."
)


class Published(BaseModel):
    delivered: int


class PresenceMember(BaseModel):
    client_id: str
    state: Any = None
    joined_at: str


class PresenceList(BaseModel):
    items: list[PresenceMember]


def _bus(request: Request) -> Bus:
    bus = services_of(request.app).bus
    return bus


def channel_for(principal: Principal, channel: object, permission: Permission) -> str:
    """A valid channel name that `principal` holds `permission` on."""
    name = validate_name(channel, "channel")  # type: ignore[arg-type]
    principal.require_channel(permission, name)
    return name


def publish(
    bus: Bus, principal: Principal, channel: str, data: Any, client_id: str, *, as_self: bool
) -> int:
    """Publish to a channel from `channel_for(..., "write")`; how many got it here."""
    return bus.publish(channel, data, sender_id(principal, client_id, as_self))


def presence(bus: Bus, principal: Principal, channel: object) -> list[dict[str, Any]]:
    return bus.members(channel_for(principal, channel, "read"))


@router.post(
    "/{channel}/messages",
    summary="Publish an ephemeral message to a channel's subscribers",
    status_code=202,
    response_model=Published,
    responses=problems(400, 401, 403, 413, 422),
    openapi_extra=json_body({"description": "Any JSON"}, "The message", {"typing": True}),
)
async def publish_message(
    request: Request,
    channel: ChannelPath,
    principal: PrincipalDep,
    settings: SettingsDep,
    as_self: Annotated[bool, Query(description=AS_SELF)] = False,
) -> Published:
    channel = channel_for(principal, channel, "write")
    data = await read_json(request, settings.max_json_depth)
    # A request has no connection: its opaque client id is a fresh one.
    delivered = publish(_bus(request), principal, channel, data, uuid.uuid4().hex, as_self=as_self)
    return Published(delivered=delivered)


@router.get(
    "/{channel}/presence",
    summary="Who is joined to a channel",
    response_model=PresenceList,
    responses=problems(401, 403, 422),
)
async def get_presence(request: Request, channel: ChannelPath, principal: PrincipalDep) -> Response:
    members = presence(_bus(request), principal, channel)
    return PresenceList.model_validate({"items": members})  # type: ignore[return-value]
