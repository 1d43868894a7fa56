"""Rules as data: `PUT|GET|DELETE /v1/rules/{glob}`, `GET /v1/rules`. Admin only.

Each change makes a new version of the whole rule set (`app/auth/rules.py`),
shown in every answer and written in the access log line of the request
(`rules_version`, next to the path that names the glob). It holds from the next
request on; open subscriptions it would now refuse end with a `forbidden` error.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, Field

from app.api.deps import AdminDep
from app.api.filters import resync_views
from app.api.models import authenticated_problems, problems
from app.api.services import services_of
from app.auth.principal import PATTERN_RE
from app.auth.rules import RuleBook, RuleSet, RuleSpec, RuleView
from app.realtime.hub import Hub

router = APIRouter(prefix="/v1/rules", tags=["rules"], responses=authenticated_problems(403))

Glob = Annotated[
    str,
    Path(
        pattern=f"^{PATTERN_RE.pattern}$",
        description="A collection glob (`notes`, `app1.*`); `?` must be sent as %3F",
    ),
]
NOTES_EXAMPLE = {
    "read": "doc.public || doc.owner == auth.sub",
    "create": "new.owner == auth.sub",
    "update": "doc.owner == auth.sub && new.owner == doc.owner",
    "delete": "doc.owner == auth.sub",
}


class RuleList(BaseModel):
    items: list[RuleView]
    version: int = Field(description="The rule set's version (0: never changed)")


class RuleDeleted(BaseModel):
    glob: str
    version: int


def _book(request: Request) -> RuleBook:
    book = services_of(request.app).rules
    return book


def _logged(request: Request, version: int) -> None:
    """The access log line of this request carries the new version (app/server/access_log)."""
    request.state.rules_version = version


@router.put(
    "/{glob}",
    summary="Create or replace the rule of a collection glob",
    response_model=RuleView,
    responses=problems(401, 403, 422),
    openapi_extra={"requestBody": {"content": {"application/json": {"example": NOTES_EXAMPLE}}}},
)
async def put_rule(request: Request, glob: Glob, spec: RuleSpec, _admin: AdminDep) -> RuleView:
    view = await _book(request).put(glob, spec)
    _logged(request, view.version)
    return view


@router.get("", summary="List the rules", response_model=RuleList, responses=problems(401, 403))
async def list_rules(request: Request, _admin: AdminDep) -> RuleList:
    book = _book(request)
    return RuleList(items=book.all(), version=book.current.version)


@router.get(
    "/{glob}",
    summary="Read the rule of a collection glob",
    response_model=RuleView,
    responses=problems(401, 403, 404),
)
async def get_rule(request: Request, glob: Glob, _admin: AdminDep) -> RuleView:
    return _book(request).get(glob)


@router.delete(
    "/{glob}",
    summary="Delete the rule of a collection glob",
    response_model=RuleDeleted,
    responses=problems(401, 403, 404),
)
async def delete_rule(request: Request, glob: Glob, _admin: AdminDep) -> RuleDeleted:
    version = await _book(request).delete(glob)
    _logged(request, version)
    return RuleDeleted(glob=glob, version=version)


def resync_subscriptions(hub: Hub, previous: RuleSet, current: RuleSet) -> None:
    """After a rule change (here or on another node), before the next change: every open
    subscription is judged by the new rules, or reset if they change what it sees
    (`filters.resync_views`)."""
    for connection in list(hub.connections):
        principal = connection.principal
        resync_views(hub, connection, (previous, principal), (current, principal))
