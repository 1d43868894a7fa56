"""LevelDB upkeep: finding expired documents, trimming the change log, forgetting
remembered answers (idempotency keys) past their retention.

`trim_log` runs inside the writer thread (serialized with every write), and
writes the new oldest seq in the same atomic batch as the deletions, so a
reader's snapshot always sees a log that is whole from `oldest` to `head`.
"""

from __future__ import annotations

from datetime import datetime

import orjson

from app.store.core.once import StoredAnswer
from app.store.leveldb import layout
from app.store.leveldb_driver import plyvel
from app.store.maintenance import TRIM_CHUNK, Retention
from app.store.records import now_ms, split_change_record
from app.store.types import WriteOp


def sweep_candidates(db: plyvel.DB, now: int, limit: int) -> list[WriteOp]:
    """`expire` ops for documents whose expiry has passed, oldest expiry first."""
    ops: list[WriteOp] = []
    iterator = db.iterator(
        start=layout.TTL, stop=layout.TTL + layout.seq_bytes(now + 1), include_value=False
    )
    for dbkey in iterator:
        expires_ms, collection, key = layout.split_ttl_key(dbkey)
        ops.append(WriteOp("expire", collection, key.decode("utf-8"), expires_ms=expires_ms))
        if len(ops) >= limit:
            break
    iterator.close()
    return ops


def _ts_ms(change: dict[str, object]) -> int:
    return int(datetime.fromisoformat(str(change["ts"])).timestamp() * 1000)


def trim_log(db: plyvel.DB, sync: bool, *, retention: Retention) -> int:
    """Delete up to TRIM_CHUNK of the oldest changes that are past retention."""
    head = layout.seq_from(db.get(layout.meta_key("head")))
    oldest = layout.seq_from(db.get(layout.meta_key("oldest")))
    keep_from = max(oldest, head - retention.changes + 1)
    cutoff_ms = now_ms() - retention.seconds * 1000
    new_oldest = oldest
    dropped: list[tuple[int, str]] = []
    iterator = db.iterator(start=layout.log_key(oldest), stop=layout.log_key(head + 1))
    for dbkey, data in iterator:
        seq = layout.seq_from(dbkey[1:])
        change = orjson.loads(split_change_record(data)[0])
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
            batch.delete(layout.log_key(seq))
            batch.delete(layout.log_index_key(collection, seq))
        batch.put(layout.meta_key("oldest"), layout.seq_bytes(new_oldest))
    return len(dropped)


def purge_answers(db: plyvel.DB, sync: bool, *, now: int, limit: int) -> int:
    """Forget up to `limit` remembered answers whose expiry has passed (in the writer).

    An expiry entry whose record was replaced since (a key reused after it expired)
    is only dropped itself: the record now carries a later expiry and its own entry.
    """
    iterator = db.iterator(
        start=layout.ANSWER_EXPIRY,
        stop=layout.ANSWER_EXPIRY + layout.seq_bytes(now + 1),
        include_value=False,
    )
    entries = []
    for dbkey in iterator:
        entries.append(dbkey)
        if len(entries) >= limit:
            break
    iterator.close()
    if not entries:
        return 0
    with db.write_batch(transaction=True, sync=sync) as batch:
        for dbkey in entries:
            expires_ms, scope = layout.split_answer_expiry_key(dbkey)
            batch.delete(dbkey)
            raw = db.get(layout.answer_key(scope))
            if raw is not None and StoredAnswer.decode(raw).expires_ms == expires_ms:
                batch.delete(layout.answer_key(scope))
    return len(entries)
