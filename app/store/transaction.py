"""Applying one transaction inside the writer: preconditions, seqs, records.

A `Transaction` reads through its own writes, then the group's (`TxState`),
then the database, so it sees everything committed or about to be committed
before it. It raises on the first failing op, and the writer then drops it
whole: all or nothing.

It also counts the bytes it produces (result envelopes and change records):
a transaction over `max_txn_bytes` fails with 413 at the op that crosses the
line, before the next op runs. This is the one place that bound is enforced,
for every way in (REST, batch, WebSocket) and both stores: without it a
73 KB batch of 1000 patches of one 1 MB document made a gigabyte.
"""

from __future__ import annotations

import orjson

from app.errors import NotFound, PayloadTooLarge, PreconditionFailed, ValidationFailed
from app.store import keys
from app.store.leveldb_driver import plyvel
from app.store.mergepatch import merge_patch
from app.store.records import (
    DocRecord,
    auto_key,
    change_json,
    decode_record,
    deleted_json,
    envelope_json,
    now_ms,
)
from app.store.types import Change, OpResult, WriteOp

_MISSING = object()


class TxState:
    """What a group has written so far, on top of the database."""

    def __init__(self, db: plyvel.DB, counts: dict[str, int], seq: int, auto_id: int) -> None:
        self.db = db
        self.base_counts = counts
        self.seq = seq
        self.auto_id = auto_id
        self.writes: dict[bytes, bytes | None] = {}
        self.counts: dict[str, int] = {}

    def get(self, dbkey: bytes) -> bytes | None:
        value = self.writes.get(dbkey, _MISSING)
        if value is _MISSING:
            return self.db.get(dbkey)  # type: ignore[no-any-return]
        return value  # type: ignore[return-value]

    def count(self, collection: str) -> int:
        if collection in self.counts:
            return self.counts[collection]
        if collection not in self.base_counts:
            raw = self.db.get(keys.count_key(collection))
            self.base_counts[collection] = int(raw) if raw else 0
        return self.base_counts[collection]

    def absorb(self, tx: Transaction) -> None:
        self.writes.update(tx.writes)
        self.counts.update(tx.counts)
        self.seq = tx.seq
        self.auto_id = tx.auto_id


