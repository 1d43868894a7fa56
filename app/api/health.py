"""Liveness and readiness probes (no credential needed)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

from app.api.deps import ServicesDep
from app.api.models import Health, problems
from app.api.problems import problem_response, request_id_of

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The process is up", response_model=Health)
async def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    summary="The store is open and accepting writes",
    response_model=Health,
    responses=problems(503),
)
async def readyz(request: Request, services: ServicesDep) -> Health | Response:
    store = services.store
    if services.draining or not await store.ready():
        return problem_response("unavailable", "not accepting writes", request_id_of(request))
    return Health(status="ready", head_seq=store.head_seq, epoch=store.epoch)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={
        200: {
            "description": "Prometheus text exposition format",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    },
)
async def metrics(services: ServicesDep) -> Response:
    return Response(services.metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST})
