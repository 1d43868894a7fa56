"""Background upkeep: finding expired documents and trimming the change log.

`trim_log` runs inside the writer thread (serialized with every write), and
writes the new oldest seq in the same atomic batch as the deletions, so a
reader's snapshot always sees a log that is whole from `oldest` to `head`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import orjson

from app.errors import ValidationFailed
from app.store import keys
from app.store.keys import validate_key, validate_name
from app.store.leveldb_driver import plyvel
from app.store.records import DocRecord, envelope_json, now_ms
from app.store.types import WriteOp

TRIM_CHUNK = 10_000


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
