"""Annotated dependency aliases shared by the routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Query, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from app.auth.authenticator import Authenticator, token_from_headers
from app.auth.principal import Principal
from app.realtime.notifier import CommitNotifier
from app.settings import Settings
from app.store.base import Store

# Declared for the OpenAPI document (Swagger UI's Authorize); parsing is ours.
_bearer = HTTPBearer(auto_error=False, description="An API key token or a JWT")
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key token")


def get_store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_notifier(request: Request) -> CommitNotifier:
    notifier: CommitNotifier = request.app.state.notifier
    return notifier


def get_principal(
    request: Request,
    _bearer_doc: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    _key_doc: Annotated[str | None, Depends(_api_key)],
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
    x_api_key: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Principal:
    authenticator: Authenticator = request.app.state.authenticator
    principal = authenticator.authenticate(token_from_headers(authorization, x_api_key))
    request.state.principal_id = principal.id
    return principal


StoreDep = Annotated[Store, Depends(get_store)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
NotifierDep = Annotated[CommitNotifier, Depends(get_notifier)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]


def get_stream_principal(
    request: Request,
    _bearer_doc: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    _key_doc: Annotated[str | None, Depends(_api_key)],
    token: Annotated[
        str | None,
        Query(description="A credential, for browsers (EventSource cannot set headers)"),
    ] = None,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
    x_api_key: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Principal:
    """Like `get_principal`, but streams also take `?token=`."""
    authenticator: Authenticator = request.app.state.authenticator
    principal = authenticator.authenticate(token or token_from_headers(authorization, x_api_key))
    request.state.principal_id = principal.id
    return principal


StreamPrincipalDep = Annotated[Principal, Depends(get_stream_principal)]
