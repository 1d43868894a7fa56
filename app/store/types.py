"""Plain data passed across the store interface."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from app.cel import Program

OpKind = Literal["put", "create", "patch", "delete", "expire"]
# guard(op, key, current rev, current value, new value): see `WriteOp`.
Guard = Callable[[str, str, "int | None", Any, Any], None]
# match(collection, key, rev, value): whether a filtered subscription sees a document.
DocMatch = Callable[[str, str, "int | None", Any], bool]


@dataclass(frozen=True, slots=True)
class WriteOp:
    """One document operation; a transaction is a list of these, all or nothing.

    `value_json` is the already validated, encoded value of a put/create;
    `patch` is the merge patch of a patch. `expires_ms` of an `expire` op is the
    expiry the sweeper saw: the op does nothing if the document changed since.
    `guard`, when set, is called where the op applies, before its preconditions,
    as guard(op, key, current rev, current value, new value) with op `create`,
    `update` or `delete`; it raises a `LevelstreamError` to refuse the op (the
    caller's rules, `app/auth/rules.py`; the store knows nothing of them).
    """

    op: OpKind
    collection: str
    key: str = ""
    value_json: bytes | None = None
    patch: Any = None
    if_rev: int | None = None
    if_absent: bool = False
    if_exists: bool = False
    ttl_ms: int | None = None
    expires_ms: int = 0
    guard: Guard | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class OpResult:
    """What one op did: its envelope (puts) or a deletion, and whether it created."""

    collection: str
    key: str
    rev: int
    body: bytes  # envelope JSON, or {"collection","key","deleted":true}
    created: bool = False
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class TxResult:
    results: list[OpResult]
    last_seq: int


@dataclass(frozen=True, slots=True)
class Once:
    """Apply a transaction at most once per (owner, key): an idempotency key.

    `answer` renders the caller's answer to the committed transaction, inside the
    write, so that the answer is stored in the same atomic commit as the write
    (`app.store.core.once`). `digest` identifies the request: the same key with
    another digest is refused. The answer is remembered for `ttl_ms`. The store
    treats `owner`, `key` and the answer as opaque.
    """

    owner: str
    key: str
    digest: bytes
    ttl_ms: int
    answer: Callable[[TxResult], bytes] = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Answered:
    """A `Once` write's answer: rendered by this write, or `replayed` from the first."""

    answer: bytes
    replayed: bool


@dataclass(frozen=True, slots=True)
class Change:
    """A committed change, encoded once: `data` is the JSON every subscriber gets;
    `prev` the previous value's JSON when the change replaced or deleted a document
    (kept in the log beside `data` for filtered subscriptions: `change_record`)."""

    seq: int
    collection: str
    key: str
    op: str
    data: bytes
    prev: bytes | None = None


@dataclass(frozen=True, slots=True)
class KeyRange:
    """Key bounds inside one collection; every bound is optional and they combine."""

    gt: str | None = None
    gte: str | None = None
    lt: str | None = None
    lte: str | None = None
    prefix: str | None = None

    def matches(self, key: str) -> bool:
        if self.prefix is not None and not key.startswith(self.prefix):
            return False
        # Python compares str by code point, which is the same order as UTF-8 bytes.
        if self.gt is not None and not key > self.gt:
            return False
        if self.gte is not None and not key >= self.gte:
            return False
        if self.lt is not None and not key < self.lt:
            return False
        return not (self.lte is not None and not key <= self.lte)


# The most documents one range page examines when it filters (LEVELSTREAM_MAX_SCAN).
DEFAULT_MAX_SCAN = 10_000


@dataclass(frozen=True, slots=True)
class IndexScan:
    """Walk index `index_id` (its `name`, for explain) over `ranges` of positions:
    sorted, disjoint [start, stop) byte ranges (`app.store.core.indexing`)."""

    index_id: int
    name: str
    ranges: tuple[tuple[bytes, bytes], ...]


@dataclass(frozen=True, slots=True)
class RangeQuery:
    """One page of a range read.

    `match`, when set, is checked on every candidate document (the decoded envelope:
    its `value`, `key` and `rev`), and every candidate examined counts against
    `max_scan`: when that runs out before the page is full, the page ends there with
    a cursor and `Page.exhausted_budget`. With `scan`, the candidates come from an
    index in its order (`after_position` is the cursor's place in it); else from
    the key range in key order (`after`).
    """

    collection: str
    bounds: KeyRange = field(default_factory=KeyRange)
    limit: int = 100
    reverse: bool = False
    after: str | None = None  # the last key of the previous page (from the cursor)
    keys_only: bool = False
    match: Callable[[Any], bool] | None = None
    max_scan: int = DEFAULT_MAX_SCAN
    scan: IndexScan | None = None
    after_position: bytes | None = None


@dataclass(frozen=True, slots=True)
class Page:
    items: Sequence[bytes]  # envelope JSON
    last_key: str | None  # set when there may be more
    seq: int  # the snapshot's head seq
    scanned: int = 0  # candidate documents examined
    exhausted_budget: bool = False  # the page ended at `max_scan`, not at `limit`
    last_position: bytes | None = None  # with `scan`: the cursor's place in the index


@dataclass(frozen=True, slots=True)
class ChangeFilter:
    """Which changes a subscriber wants: a collection (`*`: all) and one key filter."""

    collection: str
    key: str | None = None
    bounds: KeyRange | None = None
    # The subscription's own `where` (kept to rebuild `match` when the rules change).
    where: Program | None = field(default=None, compare=False)
    # Set for a filtered subscription (a `where`, a read rule): which documents it sees,
    # as match(collection, key, rev, value); its changes then have enter/leave semantics
    # (`app/store/core/events.py`). Built above the store, which only calls it.
    match: DocMatch | None = field(default=None, compare=False)

    def matches(self, collection: str, key: str) -> bool:
        if self.collection != "*" and collection != self.collection:
            return False
        if self.key is not None and key != self.key:
            return False
        return self.bounds is None or self.bounds.matches(key)


@dataclass(frozen=True, slots=True)
class ChangeBatch:
    """A read of the change log: matching changes after a seq, as of one snapshot."""

    changes: list[bytes]
    last_seq: int
    head_seq: int
