"""Where an offline client keeps its replicas, outbox and conflicts (hand-written).

Two implementations of one small interface: `MemoryStore` (gone with the process) and
`SqliteStore` (stdlib sqlite3 in WAL mode: a write is committed before it is shown, so a
process killed at any moment loses nothing it showed). Every method is one transaction;
the offline client calls them from its event loop (each is short: a replica's snapshot
replacement is the long one, one statement per document in one transaction).
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

# What a queued write was based on: a rev (If-Match / if_rev), "absent" (create only:
# If-None-Match: *), "chain" (the rev an earlier queued write to the key will produce,
# filled in when that one is acknowledged), or None (unconditional).
Base = int | Literal["absent", "chain"] | None


@dataclass
class StoredDoc:
    value: Any
    rev: int


@dataclass
class QueryState:
    """A replica as last applied: the documents matching, and the seq they reflect."""

    seq: int | None = None
    epoch: str | None = None
    docs: dict[str, StoredDoc] = field(default_factory=dict)


@dataclass
class WriteOp:
    """One document write: `value` is the new value (put) or the merge patch (patch)."""

    op: Literal["put", "patch", "delete"]
    collection: str
    key: str
    value: Any = None
    base: Base = None

    def to_json(self) -> dict[str, Any]:
        return {
            "op": self.op,
            "collection": self.collection,
            "key": self.key,
            "value": self.value,
            "base": self.base,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WriteOp:
        return cls(data["op"], data["collection"], data["key"], data.get("value"), data["base"])


@dataclass
class OutboxEntry:
    """One queued write (a batch is one entry): sent once, under `idempotency_key`.

    `acked_seq` is set when the server answered it (with `revs`, each op's new rev, None
    for a delete); the entry stays, flagging its documents `pending`, until every
    replica of its collections has applied that seq.
    """

    id: int
    ops: list[WriteOp]
    batch: bool
    idempotency_key: str
    acked_seq: int | None = None
    revs: list[int | None] | None = None


def new_idempotency_key() -> str:
    return uuid.uuid4().hex


class LocalStore(Protocol):
    def load_query(self, query_id: str) -> QueryState: ...
    def apply(
        self,
        query_id: str,
        seq: int,
        epoch: str | None,
        upserts: dict[str, StoredDoc],
        removed: set[str],
    ) -> None: ...
    def replace(self, query_id: str, state: QueryState) -> None: ...
    def add_entry(self, ops: list[WriteOp], batch: bool) -> OutboxEntry: ...
    def save_entries(self, entries: list[OutboxEntry]) -> None: ...
    def remove_entries(self, ids: list[int]) -> None: ...
    def load_outbox(self) -> list[OutboxEntry]: ...
    def add_conflict(self, record: dict[str, Any]) -> None: ...
    def load_conflicts(self) -> list[dict[str, Any]]: ...  # each with its "id"
    def remove_conflict(self, conflict_id: int) -> None: ...
    def clear_conflicts(self) -> None: ...
    def close(self) -> None: ...


class MemoryStore:
    """Everything in dicts: for tests, and apps that need no restart survival."""

    def __init__(self) -> None:
        self.queries: dict[str, QueryState] = {}
        self.entries: dict[int, OutboxEntry] = {}
        self.conflicts: dict[int, dict[str, Any]] = {}
        self._next_id = 1

    def load_query(self, query_id: str) -> QueryState:
        state = self.queries.get(query_id, QueryState())
        return QueryState(state.seq, state.epoch, dict(state.docs))

    def apply(
        self,
        query_id: str,
        seq: int,
        epoch: str | None,
        upserts: dict[str, StoredDoc],
        removed: set[str],
    ) -> None:
        state = self.queries.setdefault(query_id, QueryState())
        state.docs.update(upserts)
        for key in removed:
            state.docs.pop(key, None)
        state.seq, state.epoch = seq, epoch

    def replace(self, query_id: str, state: QueryState) -> None:
        self.queries[query_id] = QueryState(state.seq, state.epoch, dict(state.docs))

    def add_entry(self, ops: list[WriteOp], batch: bool) -> OutboxEntry:
        entry = OutboxEntry(self._next_id, ops, batch, new_idempotency_key())
        self._next_id += 1
        self.entries[entry.id] = entry
        return entry

    def save_entries(self, entries: list[OutboxEntry]) -> None:
        for entry in entries:
            self.entries[entry.id] = entry

    def remove_entries(self, ids: list[int]) -> None:
        for entry_id in ids:
            self.entries.pop(entry_id, None)

    def load_outbox(self) -> list[OutboxEntry]:
        return [self.entries[i] for i in sorted(self.entries)]

    def add_conflict(self, record: dict[str, Any]) -> None:
        self.conflicts[self._next_id] = record
        self._next_id += 1

    def load_conflicts(self) -> list[dict[str, Any]]:
        return [{**record, "id": i} for i, record in self.conflicts.items()]

    def remove_conflict(self, conflict_id: int) -> None:
        self.conflicts.pop(conflict_id, None)

    def clear_conflicts(self) -> None:
        self.conflicts.clear()

    def close(self) -> None:
        pass


_SCHEMA = """
CREATE TABLE IF NOT EXISTS queries (id TEXT PRIMARY KEY, seq INTEGER, epoch TEXT);
CREATE TABLE IF NOT EXISTS docs (
  query TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, rev INTEGER NOT NULL,
  PRIMARY KEY (query, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT, ops TEXT NOT NULL, batch INTEGER NOT NULL,
  idempotency_key TEXT NOT NULL, acked_seq INTEGER, revs TEXT
);
CREATE TABLE IF NOT EXISTS conflicts (id INTEGER PRIMARY KEY AUTOINCREMENT, record TEXT);
"""


class SqliteStore:
    """One SQLite file (WAL mode) per server and principal: the app picks the path.

    `synchronous="NORMAL"` (the default) commits survive a killed process; "FULL" also
    survives a power loss, at an fsync per write.
    """

    def __init__(self, path: str | Path, *, synchronous: str = "NORMAL") -> None:
        if synchronous not in ("NORMAL", "FULL"):
            raise ValueError("synchronous must be NORMAL or FULL")
        self.db = sqlite3.connect(str(path), isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute(f"PRAGMA synchronous={synchronous}")
        self.db.executescript(_SCHEMA)

    def _txn(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def load_query(self, query_id: str) -> QueryState:
        row = self.db.execute("SELECT seq, epoch FROM queries WHERE id = ?", (query_id,))
        found = row.fetchone()
        state = QueryState(*found) if found else QueryState()
        rows = self.db.execute("SELECT key, value, rev FROM docs WHERE query = ?", (query_id,))
        state.docs = {key: StoredDoc(json.loads(value), rev) for key, value, rev in rows}
        return state

    def apply(
        self,
        query_id: str,
        seq: int,
        epoch: str | None,
        upserts: dict[str, StoredDoc],
        removed: set[str],
    ) -> None:
        db = self._txn()
        try:
            db.executemany(
                "INSERT OR REPLACE INTO docs VALUES (?, ?, ?, ?)",
                [(query_id, k, json.dumps(d.value), d.rev) for k, d in upserts.items()],
            )
            db.executemany(
                "DELETE FROM docs WHERE query = ? AND key = ?", [(query_id, k) for k in removed]
            )
            db.execute("INSERT OR REPLACE INTO queries VALUES (?, ?, ?)", (query_id, seq, epoch))
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def replace(self, query_id: str, state: QueryState) -> None:
        db = self._txn()
        try:
            db.execute("DELETE FROM docs WHERE query = ?", (query_id,))
            db.executemany(
                "INSERT INTO docs VALUES (?, ?, ?, ?)",
                [(query_id, k, json.dumps(d.value), d.rev) for k, d in state.docs.items()],
            )
            db.execute(
                "INSERT OR REPLACE INTO queries VALUES (?, ?, ?)",
                (query_id, state.seq, state.epoch),
            )
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def add_entry(self, ops: list[WriteOp], batch: bool) -> OutboxEntry:
        key = new_idempotency_key()
        cursor = self.db.execute(
            "INSERT INTO outbox (ops, batch, idempotency_key) VALUES (?, ?, ?)",
            (json.dumps([op.to_json() for op in ops]), int(batch), key),
        )
        assert cursor.lastrowid is not None
        return OutboxEntry(cursor.lastrowid, ops, batch, key)

    def save_entries(self, entries: list[OutboxEntry]) -> None:
        db = self._txn()
        db.executemany(
            "UPDATE outbox SET ops = ?, idempotency_key = ?, acked_seq = ?, revs = ? WHERE id = ?",
            [
                (
                    json.dumps([op.to_json() for op in e.ops]),
                    e.idempotency_key,
                    e.acked_seq,
                    None if e.revs is None else json.dumps(e.revs),
                    e.id,
                )
                for e in entries
            ],
        )
        db.execute("COMMIT")

    def remove_entries(self, ids: list[int]) -> None:
        db = self._txn()
        db.executemany("DELETE FROM outbox WHERE id = ?", [(i,) for i in ids])
        db.execute("COMMIT")

    def load_outbox(self) -> list[OutboxEntry]:
        rows = self.db.execute(
            "SELECT id, ops, batch, idempotency_key, acked_seq, revs FROM outbox ORDER BY id"
        )
        return [
            OutboxEntry(
                entry_id,
                [WriteOp.from_json(op) for op in json.loads(ops)],
                bool(batch),
                key,
                acked_seq,
                None if revs is None else json.loads(revs),
            )
            for entry_id, ops, batch, key, acked_seq, revs in rows
        ]

    def add_conflict(self, record: dict[str, Any]) -> None:
        self.db.execute("INSERT INTO conflicts (record) VALUES (?)", (json.dumps(record),))

    def load_conflicts(self) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT id, record FROM conflicts ORDER BY id")
        return [{**json.loads(record), "id": conflict_id} for conflict_id, record in rows]

    def remove_conflict(self, conflict_id: int) -> None:
        self.db.execute("DELETE FROM conflicts WHERE id = ?", (conflict_id,))

    def clear_conflicts(self) -> None:
        self.db.execute("DELETE FROM conflicts")

    def close(self) -> None:
        self.db.close()
