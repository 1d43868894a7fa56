"""Annotated dependency aliases shared by the routers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from app.api.services import Services, services_of
from app.auth.authenticator import token_from_headers
from app.auth.gate import Entry, Gate, Transport
from app.auth.principal import Principal
from app.errors import LevelstreamError
from app.settings import Settings
from app.store.base import Store

# Every dependency is `async def`: FastAPI runs a plain `def` dependency in a
# worker thread, a thread hop per dependency per request for no benefit here.

# Declared for the OpenAPI document (Swagger UI's Authorize); parsing is ours.
_bearer = HTTPBearer(auto_error=False, description="An API key token or a JWT")
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key token")


async def get_services(request: Request) -> Services:
    return services_of(request.app)


async def get_store(request: Request) -> Store:
    return services_of(request.app).store


async def get_settings(request: Request) -> Settings:
    return services_of(request.app).settings


async def admit(request: Request, token: str | None, transport: Transport) -> Principal:
    """Admit the request through the gate; remember who it was for the log."""
    state = request.scope.setdefault("state", {})
    origin = request.headers.get("origin")
    return await admit_scope(services_of(request.app).gate, state, transport, token, origin)


async def admit_scope(
    gate: Gate,
    scope_state: dict[str, Any],
    transport: Transport,
    token: str | None,
    origin: str | None,
) -> Principal:
    """`admit`, from the parts of a request it reads (for `requests.HttpRequest`)."""
    try:
        principal = await gate.admit(Entry(transport, token, scope_state.get("client_ip"), origin))
    except LevelstreamError as exc:
        scope_state["auth_error"] = exc.code
        raise
    scope_state["principal_id"] = principal.log_id
    return principal


async def get_principal(
    request: Request,
    _bearer_doc: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    _key_doc: Annotated[str | None, Depends(_api_key)],
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
    x_api_key: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Principal:
    return await admit(request, token_from_headers(authorization, x_api_key), "http")


async def require_admin(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    principal.require("admin")
    return principal


ServicesDep = Annotated[Services, Depends(get_services)]
StoreDep = Annotated[Store, Depends(get_store)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
AdminDep = Annotated[Principal, Depends(require_admin)]
