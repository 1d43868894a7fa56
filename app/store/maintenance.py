"""Background upkeep: finding expired documents and trimming the change log; imports.

`trim_log` runs inside the writer thread (serialized with every write), and
writes the new oldest seq in the same atomic batch as the deletions, so a
reader's snapshot always sees a log that is whole from `oldest` to `head`.

`load_export` is the one reader of a backup (NDJSON from an export), for
`POST /v1/admin/import` and `levelstream import` alike, on either store.
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
from app.store import keys
from app.store.keys import validate_key, validate_name
from app.store.leveldb_driver import plyvel
from app.store.records import DocRecord, envelope_json, now_ms
from app.store.types import WriteOp

if TYPE_CHECKING:
    from app.store.base import Store

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


def sweep_candidates(db: plyvel.DB, now: int, limit: int) -> list[WriteOp]:
    """`expire` ops for documents whose expiry has passed, oldest expiry first."""
    ops: list[WriteOp] = []
    iterator = db.iterator(
        start=keys.TTL, stop=keys.TTL + keys.seq_bytes(now + 1), include_value=False
    )
    for dbkey in iterator:
        expires_ms, collection, key = keys.split_ttl_key(dbkey)
        ops.append(WriteOp("expire", collection, key.decode("utf-8"), expires_ms=expires_ms))
        if len(ops) >= limit:
            break
    iterator.close()
    return ops


def _ts_ms(change: dict[str, object]) -> int:
    return _parse_ms(change["ts"])


def trim_log(db: plyvel.DB, sync: bool, *, retention: Retention) -> int:
    """Delete up to TRIM_CHUNK of the oldest changes that are past retention."""
    head = keys.seq_from(db.get(keys.meta_key("head")))
    oldest = keys.seq_from(db.get(keys.meta_key("oldest")))
    keep_from = max(oldest, head - retention.changes + 1)
    cutoff_ms = now_ms() - retention.seconds * 1000
    new_oldest = oldest
    dropped: list[tuple[int, str]] = []
    iterator = db.iterator(start=keys.log_key(oldest), stop=keys.log_key(head + 1))
    for dbkey, data in iterator:
        seq = keys.seq_from(dbkey[1:])
        change = orjson.loads(data)
        if seq >= keep_from and _ts_ms(change) >= cutoff_ms:
            break
        dropped.append((seq, change["collection"]))
        new_oldest = seq + 1
        if len(dropped) >= TRIM_CHUNK:
            break
    iterator.close()
    if not dropped:
        return 0
    with db.write_batch(transaction=True, sync=sync) as batch:
        for seq, collection in dropped:
            batch.delete(keys.log_key(seq))
            batch.delete(keys.log_index_key(collection, seq))
        batch.put(keys.meta_key("oldest"), keys.seq_bytes(new_oldest))
    return len(dropped)


def import_record(raw: bytes) -> tuple[str, bytes, bytes, bytes | None]:
    """An exported envelope as (collection, doc key, record, TTL index key or None)."""
    envelope = orjson.loads(raw)
    collection = validate_name(envelope["collection"])
    key = validate_key(envelope["key"])
    rev = envelope["rev"]
    if type(rev) is not int or rev < 1 or envelope.get("value") is None:
        raise ValidationFailed("an exported document needs a rev and a value")
    created_ms = _parse_ms(envelope["created_at"])
    updated_ms = _parse_ms(envelope["updated_at"])
    expires_ms = _parse_ms(envelope["expires_at"]) if envelope.get("expires_at") else 0
    body = envelope_json(
        collection,
        envelope["key"],
        orjson.dumps(envelope["value"]),
        rev,
        created_ms,
        updated_ms,
        expires_ms,
    )
    record = DocRecord(rev, created_ms, expires_ms, body).encode()
    ttl = keys.ttl_key(expires_ms, collection, key) if expires_ms else None
    return collection, keys.doc_key(collection, key), record, ttl


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
        raise Conflict("import needs an empty database")
    documents = _non_blank(lines)
    header = await anext(documents, None)
    if header is None:
        raise ValidationFailed(f"the import is empty: {HEADER_SHAPE}")
    epoch, seq = import_header(header)
    seen: set[bytes] = set()  # database keys: collection and key
    with tempfile.SpooledTemporaryFile(_SPOOL_IN_MEMORY) as spool:
        line_no = 1
        async for line in documents:
            line_no += 1
            try:
                collection, dbkey, _record, _ttl = import_record(line)
            except ValidationFailed as exc:
                raise ValidationFailed(f"line {line_no}: {exc.detail}") from None
            except (ValueError, KeyError, TypeError) as exc:
                detail = f"line {line_no}: not an exported document ({exc})"
                raise ValidationFailed(detail) from None
            if dbkey in seen:
                detail = f"line {line_no}: a second copy of a document in {collection}"
                raise ValidationFailed(detail)
            seen.add(dbkey)
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
