"""The rules of a change, written once for every backend: one transaction of a group.

A `Transaction` reads through the group's writes (its own included), then
the backend's `DocReader`, so it sees everything committed or about to be
committed before it. It checks preconditions (`if_rev`, `if_exists`,
`if_absent`), applies merge patches, keeps or sets expiries, picks
server-chosen keys, assigns seqs (rev = seq, consecutive, in op order) and
builds each envelope and change record once. It raises on the first failing
op, and the group then drops it whole: all or nothing.

It also counts the bytes it produces (result envelopes and change records):
a transaction over `max_txn_bytes` fails with 413 at the op that crosses the
line, before the next op runs. This is the one place that bound is enforced,
for every way in (REST, batch, WebSocket) and both stores: without it a
73 KB batch of 1000 patches of one 1 MB document made a gigabyte.
"""

from __future__ import annotations

from typing import Any

import orjson

from app.errors import (
    Forbidden,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
    ValidationFailed,
)
from app.store.core.mutations import DocId, DocReader, DocWrite, Mutations, NotLoaded
from app.store.mergepatch import merge_patch
from app.store.records import (
    DocRecord,
    auto_key,
    change_json,
    deleted_json,
    envelope_json,
    envelope_value,
)
from app.store.types import Change, OpResult, WriteOp


def first_auto_id(auto_id: int, now_ms: int) -> int:
    """The id behind the next server-chosen key: ids only grow, across restarts and
    clock steps back, so keys sort by creation. Later ones follow it one by one."""
    return max(auto_id + 1, now_ms << 12)


def keys_from(first_id: int, count: int) -> list[str]:
    """The server-chosen keys of `count` ids from `first_id` on, in the order tried."""
    return [auto_key(n) for n in range(first_id, first_id + count)]


def planned_keys(auto_id: int, now_ms: int, count: int) -> list[str]:
    """The keys the next `count` creates pick when no document holds any of them (a
    backend that fetches a group's documents up front fetches these)."""
    return keys_from(first_auto_id(auto_id, now_ms), count)