class Transaction:
    def __init__(self, state: TxState, max_value_bytes: int, max_txn_bytes: int) -> None:
        self.state = state
        self.max_value_bytes = max_value_bytes
        self.max_txn_bytes = max_txn_bytes
        self.produced = 0  # bytes of result envelopes and change records so far
        self.seq = state.seq
        self.auto_id = state.auto_id
        self.writes: dict[bytes, bytes | None] = {}
        self.counts: dict[str, int] = {}
        self.changes: list[Change] = []
        self.now = now_ms()

    def apply(self, ops: list[WriteOp]) -> list[OpResult]:
        results: list[OpResult] = []
        for index, op in enumerate(ops):
            try:
                result = self._apply_one(op)
            except (NotFound, PreconditionFailed, PayloadTooLarge, ValidationFailed) as exc:
                if len(ops) > 1:
                    exc.extra.setdefault("op_index", index)
                    exc.detail = f"op {index}: {exc.detail}"
                raise
            if result is not None:
                results.append(result)
        return results

    # --- reading through the overlays ---------------------------------------

    def _get(self, dbkey: bytes) -> bytes | None:
        value = self.writes.get(dbkey, _MISSING)
        if value is _MISSING:
            return self.state.get(dbkey)
        return value  # type: ignore[return-value]

    def _current(self, dbkey: bytes) -> DocRecord | None:
        """The live record at `dbkey`; an expired one counts as absent."""
        raw = self._get(dbkey)
        if raw is None:
            return None
        record = decode_record(raw)
        return None if record.expired(self.now) else record

    def _produce(self, size: int) -> None:
        """Count `size` more bytes of output; refuse the transaction past the limit."""
        self.produced += size
        if self.produced > self.max_txn_bytes:
            raise PayloadTooLarge(
                f"the transaction's results and changes exceed {self.max_txn_bytes} bytes "
                "(LEVELSTREAM_MAX_TXN_BYTES); nothing was written",
                limit=self.max_txn_bytes,
            )

    def _add_count(self, collection: str, delta: int) -> None:
        current = self.counts.get(collection)
        if current is None:
            current = self.state.count(collection)
        self.counts[collection] = current + delta

    # --- ops ----------------------------------------------------------------

    def _apply_one(self, op: WriteOp) -> OpResult | None:
        if op.op == "create":
            return self._create(op)
        key = op.key.encode("utf-8")
        dbkey = keys.doc_key(op.collection, key)
        raw = self._get(dbkey)
        stored = decode_record(raw) if raw is not None else None
        if op.op == "expire":
            return self._expire(op, dbkey, key, stored)
        current = None if stored is None or stored.expired(self.now) else stored
        if op.if_absent and current is not None:
            raise PreconditionFailed(f"document {op.key!r} already exists", current_rev=current.rev)
        if op.if_exists and current is None:
            raise PreconditionFailed(f"document {op.key!r} does not exist", current_rev=None)
        if op.if_rev is not None and (current is None or current.rev != op.if_rev):
            raise PreconditionFailed(
                f"document {op.key!r} is not at rev {op.if_rev}",
                current_rev=None if current is None else current.rev,
            )
        if op.op == "put":
            assert op.value_json is not None
            return self._write_doc(op, dbkey, key, stored, current, op.value_json, op.ttl_ms)
        if current is None or stored is None:
            raise NotFound(f"document {op.key!r} not found in collection {op.collection!r}")
        if op.op == "patch":
            merged = merge_patch(current.value(), op.patch)
            if merged is None:
                raise ValidationFailed("the patch would leave the document with a null value")
            value_json = orjson.dumps(merged)
            if len(value_json) > self.max_value_bytes:
                raise PayloadTooLarge(
                    f"the patched value is {len(value_json)} bytes; "
                    f"the limit is {self.max_value_bytes}"
                )
            # A patch keeps the document's expiry unless it sets a new one.
            ttl = op.ttl_ms
            if ttl is None and current.expires_ms:
                ttl = max(current.expires_ms - self.now, 1)
            return self._write_doc(op, dbkey, key, stored, current, value_json, ttl)
        return self._delete(op, dbkey, stored, current, reason=None)

    def _create(self, op: WriteOp) -> OpResult:
        assert op.value_json is not None
        # Ids only grow, across restarts and clock steps back, so keys sort by creation.
        while True:
            self.auto_id = max(self.auto_id + 1, self.now << 12)
            key_str = auto_key(self.auto_id)
            key = key_str.encode("ascii")
            dbkey = keys.doc_key(op.collection, key)
            raw = self._get(dbkey)
            if raw is None or decode_record(raw).expired(self.now):
                break
        stored = decode_record(raw) if raw is not None else None
        named = WriteOp("put", op.collection, key_str, op.value_json, ttl_ms=op.ttl_ms)
        return self._write_doc(named, dbkey, key, stored, None, op.value_json, op.ttl_ms)

    def _write_doc(
        self,
        op: WriteOp,
        dbkey: bytes,
        key: bytes,
        stored: DocRecord | None,
        current: DocRecord | None,
        value_json: bytes,
        ttl_ms: int | None,
    ) -> OpResult:
        self.seq += 1
        seq = self.seq
        expires_ms = self.now + ttl_ms if ttl_ms else 0
        created_ms = current.created_ms if current is not None else self.now
        envelope = envelope_json(
            op.collection, op.key, value_json, seq, created_ms, self.now, expires_ms
        )
        self._produce(len(envelope))
        self.writes[dbkey] = DocRecord(seq, created_ms, expires_ms, envelope).encode()
        if stored is not None and stored.expires_ms:
            self.writes[keys.ttl_key(stored.expires_ms, op.collection, key)] = None
        if expires_ms:
            self.writes[keys.ttl_key(expires_ms, op.collection, key)] = b""
        if stored is None:
            self._add_count(op.collection, 1)
        prev_rev = current.rev if current is not None else None
        self._log(seq, "put", op.collection, op.key, key, value_json, prev_rev, None)
        return OpResult(op.collection, op.key, seq, envelope, created=current is None)

    def _delete(
        self,
        op: WriteOp,
        dbkey: bytes,
        stored: DocRecord,
        current: DocRecord | None,
        reason: str | None,
    ) -> OpResult:
        self.seq += 1
        self.writes[dbkey] = None
        if stored.expires_ms:
            self.writes[keys.ttl_key(stored.expires_ms, op.collection, op.key.encode())] = None
        self._add_count(op.collection, -1)
        prev_rev = current.rev if current is not None else stored.rev
        key = op.key.encode("utf-8")
        self._log(self.seq, "delete", op.collection, op.key, key, None, prev_rev, reason)
        return OpResult(
            op.collection, op.key, self.seq, deleted_json(op.collection, op.key), deleted=True
        )

    def _expire(
        self, op: WriteOp, dbkey: bytes, key: bytes, stored: DocRecord | None
    ) -> OpResult | None:
        """The sweeper's delete: only if the document still has the expiry it saw."""
        if stored is None or stored.expires_ms != op.expires_ms or not stored.expired(self.now):
            # Replaced or already gone: drop a stale TTL entry if it is still there.
            self.writes[keys.ttl_key(op.expires_ms, op.collection, key)] = None
            return None
        return self._delete(op, dbkey, stored, None, reason="expired")

    def _log(
        self,
        seq: int,
        op: str,
        collection: str,
        key_str: str,
        key: bytes,
        value_json: bytes | None,
        prev_rev: int | None,
        reason: str | None,
    ) -> None:
        data = change_json(seq, op, collection, key_str, value_json, prev_rev, self.now, reason)
        self._produce(len(data))
        self.writes[keys.log_key(seq)] = data
        self.writes[keys.log_index_key(collection, seq)] = key
        self.changes.append(Change(seq, collection, key_str, op, data))
