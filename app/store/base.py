"""The `Store` interface: everything the API and the real-time hub need from storage.

The LevelDB implementation is `app.store.leveldb.LevelStore`; a clustered
implementation (PostgreSQL) fills the same interface, so nothing above the
store knows which one runs.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Sequence

from app.store.core.indexing import IndexDef, Path
from app.store.records import DocRecord
from app.store.types import (
    Answered,
    Change,
    ChangeBatch,
    ChangeFilter,
    Once,
    Page,
    RangeQuery,
    TxResult,
    WriteOp,
)

CommitListener = Callable[[Sequence[Change]], None]
# The most bytes of envelopes and change records one transaction may produce, and of
# envelopes one read page may hold (the default of LEVELSTREAM_MAX_TXN_BYTES).
DEFAULT_MAX_TXN_BYTES = 16 * 1024 * 1024
# The most change-log entries one change read examines. A read whose matches are
# sparse (a caller that may read few of the collections in a long log, a key
# filter) stops there and reports how far it got in `last_seq`: the caller goes
# on from there, with no gap and no duplicate. ~20k entries is ~80 ms here.
SCAN_BUDGET = 20_000
# A caller that may read at most this many collections walks their log indexes
# (merged by seq) instead of the whole log, so other collections cost nothing.
INDEX_WALK_MAX = 64
# The most expired remembered answers (idempotency keys) one purge step forgets.
PURGE_ANSWERS = 1000
# Decides whether a caller may read a collection; None means "everything".
ReadCheck = Callable[[str], bool] | None


class Store(ABC):
    epoch: str

    @abstractmethod
    async def start(self) -> None:
        """Open for business: start the writer and background maintenance."""

    @abstractmethod
    async def close(self) -> None:
        """Finish in-flight writes, stop background work, close the database."""

    @property
    @abstractmethod
    def head_seq(self) -> int:
        """The seq of the latest committed change."""

    @abstractmethod
    async def oldest_seq(self) -> int:
        """The oldest seq still in the change log (head + 1 when the log is empty)."""

    @abstractmethod
    def add_listener(self, listener: CommitListener) -> None:
        """Call `listener` on the event loop with every committed group, in seq order."""

    @abstractmethod
    def remove_listener(self, listener: CommitListener) -> None: ...

    @abstractmethod
    async def write(self, ops: list[WriteOp]) -> TxResult:
        """Apply `ops` all or nothing; returns after the commit (durable in sync mode)."""

    @abstractmethod
    async def write_once(self, ops: list[WriteOp], once: Once) -> Answered:
        """`write`, at most once per (`once.owner`, `once.key`) while its answer is
        remembered: the answer is stored in the same commit as the write, and a later
        call with that key replays it (`app.store.core.once`)."""

    @abstractmethod
    async def purge_answers_once(self) -> int:
        """Forget up to PURGE_ANSWERS remembered answers whose time has passed; how many."""

    @abstractmethod
    async def get(self, collection: str, key: str) -> DocRecord | None:
        """The live (not expired) document, or None."""

    @abstractmethod
    async def range(self, query: RangeQuery) -> Page:
        """One page of a key range, from one consistent snapshot."""

    # --- JSON field indexes (app/store/core/indexing.py) ---

    @abstractmethod
    async def create_index(
        self, collection: str, name: str, fields: tuple[Path, ...]
    ) -> tuple[IndexDef, bool]:
        """Define an index and start building it online; (the index, created?).

        An index of that name that exists is returned as it is (created False).
        Raises Conflict when the collection has MAX_INDEXES already.
        """

    @abstractmethod
    async def indexes(self, collection: str) -> list[IndexDef]:
        """The collection's indexes (building or ready), by name."""

    @abstractmethod
    async def drop_index(self, collection: str, name: str) -> bool:
        """Drop an index (no read uses it from now on); False if there was none."""

    @abstractmethod
    async def collections(self) -> list[tuple[str, int]]:
        """Collections that hold documents, with their counts, by name."""

    @abstractmethod
    async def changes(
        self, flt: ChangeFilter, since: int, limit: int, can_read: ReadCheck = None
    ) -> ChangeBatch:
        """Matching changes with seq > since, as of one snapshot.

        Raises `HistoryCompacted` when `since` is older than the log keeps and
        `BadRequest` when it is ahead of the head.
        """

    @abstractmethod
    def snapshot_pages(
        self, flt: ChangeFilter, can_read: ReadCheck = None, page_size: int = 1000
    ) -> AsyncIterator[tuple[list[bytes], int, bool]]:
        """The documents matching `flt` as of one seq N, in pages: (items, N, done)."""

    @abstractmethod
    async def is_empty(self) -> bool:
        """No document and no change was ever written, and no index is defined."""

    @abstractmethod
    async def import_documents(self, epoch: str, seq: int, envelopes: list[bytes]) -> int:
        """Load exported envelopes into an empty store (one call per chunk).

        The first call adopts `epoch` and `seq` as this database's identity and
        head, so cursors of the exported database stay meaningful; the change
        log starts empty after `seq`.
        """

    @abstractmethod
    async def auth_put(self, name: str, value: bytes | None) -> None:
        """Write (or with None delete) a credential record, through the one writer."""

    @abstractmethod
    async def auth_items(self, prefix: str) -> list[tuple[str, bytes]]:
        """Credential records whose names start with `prefix`."""

    @abstractmethod
    async def ready(self) -> bool:
        """Open and accepting writes."""