class Transaction:
    """One transaction, written straight into its group's `Mutations`; `rollback`
    takes it out again when it fails (cheaper than a copy per transaction on the
    writer's hot path, where most transactions succeed)."""

    def __init__(
        self,
        reader: DocReader,
        group: Mutations,
        max_value_bytes: int,
        max_txn_bytes: int,
    ) -> None:
        self.reader = reader
        self.out = group
        self.max_value_bytes = max_value_bytes
        self.max_txn_bytes = max_txn_bytes
        self.now = group.now_ms
        self.produced = 0  # bytes of result envelopes and change records so far
        # What the group held before this transaction, to put back on failure.
        self._mark = (group.head_seq, group.auto_id, len(group.changes), len(group.stale_expiries))
        self._undo_docs: list[tuple[DocId, DocWrite | None]] = []
        self._undo_counts: list[tuple[str, int, bool]] = []

    def apply(self, ops: list[WriteOp]) -> list[OpResult]:
        results: list[OpResult] = []
        for index, op in enumerate(ops):
            try:
                result = self._apply_one(op)
            except (
                NotFound,
                PreconditionFailed,
                PayloadTooLarge,
                ValidationFailed,
                Forbidden,
            ) as exc:
                if len(ops) > 1:
                    exc.extra.setdefault("op_index", index)
                    exc.detail = f"op {index}: {exc.detail}"
                raise
            if result is not None:
                results.append(result)
        return results

    def rollback(self) -> None:
        """Leave the group as it was before this transaction."""
        out = self.out
        out.head_seq, out.auto_id, changes, stale = self._mark
        del out.changes[changes:]
        del out.stale_expiries[stale:]
        docs = out.docs
        for doc, previous in reversed(self._undo_docs):
            if previous is None:
                del docs[doc]
            else:
                docs[doc] = previous
        counts = out.counts
        for collection, delta, existed in reversed(self._undo_counts):
            if existed:
                counts[collection] -= delta
            else:
                del counts[collection]

    # --- reading through the group's writes ---------------------------------

    def _lookup(self, doc: DocId) -> tuple[DocRecord | None, int]:
        """The record at `doc` (expired or not) and the expiry the backend holds for it."""
        written = self.out.docs.get(doc)
        if written is not None:
            return written.record, written.stored_expires_ms
        record = self.reader.get(doc[0], doc[1])
        return record, 0 if record is None else record.expires_ms

    def _held(self, doc: DocId, stored: DocRecord | None) -> DocRecord | None:
        """The record the backend holds at `doc` (before the group): `stored` unless
        the group wrote `doc` already."""
        written = self.out.docs.get(doc)
        return stored if written is None else written.stored

    def _put(self, doc: DocId, written: DocWrite) -> None:
        docs = self.out.docs
        self._undo_docs.append((doc, docs.get(doc)))
        docs[doc] = written

    def _produce(self, size: int) -> None:
        """Count `size` more bytes of output; refuse the transaction past the limit."""
        self.produced += size
        if self.produced > self.max_txn_bytes:
            raise PayloadTooLarge(
                f"the transaction's results and changes exceed {self.max_txn_bytes} bytes "
                "(LEVELSTREAM_MAX_TXN_BYTES); nothing was written",
                limit=self.max_txn_bytes,
            )

    def _count(self, collection: str, delta: int) -> None:
        counts = self.out.counts
        current = counts.get(collection)
        self._undo_counts.append((collection, delta, current is not None))
        counts[collection] = delta if current is None else current + delta

    # --- ops ----------------------------------------------------------------

    def _apply_one(self, op: WriteOp) -> OpResult | None:
        if op.op == "create":
            return self._create(op)
        doc = (op.collection, op.key)
        stored, stored_expires = self._lookup(doc)
        if op.op == "expire":
            return self._expire(op, doc, stored, stored_expires)
        current = None if stored is None or stored.expired(self.now) else stored
        if op.guard is not None:
            # Before the preconditions: a refused op tells nothing of the document's rev.
            self._guard(op, current)
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
            return self._write_doc(doc, stored, stored_expires, current, op.value_json, op.ttl_ms)
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
            return self._write_doc(doc, stored, stored_expires, current, value_json, ttl)
        return self._delete(doc, stored, stored_expires, current.rev, reason=None)

    def _guard(self, op: WriteOp, current: DocRecord | None) -> None:
        """Call the op's guard with the document as it is here and as the op would leave it."""
        assert op.guard is not None
        old: Any = None if current is None else current.value()
        rev = None if current is None else current.rev
        if op.op == "put":
            assert op.value_json is not None
            kind = "create" if current is None else "update"
            op.guard(kind, op.key, rev, old, orjson.loads(op.value_json))
        elif current is not None and op.op == "patch":
            merged = merge_patch(current.value(), op.patch)
            if merged is not None:  # else refused below, as without a guard
                op.guard("update", op.key, rev, old, merged)
        elif current is not None and op.op == "delete":
            op.guard("delete", op.key, rev, old, None)

    def _create(self, op: WriteOp) -> OpResult:
        assert op.value_json is not None
        auto_id = first_auto_id(self.out.auto_id, self.now)
        while True:  # skips ids whose key a live document holds (a client chose it)
            doc = (op.collection, auto_key(auto_id))
            try:
                stored, stored_expires = self._lookup(doc)
            except NotLoaded as miss:
                miss.auto_id = auto_id
                raise
            if stored is None or stored.expired(self.now):
                break
            auto_id += 1
        self.out.auto_id = auto_id
        if op.guard is not None:
            op.guard("create", doc[1], None, None, orjson.loads(op.value_json))
        return self._write_doc(doc, stored, stored_expires, None, op.value_json, op.ttl_ms)

    def _write_doc(
        self,
        doc: DocId,
        stored: DocRecord | None,
        stored_expires: int,
        current: DocRecord | None,
        value_json: bytes,
        ttl_ms: int | None,
    ) -> OpResult:
        collection, key = doc
        seq = self.out.head_seq = self.out.head_seq + 1
        now = self.now
        expires_ms = now + ttl_ms if ttl_ms else 0
        created_ms = current.created_ms if current is not None else now
        envelope = envelope_json(collection, key, value_json, seq, created_ms, now, expires_ms)
        self._produce(len(envelope))
        record = DocRecord(seq, created_ms, expires_ms, envelope)
        self._put(doc, DocWrite(record, stored_expires, self._held(doc, stored)))
        if stored is None:
            self._count(collection, 1)
        prev_rev, prev = None, None
        if current is not None:
            prev_rev, prev = current.rev, envelope_value(current.envelope, collection, key)
        self._log(seq, "put", collection, key, value_json, prev_rev, None, prev)
        return OpResult(collection, key, seq, envelope, created=current is None)

    def _delete(
        self,
        doc: DocId,
        stored: DocRecord,
        stored_expires: int,
        prev_rev: int,
        reason: str | None,
    ) -> OpResult:
        collection, key = doc
        seq = self.out.head_seq = self.out.head_seq + 1
        self._put(doc, DocWrite(None, stored_expires, self._held(doc, stored)))
        self._count(collection, -1)
        prev = envelope_value(stored.envelope, collection, key)
        self._log(seq, "delete", collection, key, None, prev_rev, reason, prev)
        return OpResult(collection, key, seq, deleted_json(collection, key), deleted=True)

    def _expire(
        self, op: WriteOp, doc: DocId, stored: DocRecord | None, stored_expires: int
    ) -> OpResult | None:
        """The sweeper's delete: only if the document still has the expiry it saw."""
        if stored is None or stored.expires_ms != op.expires_ms:
            # Replaced or gone since the sweeper looked: its index entry may be stale.
            self.out.stale_expiries.append((op.collection, op.key, op.expires_ms))
            return None
        if not stored.expired(self.now):
            return None  # the clock stepped back: not yet
        return self._delete(doc, stored, stored_expires, stored.rev, reason="expired")

    def _log(
        self,
        seq: int,
        op: str,
        collection: str,
        key: str,
        value_json: bytes | None,
        prev_rev: int | None,
        reason: str | None,
        prev: bytes | None,
    ) -> None:
        data = change_json(seq, op, collection, key, value_json, prev_rev, self.now, reason)
        self._produce(len(data) + (0 if prev is None else len(prev)))
        self.out.changes.append(Change(seq, collection, key, op, data, prev))
