"""Upkeep rules shared by both stores: change-log retention and imports.

`load_export` is the one reader of a backup (NDJSON from an export), for
`POST /v1/admin/import` and `levelstream import` alike, on either store;
`parse_export` turns one exported document back into its record. Each backend
sweeps expired documents and trims its log in its own module.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import orjson

from app.errors import Conflict, ValidationFailed
from app.store.keys import validate_key, validate_name
from app.store.records import DocRecord, envelope_json

if TYPE_CHECKING:
    from app.store.base import Store

# The most change-log entries one trimming step drops (both stores).
TRIM_CHUNK = 10_000
IMPORT_CHUNK = 1000
# An epoch as both stores generate it (`secrets.token_hex(8)`). It goes into every
# `X-Levelstream-Epoch` header and JSON body: nothing else may be adopted from a file.
EPOCH_RE = re.compile(r"[0-9a-f]{16}")
# Seqs are signed 64-bit (PostgreSQL's int8) and an import sets the log's floor to
# seq + 1, so the header's seq stays below 2**63 - 1.
SEQ_LIMIT = 2**63 - 1
HEADER_SHAPE = 'the first line must be {"epoch": "<16 hex digits>", "seq": N}'
# An import is checked whole before anything is written; what passed waits here
# (in memory while small, then in a temporary file).
_SPOOL_IN_MEMORY = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Retention:
    changes: int = 1_000_000
    seconds: int = 604_800


def parse_export(raw: bytes) -> tuple[str, str, DocRecord]:
    """An exported envelope as (collection, key, record), checked like any write's names."""
    envelope = orjson.loads(raw)
    collection = validate_name(envelope["collection"])
    key = envelope["key"]
    validate_key(key)
    rev = envelope["rev"]
    if type(rev) is not int or rev < 1 or envelope.get("value") is None:
        raise ValidationFailed("an exported document needs a rev and a value")
    created_ms = _parse_ms(envelope["created_at"])
    updated_ms = _parse_ms(envelope["updated_at"])
    expires_ms = _parse_ms(envelope["expires_at"]) if envelope.get("expires_at") else 0
    body = envelope_json(
        collection,
        key,
        orjson.dumps(envelope["value"]),
        rev,
        created_ms,
        updated_ms,
        expires_ms,
    )
    return collection, key, DocRecord(rev, created_ms, expires_ms, body)


def _parse_ms(ts: object) -> int:
    if not isinstance(ts, str):
        raise ValidationFailed("timestamps must be RFC 3339 strings")
    try:
        return int(datetime.fromisoformat(ts).timestamp() * 1000)
    except ValueError:
        raise ValidationFailed(f"bad timestamp {ts!r}") from None


def import_header(line: bytes) -> tuple[str, int]:
    """A backup's first line, checked field by field: (epoch, seq)."""
    try:
        header = orjson.loads(line)
    except orjson.JSONDecodeError:
        raise ValidationFailed(f"line 1 is not JSON: {HEADER_SHAPE}") from None
    if not isinstance(header, dict) or set(header) != {"epoch", "seq"}:
        raise ValidationFailed(f"line 1: {HEADER_SHAPE}, with no other field")
    epoch, seq = header["epoch"], header["seq"]
    if not isinstance(epoch, str) or not EPOCH_RE.fullmatch(epoch):
        raise ValidationFailed("line 1: epoch must be 16 lowercase hex digits, as exported")
    if type(seq) is not int or not 0 <= seq < SEQ_LIMIT:
        raise ValidationFailed(f"line 1: seq must be an integer from 0 to {SEQ_LIMIT - 1}")
    return epoch, seq


async def load_export(
    store: Store,
    lines: AsyncIterator[bytes],
    on_loaded: Callable[[int], None] | None = None,
) -> tuple[int, str, int]:
    """Check a whole backup, then load it into the empty `store`: (imported, epoch, seq).

    A bad header, a bad document or a document given twice anywhere in the
    file is a ValidationFailed before the first write, so a refused import
    changes nothing (not even the epoch).
    """
    if not await store.is_empty():
        # An import writes no index entries: an index defined first would miss them.
        raise Conflict(
            "import needs an empty database: no documents, no changes and no indexes "
            "(create the indexes after the import)"
        )
    documents = _non_blank(lines)
    header = await anext(documents, None)
    if header is None:
        raise ValidationFailed(f"the import is empty: {HEADER_SHAPE}")
    epoch, seq = import_header(header)
    seen: set[tuple[str, str]] = set()  # (collection, key)
    with tempfile.SpooledTemporaryFile(_SPOOL_IN_MEMORY) as spool:
        line_no = 1
        async for line in documents:
            line_no += 1
            try:
                collection, key, _record = parse_export(line)
            except ValidationFailed as exc:
                raise ValidationFailed(f"line {line_no}: {exc.detail}") from None
            except (ValueError, KeyError, TypeError) as exc:
                detail = f"line {line_no}: not an exported document ({exc})"
                raise ValidationFailed(detail) from None
            if (collection, key) in seen:
                detail = f"line {line_no}: a second copy of a document in {collection}"
                raise ValidationFailed(detail)
            seen.add((collection, key))
            spool.write(line.strip() + b"\n")
        spool.seek(0)
        imported = await store.import_documents(epoch, seq, [])
        chunk: list[bytes] = []
        for line in spool:
            chunk.append(line.rstrip(b"\n"))
            if len(chunk) == IMPORT_CHUNK:
                imported += await store.import_documents(epoch, seq, chunk)
                if on_loaded is not None:
                    on_loaded(len(chunk))
                chunk = []
        if chunk:
            imported += await store.import_documents(epoch, seq, chunk)
            if on_loaded is not None:
                on_loaded(len(chunk))
    return imported, epoch, seq


async def _non_blank(lines: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    async for line in lines:
        if line.strip():
            yield line
