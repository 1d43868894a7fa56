"""The services the routes use, typed in one place.

`app.main` builds them when the app starts and hangs them on the app
(`install`); a route reaches them through the `Annotated` dependencies in
`deps`, and the front door and the WebSocket endpoint, which run without
FastAPI's dependency injection, through `services_of`. Nothing else reads them.

They are a plain attribute of the app, not of `app.state`: Starlette's `State` keeps
its values behind `__getattr__`, so each read there first failed the ordinary lookup,
building and dropping an AttributeError (three times per request).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.api.metrics import Metrics
from app.api.sse import StreamKeeper
from app.auth.apikeys import KeyRegistry
from app.auth.authenticator import Authenticator
from app.auth.gate import Gate
from app.auth.rules import RuleBook
from app.realtime.bus import Bus
from app.realtime.hub import Hub
from app.realtime.notifier import CommitNotifier
from app.settings import Settings
from app.store.base import Store


@dataclass(eq=False, slots=True)
class Services:
    settings: Settings
    store: Store
    notifier: CommitNotifier
    hub: Hub
    bus: Bus
    keys: KeyRegistry
    rules: RuleBook
    authenticator: Authenticator
    gate: Gate
    metrics: Metrics
    sse_keeper: StreamKeeper
    # Set once shutdown has begun: new sockets and streams are refused with 1001.
    draining: bool = False
    # Idempotency keys whose write is under way here (owner, key): `app.api.idempotency`.
    in_flight: set[tuple[str, str]] = field(default_factory=set)


def install(app: Any, services: Services) -> None:
    app.levelstream_services = services


def services_of(app: Any) -> Services:
    """The services of a started app (the ASGI scope's `app`)."""
    services: Services = app.levelstream_services
    return services


def started_services(app: Any) -> Services | None:
    """The services, or None before the app has started (or for another app)."""
    services: Services | None = getattr(app, "levelstream_services", None)
    return services
