"""What the store core hands a backend: the documents a group reads, and what it changes.

A backend fetches the documents a group touches (`DocReader`), the core
decides everything (`app.store.core.txn`), and the backend stores the
resulting `Mutations` in its own shape: LevelDB keys in one write batch,
PostgreSQL rows in one SQL transaction. Nothing here knows either shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from app.store.core.once import AnswerWrite
from app.store.records import DocRecord
from app.store.types import Change

# (collection, key): a document's identity.
DocId = tuple[str, str]


class NotLoaded(Exception):
    """A reader was asked for a document it did not fetch (a server-chosen key).

    Backends that read synchronously never raise it; one that fetches a group's
    documents up front loads `doc` and applies the transaction again. When a
    create was picking its key, `auto_id` is the id behind `doc`: the keys after
    it (`keys_from`) are the ones the create tries next.
    """

    def __init__(self, doc: DocId) -> None:
        super().__init__(f"document {doc!r} was not fetched")
        self.doc = doc
        self.auto_id: int | None = None


class DocReader(Protocol):
    """The backend's view of the documents before the group: stored records, expired or not."""

    def get(self, collection: str, key: str) -> DocRecord | None: ...


@dataclass(slots=True)
class DocWrite:
    """The final state of one document after the group.

    `record` is the new record (None: delete it); `stored_expires_ms` is the expiry
    of the record the backend holds now (0: none, or no record), so an index of
    expiries can drop the old entry; `stored` is that record itself, so the JSON
    field indexes can drop its entries (`app.store.core.indexing`).
    """

    record: DocRecord | None
    stored_expires_ms: int
    stored: DocRecord | None = None


class Mutations:
    """Everything a group (or one transaction of it) writes, in backend-neutral terms.

    `docs` holds the final state of each document touched; `changes` are in seq
    order, consecutive from the previous head; `counts` are document-count deltas
    by collection; `stale_expiries` are expiries the TTL sweeper saw that no
    document carries any more (collection, key, expires_ms); `answers` are the
    remembered answers of its idempotent transactions, by scope (`core.once`).
    """

    # A plain class: one is made per transaction, on the writer's hot path.
    __slots__ = (
        "answers",
        "auto_id",
        "changes",
        "counts",
        "docs",
        "head_seq",
        "now_ms",
        "stale_expiries",
    )

    def __init__(self, head_seq: int, auto_id: int, now_ms: int) -> None:
        self.head_seq = head_seq
        self.auto_id = auto_id
        self.now_ms = now_ms
        self.docs: dict[DocId, DocWrite] = {}
        self.changes: list[Change] = []
        self.counts: dict[str, int] = {}
        self.stale_expiries: list[tuple[str, str, int]] = []
        self.answers: dict[bytes, AnswerWrite] = {}

    @property
    def empty(self) -> bool:
        return not self.changes and not self.stale_expiries and not self.answers
