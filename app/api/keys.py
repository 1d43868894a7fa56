"""API keys: create (the secret is shown once), list, read, change, revoke. Admin only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, Field

from app.api.deps import AdminDep
from app.api.models import authenticated_problems, problems
from app.api.services import services_of
from app.auth.apikeys import ApiKey, KeyPatch, KeyRegistry, KeySpec

router = APIRouter(prefix="/v1/keys", tags=["keys"], responses=authenticated_problems(403))

KEY_SPEC_EXAMPLE = {
    "name": "support-desk",
    "permissions": ["read", "write"],
    "collections": ["tickets"],
    "channels": ["ticket-*"],
    "allowed_origins": ["https://desk.example.com"],
}
CREATED_KEY_EXAMPLE = {
    **KEY_SPEC_EXAMPLE,
    "id": "3f2b9c0d4e5f4a7b",
    "token": "lsk_3f2b9c0d4e5f4a7b_<secret shown once>",
    "allowed_ips": [],
    "expires_at": None,
    "rate_limit_per_s": None,
    "created_at": "2026-11-25T17:00:00.123Z",
}

KeyId = Annotated[str, Path(pattern=r"^[0-9a-f]{16}$", description="The key's id")]


class CreatedKey(ApiKey):
    token: str = Field(description="The secret token: shown once, never again")


class KeyList(BaseModel):
    items: list[ApiKey]


def _registry(request: Request) -> KeyRegistry:
    registry = services_of(request.app).keys
    return registry


@router.post(
    "",
    summary="Create an API key",
    status_code=201,
    response_model=CreatedKey,
    responses={
        201: {"content": {"application/json": {"example": CREATED_KEY_EXAMPLE}}},
        **problems(401, 403, 422),
    },
    openapi_extra={"requestBody": {"content": {"application/json": {"example": KEY_SPEC_EXAMPLE}}}},
)
async def create_key(request: Request, spec: KeySpec, _admin: AdminDep) -> CreatedKey:
    key, token = await _registry(request).create(spec)
    return CreatedKey(**key.public().model_dump(), token=token)


@router.get("", summary="List API keys", response_model=KeyList, responses=problems(401, 403))
async def list_keys(request: Request, _admin: AdminDep) -> KeyList:
    return KeyList(items=[key.public() for key in _registry(request).all()])


@router.get(
    "/{key_id}", summary="Read an API key", response_model=ApiKey, responses=problems(401, 403, 404)
)
async def get_key(request: Request, key_id: KeyId, _admin: AdminDep) -> ApiKey:
    return _registry(request).get(key_id).public()


@router.patch(
    "/{key_id}",
    summary="Change an API key's rights or rules",
    response_model=ApiKey,
    responses=problems(401, 403, 404, 422),
)
async def update_key(request: Request, key_id: KeyId, patch: KeyPatch, _admin: AdminDep) -> ApiKey:
    key = await _registry(request).update(key_id, patch)
    # Open sockets were authorized under the old rights: make them reconnect.
    hub = services_of(request.app).hub
    hub.close_key(key_id, 4003, "key changed; reconnect")
    return key.public()


@router.delete(
    "/{key_id}",
    summary="Revoke an API key (and close its open sockets)",
    status_code=204,
    response_model=None,
    responses={204: {"description": "Revoked"}, **problems(401, 403, 404)},
)
async def revoke_key(request: Request, key_id: KeyId, _admin: AdminDep) -> Response:
    await _registry(request).revoke(key_id)
    hub = services_of(request.app).hub
    hub.close_key(key_id, 4003, "key revoked")
    return Response(status_code=204)
