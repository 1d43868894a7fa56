"""Minting JWTs and single-use stream tickets from a credential."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import APIRouter, Request
from pydantic import BaseModel, Field, field_validator

from app.api.deps import PrincipalDep, SettingsDep
from app.api.models import authenticated_problems, problems
from app.api.services import services_of
from app.auth.apikeys import Pattern
from app.auth.jwt_tokens import RESERVED_CLAIMS
from app.auth.principal import Permission, Principal, pattern_within
from app.errors import Forbidden, ValidationFailed
from app.settings import Settings
from app.store.records import Timestamp

router = APIRouter(prefix="/v1/auth", tags=["auth"], responses=authenticated_problems())


# The server's longest token lifetime unless LEVELSTREAM_JWT_MAX_TTL_S says otherwise:
# the schema documents the default, the server checks the setting (`mint_token`).
DEFAULT_MAX_TTL_S: int = Settings.model_fields["jwt_max_ttl_s"].default
MAX_CLAIMS_BYTES = 4096


class TokenRequest(BaseModel):
    sub: str = Field(min_length=1, max_length=200, description="Who the token is for")
    ttl_s: int = Field(
        default=3600,
        ge=1,
        json_schema_extra={"maximum": DEFAULT_MAX_TTL_S},
        description=(
            "Lifetime in seconds; at most LEVELSTREAM_JWT_MAX_TTL_S "
            f"(default {DEFAULT_MAX_TTL_S}), and never past the asking key's expiry"
        ),
    )
    permissions: list[Permission] | None = Field(
        default=None, description="Omitted: the asking key's; [] grants none"
    )
    collections: list[Pattern] | None = Field(
        default=None, max_length=100, description="Omitted: the asking key's; [] grants none"
    )
    channels: list[Pattern] | None = Field(
        default=None, max_length=100, description="Omitted: the asking key's; [] grants none"
    )
    claims: dict[str, Any] | None = Field(
        default=None,
        description=(
            "Your own claims, carried in the token and seen by rules as `auth.claims` "
            f"(at most {MAX_CLAIMS_BYTES} bytes of JSON; not the reserved names "
            f"{', '.join(sorted(RESERVED_CLAIMS))})"
        ),
        examples=[{"role": "editor", "team": "blue"}],
    )

    @field_validator("claims")
    @classmethod
    def _bounded(cls, claims: dict[str, Any] | None) -> dict[str, Any] | None:
        if claims is None:
            return None
        reserved = sorted(set(claims) & RESERVED_CLAIMS)
        if reserved:  # names only: never the values
            raise ValueError(f"reserved claim names: {', '.join(reserved)}")
        if len(orjson.dumps(claims)) > MAX_CLAIMS_BYTES:
            raise ValueError(f"claims exceed {MAX_CLAIMS_BYTES} bytes of JSON")
        return claims


class IssuedToken(BaseModel):
    token: str
    expires_at: Timestamp


class Ticket(BaseModel):
    ticket: str = Field(description="Use once, as ?ticket= on /v1/stream or /v1/ws")
    expires_at: Timestamp


def _narrowed(principal: Principal, request: TokenRequest) -> dict[str, list[str]]:
    """The token's rights: what was asked, refused if it is wider than the asker's."""
    # Only an absent field defaults to the asker's rights: an explicit [] means none
    # (least privilege: a client asking for no channels must not get all of them).
    permissions: list[str] = (
        list(request.permissions)
        if request.permissions is not None
        else sorted(principal.permissions)
    )
    collections = (
        request.collections if request.collections is not None else list(principal.collections)
    )
    channels = request.channels if request.channels is not None else list(principal.channels)
    if not principal.is_admin:
        wider = set(permissions) - principal.permissions
        if wider:
            raise Forbidden(f"cannot grant permissions this key lacks: {sorted(wider)}")
        for pattern in collections:
            if not pattern_within(pattern, principal.collections):
                raise Forbidden(f"collection scope {pattern!r} is wider than this key's")
        for pattern in channels:
            if not pattern_within(pattern, principal.channels):
                raise Forbidden(f"channel scope {pattern!r} is wider than this key's")
    return {"permissions": permissions, "collections": collections, "channels": channels}


@router.post(
    "/token",
    summary="Mint a JWT no wider than the asking API key",
    response_model=IssuedToken,
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {
                    "example": {
                        "sub": "agent-ann",
                        "ttl_s": 900,
                        "permissions": ["read", "write"],
                        "collections": ["tickets"],
                    }
                }
            }
        }
    },
    responses=problems(401, 403, 422),
)
async def mint_token(
    request: Request, body: TokenRequest, principal: PrincipalDep, settings: SettingsDep
) -> IssuedToken:
    if principal.kind == "jwt":
        raise Forbidden("a JWT cannot mint tokens; ask with an API key")
    if body.ttl_s > settings.jwt_max_ttl_s:
        raise ValidationFailed(f"ttl_s may be at most {settings.jwt_max_ttl_s}", field="ttl_s")
    ttl_s = body.ttl_s
    if principal.expires_at is not None:
        # Never outlive the key that asked.
        ttl_s = min(ttl_s, int(principal.expires_at - time.time()))
        if ttl_s < 1:
            raise Forbidden("the asking key has expired")
    claims = {
        **(body.claims or {}),
        "sub": body.sub,
        "lsk": principal.key_id or principal.id,
        **_narrowed(principal, body),
    }
    authenticator = services_of(request.app).authenticator
    token, expires = authenticator.jwt.mint(claims, ttl_s)
    return IssuedToken(token=token, expires_at=datetime.fromtimestamp(expires, UTC))


@router.post(
    "/ticket",
    summary="A single-use ticket (30 s) for ?ticket= on SSE and WebSocket",
    response_model=Ticket,
    responses=problems(401, 403),
)
async def issue_ticket(request: Request, principal: PrincipalDep) -> Ticket:
    authenticator = services_of(request.app).authenticator
    ticket, expires = await authenticator.tickets.issue(principal)
    return Ticket(ticket=ticket, expires_at=datetime.fromtimestamp(expires, UTC))
