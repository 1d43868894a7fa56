"""`create_app(settings)`: wires store, auth and routers; the lifespan opens and closes them."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.types import Receive, Scope, Send

from app import __version__, console
from app.api import (
    admin,
    auth_routes,
    batch,
    changes,
    channels,
    documents,
    health,
    idempotency,
    indexes,
    keys,
    problems,
    rules,
    stream,
    swagger,
    ws,
)
from app.api.metrics import Metrics
from app.api.models import Problem
from app.api.rules import resync_subscriptions
from app.api.services import Services, install, started_services
from app.api.sessions import close_lapsed_sessions
from app.api.sse import StreamKeeper
from app.auth.authenticator import Authenticator
from app.auth.bootstrap import admin_token
from app.auth.gate import ConnectionCaps, Gate
from app.auth.jwt_tokens import JwtCodec, load_secret, load_trusted_issuers
from app.auth.network import parse_networks
from app.backends import check_settings, open_shared, open_store
from app.realtime.hub import Hub
from app.realtime.notifier import CommitNotifier
from app.server.access_log import AccessLog
from app.server.context import RequestContext
from app.server.cors import CorsPolicy
from app.server.front_door import WS_PATH, FrontDoor
from app.settings import Settings

DESCRIPTION = """
Levelstream stores JSON documents in collections and pushes every committed
change, with a gap-free sequence number, to subscribers (WebSocket, SSE,
long-poll). Authenticate with `Authorization: Bearer <token>` or `X-API-Key`.
Every error is RFC 9457 problem details.
"""


def operation_id(route: APIRoute) -> str:
    """Clean SDK method names: `put_document`, `get_changes`, ..."""
    return route.name


# Container allocations between young-generation collections (CPython's default: 700).
GC_YOUNG_THRESHOLD = 50_000


def tune_gc() -> None:
    """Make the cyclic garbage collector cheap for a server that holds many objects.

    With the default threshold a fan-out to 10,000 sockets ran dozens of
    collections per change, and each survivor pushed the next full collection,
    which walks every object of every connection: at 10,000 subscribers the
    collector took most of the CPU. Everything alive once started (modules,
    routes, the app) is frozen out of its sight, and young collections run
    every 50,000 allocations instead of 700; cycles are still collected.
    (No collection before freezing: it would cost start-up time for the
    little garbage importing leaves.)
    """
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)


class LevelstreamApp(FastAPI):
    """FastAPI, with the fast lane's front door ahead of its middleware stack."""

    front_door: FrontDoor | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        door = self.front_door
        if door is not None:
            kind = scope["type"]
            if kind == "http":
                scope["app"] = self
                if await door.serve(scope, receive, send):
                    return
            elif kind == "websocket" and scope["path"] == WS_PATH:
                # Straight to the endpoint (app/server/front_door.py): awaited here, not
                # in a method of the door, for one coroutine frame less per socket.
                scope["app"] = self
                await door.context.websocket(scope, receive, send, door.websocket_app)
                return
        await super().__call__(scope, receive, send)


def create_app(settings: Settings | None = None) -> LevelstreamApp:
    settings = settings or Settings()
    check_settings(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = open_store(settings)
        notifier = CommitNotifier()
        store.add_listener(notifier.on_commit)
        hub = Hub(store, settings.ws_queue_limit)
        await store.start()
        writer = getattr(store, "writer", None)  # both stores' writers report group commits
        if writer is not None:
            writer.on_group = metrics.observe_group
        metrics.attach(hub, store)
        shared = open_shared(settings, store)
        await shared.keys.load()
        await shared.rules.load()
        shared.rules.on_change(lambda old, new: resync_subscriptions(hub, old, new))
        authenticator = Authenticator(token, shared.keys, jwt_codec, shared.tickets)
        # The one admission of every way in (app/auth/gate.py).
        gate = Gate(authenticator, shared.rate_limiter, caps, settings.allowed_origin_list)
        cors.listed = gate.origin_listed
        keeper = StreamKeeper(settings.sse_ping_s, settings.sse_send_timeout_s)
        services = Services(
            settings=settings,
            store=store,
            notifier=notifier,
            hub=hub,
            bus=shared.bus,
            keys=shared.keys,
            rules=shared.rules,
            authenticator=authenticator,
            gate=gate,
            metrics=metrics,
            sse_keeper=keeper,
        )
        install(app, services)
        await shared.start(hub)
        watchdog = asyncio.create_task(close_lapsed_sessions(hub, authenticator))
        stream_timer = asyncio.create_task(keeper.run())
        tune_gc()
        try:
            yield
        finally:
            watchdog.cancel()
            stream_timer.cancel()
            services.draining = True
            notifier.close()
            hub.close_all(1001, "server shutting down")
            await shared.close()
            await store.close()

    app = LevelstreamApp(
        title="Levelstream",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        generate_unique_id_function=operation_id,
        # We export our own Prometheus metrics; FastAPI's OpenTelemetry hooks would
        # cost a check per request for nothing.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    caps = ConnectionCaps(
        total=settings.max_connections,
        ws=settings.max_ws_connections,
        sse=settings.max_sse_connections,
        per_key=settings.max_connections_per_key,
        per_ip=settings.max_connections_per_ip,
    )
    metrics = Metrics()
    # Read (or create) secrets and parse network rules now: bad config fails at start.
    token = admin_token(settings.admin_token, settings.data_dir)
    jwt_codec = JwtCodec(
        load_secret(settings.jwt_secret, settings.data_dir),
        load_trusted_issuers(settings.jwt_trusted_issuers),
    )

    cors = CorsPolicy(settings.allowed_origin_list)

    # Read per request; before the app has started (no services yet) there are none.
    def epoch() -> str:
        services = started_services(app)
        return services.store.epoch if services is not None else ""

    context: dict[str, Any] = {
        "max_body_bytes": settings.max_body_bytes,
        "unlimited_body_paths": (admin.IMPORT_PATH,),
        "epoch": epoch,
        "trusted_proxies": parse_networks(settings.trusted_proxy_list),
        "allowed_ips": parse_networks(settings.allowed_ip_list),
        "access_log": AccessLog(enabled=settings.access_log),
        "metrics": metrics,
        # CORS for both ways a request is served; which origins, the gate says (lifespan).
        "cors": cors,
    }
    app.add_middleware(RequestContext, **context)
    app.front_door = FrontDoor(RequestContext(app, **context))
    problems.install(app)
    routers = (
        documents,
        indexes,
        batch,
        changes,
        stream,
        channels,
        ws,
        keys,
        rules,
        auth_routes,
        admin,
        health,
    )
    for module in routers:
        app.include_router(module.router)
    swagger.install(app)
    console.install(app)
    _install_openapi(app)
    return app


def _install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            schema.setdefault("components", {}).setdefault("parameters", {})[
                idempotency.PARAMETER_NAME
            ] = idempotency.PARAMETER
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            extra_models: list[type[BaseModel]] = [Problem, *batch.EXTRA_SCHEMAS]
            for model in extra_models:
                model_schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
                for name, sub in model_schema.pop("$defs", {}).items():
                    components.setdefault(name, sub)
                components[model.__name__] = model_schema
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
