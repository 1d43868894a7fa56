"""Backups over HTTP: export one snapshot as NDJSON, import it into an empty database.

The format: a first line `{"epoch", "seq"}`, then one envelope per line. The
same format is read and written by `levelstream export` / `import` offline;
`app.store.maintenance.load_export` checks and loads it for both.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from app.api.deps import AdminDep, SettingsDep, StoreDep
from app.api.models import authenticated_problems, problems
from app.errors import PayloadTooLarge
from app.store.base import Store
from app.store.maintenance import load_export
from app.store.types import ChangeFilter

router = APIRouter(prefix="/v1/admin", tags=["admin"], responses=authenticated_problems(403))

NDJSON = "application/x-ndjson"
NDJSON_BYTES = {"schema": {"type": "string", "format": "binary"}}  # for SDKs: raw bytes
IMPORT_PATH = "/v1/admin/import"


class ImportResult(BaseModel):
    imported: int
    epoch: str
    seq: int


async def export_lines(store: Store) -> AsyncIterator[bytes]:
    """The header line, then every document, all from one snapshot."""
    header_sent = False
    async for items, seq, _done in store.snapshot_pages(ChangeFilter("*"), None, 1000):
        if not header_sent:
            yield orjson.dumps({"epoch": store.epoch, "seq": seq}) + b"\n"
            header_sent = True
        if items:
            yield b"\n".join(items) + b"\n"


@router.get(
    "/export",
    summary="Export every document from one snapshot (NDJSON)",
    name="export_documents",
    response_class=StreamingResponse,
    responses={
        200: {"content": {NDJSON: NDJSON_BYTES}, "description": "Header line, then envelopes"},
        **problems(401, 403),
    },
)
async def export(store: StoreDep, _admin: AdminDep) -> StreamingResponse:
    return StreamingResponse(export_lines(store), media_type=NDJSON)


async def _lines(request: Request, max_line: int) -> AsyncIterator[bytes]:
    pending = b""
    async for chunk in request.stream():
        pending += chunk
        *lines, pending = pending.split(b"\n")
        if len(pending) > max_line:
            raise PayloadTooLarge(f"an import line is over {max_line} bytes")
        for line in lines:
            if line.strip():
                yield line
    if pending.strip():
        yield pending


@router.post(
    "/import",
    summary="Load an export into an empty database (NDJSON body)",
    name="import_documents",
    response_model=ImportResult,
    responses=problems(400, 401, 403, 409, 413, 422),
    openapi_extra={"requestBody": {"required": True, "content": {NDJSON: NDJSON_BYTES}}},
)
async def import_export(
    request: Request, store: StoreDep, settings: SettingsDep, _admin: AdminDep
) -> ImportResult:
    lines = _lines(request, settings.max_value_bytes * 2 + 4096)
    imported, epoch, seq = await load_export(store, lines)
    return ImportResult(imported=imported, epoch=epoch, seq=seq)
