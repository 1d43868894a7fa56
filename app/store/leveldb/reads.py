"""Scans: range pages and change-log reads, each from one LevelDB snapshot.

These run on reader threads. Every bound is turned into LevelDB key bytes
inside the collection's own prefix, so no user input can move a scan into
another collection or into the internal namespaces.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator

import orjson

from app.errors import BadRequest, HistoryCompacted
from app.store.base import INDEX_WALK_MAX, SCAN_BUDGET, ReadCheck
from app.store.core.events import deliverable
from app.store.leveldb import layout
from app.store.leveldb_driver import plyvel
from app.store.records import (
    HEADER_SIZE,
    decode_record,
    now_ms,
    record_expired,
    split_change_record,
)
from app.store.types import ChangeBatch, ChangeFilter, KeyRange, Page, RangeQuery

# (key bytes, exclusive?) lower bound and (key bytes, inclusive?) upper bound.
Lower = tuple[bytes, bool]
Upper = tuple[bytes, bool]


def _bounds(base: bytes, bounds: KeyRange, after: str | None, reverse: bool) -> tuple[Lower, Upper]:
    stop = layout.increment(base)
    assert stop is not None
    lower: Lower = (base, False)
    upper: Upper = (stop, False)

    def raise_lower(candidate: Lower) -> None:
        nonlocal lower
        # The tighter lower bound: the larger key; on a tie, the exclusive one.
        if candidate[0] > lower[0] or (candidate[0] == lower[0] and candidate[1]):
            lower = candidate

    def cut_upper(candidate: Upper) -> None:
        nonlocal upper
        # The tighter upper bound: the smaller key; on a tie, the exclusive one.
        if candidate[0] < upper[0] or (candidate[0] == upper[0] and not candidate[1]):
            upper = candidate

    def enc(s: str) -> bytes:
        return base + layout.escape(s.encode("utf-8"))

    if bounds.prefix is not None:
        raise_lower((enc(bounds.prefix), False))
        prefix_stop = layout.increment(enc(bounds.prefix))
        if prefix_stop is not None:
            cut_upper((prefix_stop, False))
    if bounds.gte is not None:
        raise_lower((enc(bounds.gte), False))
    if bounds.gt is not None:
        raise_lower((enc(bounds.gt), True))
    if bounds.lte is not None:
        cut_upper((enc(bounds.lte), True))
    if bounds.lt is not None:
        cut_upper((enc(bounds.lt), False))
    if after is not None:
        if reverse:
            cut_upper((enc(after), False))
        else:
            raise_lower((enc(after), True))
    return lower, upper


def read_range(db: plyvel.DB, query: RangeQuery, max_bytes: int) -> Page:
    """One page: up to `query.limit` documents, ending early (with a cursor) before
    its envelopes pass `max_bytes`; it always holds at least one."""
    base = layout.doc_prefix(query.collection)
    lower, upper = _bounds(base, query.bounds, query.after, query.reverse)
    snapshot = db.snapshot()
    try:
        head = layout.seq_from(snapshot.get(layout.meta_key("head")))
        if lower[0] > upper[0]:
            return Page([], None, head)
        # plyvel 1.5.1's reverse iterator drops its first item when that item
        # equals an inclusive `start` (it compares with >= regardless of
        # include_start), so `reverse` with `gte=k` lost k whenever k was the
        # last key left. In reverse we start at the collection prefix, which
        # is never a document key, and check the lower bound ourselves.
        iterator = snapshot.iterator(
            start=base if query.reverse else lower[0],
            stop=upper[0],
            include_start=query.reverse or not lower[1],
            include_stop=upper[1],
            reverse=query.reverse,
        )
        now = now_ms()
        items: list[bytes] = []
        size = 0
        scanned = 0
        exhausted = False
        last_dbkey = b""
        more = False
        # The loop runs once per document of the page: keep it to slicing bytes.
        reverse, limit, keys_only = query.reverse, query.limit, query.keys_only
        match, max_scan = query.match, query.max_scan
        for dbkey, raw in iterator:
            if reverse and (dbkey < lower[0] or (lower[1] and dbkey == lower[0])):
                break
            if len(items) == limit:
                more = True
                break
            if match is not None and scanned >= max_scan:
                more = exhausted = True
                break
            scanned += 1
            if record_expired(raw, now):
                last_dbkey = dbkey
                continue
            if match is not None and not match(orjson.loads(raw[HEADER_SIZE:])):
                last_dbkey = dbkey
                continue
            item = _item(raw, keys_only)
            size += len(item)
            if size > max_bytes and items:
                more = True
                break
            last_dbkey = dbkey
            items.append(item)
        iterator.close()
        last_key = None
        if more and last_dbkey:
            last_key = layout.key_from_doc_key(query.collection, last_dbkey).decode("utf-8")
        return Page(items, last_key, head, scanned, exhausted)
    finally:
        snapshot.close()


def _item(raw: bytes, keys_only: bool) -> bytes:
    """A page item from a document record: its envelope, or without the value."""
    if keys_only:
        envelope = orjson.loads(raw[HEADER_SIZE:])
        del envelope["value"]
        return orjson.dumps(envelope)
    return raw[HEADER_SIZE:]


def _index_ranges(query: RangeQuery) -> list[tuple[bytes, bytes, bool, bool]]:
    """The scan's ranges, in walking order, cut at the cursor's position:
    (start, stop, include_start, include_stop) over positions."""
    assert query.scan is not None
    after = query.after_position
    out = []
    ranges = reversed(query.scan.ranges) if query.reverse else query.scan.ranges
    for start, stop in ranges:
        include_start, include_stop = True, False
        if after is not None and not query.reverse:
            if after >= stop:
                continue
            if after >= start:
                start, include_start = after, False
        elif after is not None:
            if after <= start:
                continue
            if after < stop:
                stop = after
        out.append((start, stop, include_start, include_stop))
    return out


def read_index_range(db: plyvel.DB, query: RangeQuery, max_bytes: int) -> Page:
    """One page from an index (`query.scan`): candidates in index order, each fetched
    from the same snapshot and checked against the key bounds and `match` (a document
    is decoded only for `match` or `keys_only`)."""
    assert query.scan is not None
    base = layout.index_prefix(query.scan.index_id)
    skip = len(base)
    snapshot = db.snapshot()
    try:
        head = layout.seq_from(snapshot.get(layout.meta_key("head")))
        now = now_ms()
        items: list[bytes] = []
        size = scanned = 0
        exhausted = more = False
        last: tuple[bytes, bytes] | None = None  # (index entry key, document key)
        match, max_scan = query.match, query.max_scan
        limit, keys_only = query.limit, query.keys_only
        bounds = None if query.bounds == KeyRange() else query.bounds
        doc_prefix = layout.doc_prefix(query.collection)
        fetch = snapshot.get
        for start, stop, include_start, include_stop in _index_ranges(query):
            # In reverse, plyvel drops an item equal to an inclusive start (see
            # `read_range`); a range start is a value prefix, never a whole position.
            iterator = snapshot.iterator(
                start=base + start,
                stop=base + stop,
                include_start=include_start,
                include_stop=include_stop,
                reverse=query.reverse,
            )
            try:
                # The loop runs once per candidate: the cursor's key and position
                # are decoded once, for the last one (`last`).
                for dbkey, raw_key in iterator:
                    if len(items) == limit:
                        more = True
                        break
                    if scanned >= max_scan:
                        more = exhausted = True
                        break
                    scanned += 1
                    raw = fetch(doc_prefix + raw_key.replace(b"\x00", b"\x00\xff"))
                    if (
                        raw is None
                        or record_expired(raw, now)
                        or (bounds is not None and not bounds.matches(raw_key.decode("utf-8")))
                        or (match is not None and not match(orjson.loads(raw[HEADER_SIZE:])))
                    ):
                        last = dbkey, raw_key
                        continue
                    item = raw[HEADER_SIZE:] if not keys_only else _item(raw, True)
                    size += len(item)
                    if size > max_bytes and items:
                        more = True
                        break
                    last = dbkey, raw_key
                    items.append(item)
            finally:
                iterator.close()
            if more:
                break
        if not more or last is None:
            return Page(items, None, head, scanned, exhausted)
        last_position, last_key = last[0][skip:], last[1].decode("utf-8")
        return Page(items, last_key, head, scanned, exhausted, last_position)
    finally:
        snapshot.close()


def read_changes(
    db: plyvel.DB,
    flt: ChangeFilter,
    since: int,
    limit: int,
    can_read: ReadCheck,
    budget: int = SCAN_BUDGET,
) -> ChangeBatch:
    snapshot = db.snapshot()
    try:
        head = layout.seq_from(snapshot.get(layout.meta_key("head")))
        oldest = layout.seq_from(snapshot.get(layout.meta_key("oldest")))
        if since > head:
            raise BadRequest(
                f"since={since} is ahead of this database's head seq {head}; "
                "it belongs to another database (check the epoch) or is invalid",
                head_seq=head,
            )
        if since < oldest - 1:
            raise HistoryCompacted(oldest)
        changes: list[bytes] = []
        last = head
        if since >= head:
            pass
        elif flt.collection != "*":
            if can_read is None or can_read(flt.collection):
                changes, last = _walk_indexes(
                    snapshot, [flt.collection], flt, since, head, limit, budget
                )
        else:
            readable = _readable_collections(snapshot, can_read, budget)
            if readable is not None:
                changes, last = _walk_indexes(snapshot, readable, flt, since, head, limit, budget)
            else:
                changes, last = _scan_log(snapshot, flt, since, head, limit, can_read, budget)
        return ChangeBatch(changes, last, head)
    finally:
        snapshot.close()


def _readable_collections(
    snapshot: plyvel.Snapshot, can_read: ReadCheck, budget: int
) -> list[str] | None:
    """The collections `can_read` allows, if few (at most INDEX_WALK_MAX) and cheap to
    find: every collection ever written has a count entry, so this lists every
    collection the log can name. None: walk the log itself."""
    if can_read is None:
        return None
    readable: list[str] = []
    iterator = snapshot.iterator(prefix=layout.COUNT, include_value=False)
    try:
        for examined, dbkey in enumerate(iterator):
            if examined >= budget:
                return None
            name = layout.unescape(dbkey[1:]).decode("utf-8")
            if can_read(name):
                readable.append(name)
                if len(readable) > INDEX_WALK_MAX:
                    return None
    finally:
        iterator.close()
    return readable


def _walk_indexes(
    snapshot: plyvel.Snapshot,
    collections: list[str],
    flt: ChangeFilter,
    since: int,
    head: int,
    limit: int,
    budget: int,
) -> tuple[list[bytes], int]:
    """Changes of `collections` after `since`, merged by seq from their log indexes.

    Returns them and the seq up to which the log was examined (the last change at
    `limit`, the last entry looked at when the budget ran out, else `head`).
    """
    iterators = [
        snapshot.iterator(
            start=layout.log_index_key(name, since + 1), stop=layout.log_index_key(name, head + 1)
        )
        for name in collections
    ]

    def entries(name: str, iterator: plyvel.Iterator) -> Iterator[tuple[int, str, bytes]]:
        for dbkey, key in iterator:
            yield layout.seq_from(dbkey[-8:]), name, key

    unfiltered = flt.key is None and flt.bounds is None
    out: list[bytes] = []
    last = head
    try:
        walks = [entries(n, it) for n, it in zip(collections, iterators, strict=True)]
        merged = heapq.merge(*walks)
        for examined, (seq, name, key) in enumerate(merged, 1):
            if unfiltered or flt.matches(name, key.decode("utf-8")):
                data = deliverable(flt.match, snapshot.get(layout.log_key(seq)))
                if data is not None:
                    out.append(data)
                if len(out) == limit:
                    last = seq
                    break
            if examined >= budget:
                last = seq
                break
    finally:
        for iterator in iterators:
            iterator.close()
    return out, last


def _scan_log(
    snapshot: plyvel.Snapshot,
    flt: ChangeFilter,
    since: int,
    head: int,
    limit: int,
    can_read: ReadCheck,
    budget: int,
) -> tuple[list[bytes], int]:
    """Changes after `since` from the log itself, up to `budget` entries examined;
    returns them and how far the log was examined (as `_walk_indexes`)."""
    out: list[bytes] = []
    last = head
    unfiltered = flt.key is None and flt.bounds is None and can_read is None
    iterator = snapshot.iterator(start=layout.log_key(since + 1), stop=layout.log_key(head + 1))
    for examined, (dbkey, raw) in enumerate(iterator, 1):
        if unfiltered:
            matched = True
        else:
            change = orjson.loads(split_change_record(raw)[0])
            collection, key = change["collection"], change["key"]
            matched = (can_read is None or can_read(collection)) and flt.matches(collection, key)
        if matched:
            data = deliverable(flt.match, raw)
            if data is not None:
                out.append(data)
            if len(out) == limit:
                last = layout.seq_from(dbkey[1:])
                break
        if examined >= budget:
            last = layout.seq_from(dbkey[1:])
            break
    iterator.close()
    return out, last


def read_snapshot_page(
    snapshot: plyvel.Snapshot,
    flt: ChangeFilter,
    can_read: ReadCheck,
    after: bytes | None,
    limit: int,
    max_bytes: int,
) -> tuple[list[bytes], bytes | None]:
    """Up to `limit` live documents matching `flt`, after LevelDB key `after`, ending
    early before their envelopes pass `max_bytes` (a page holds at least one).

    Returns the envelopes and the LevelDB key to continue after (None: done).
    """
    if flt.collection == "*":
        start, stop = layout.DOC, layout.increment(layout.DOC)
        include_start, include_stop = True, False
    else:
        base = layout.doc_prefix(flt.collection)
        if flt.key is not None:
            bounds = KeyRange(gte=flt.key, lte=flt.key)
        else:
            bounds = flt.bounds or KeyRange()
        lower, upper = _bounds(base, bounds, None, False)
        start, stop, include_start, include_stop = lower[0], upper[0], not lower[1], upper[1]
    if after is not None:
        start, include_start = after, False
    items: list[bytes] = []
    size = 0
    now = now_ms()
    iterator = snapshot.iterator(
        start=start, stop=stop, include_start=include_start, include_stop=include_stop
    )
    last: bytes | None = None
    for dbkey, raw in iterator:
        if flt.collection == "*":
            cut = dbkey.index(b"\x00", 1)  # names never contain NUL
            collection = dbkey[1:cut].decode("utf-8")
            key = layout.unescape(dbkey[cut + 1 :]).decode("utf-8")
            if can_read is not None and not can_read(collection):
                continue
            if not flt.matches(collection, key):
                continue
        record = decode_record(raw)
        if record.expired(now):
            continue
        size += len(record.envelope)
        if size > max_bytes and items:
            break  # this document starts the next page
        last = dbkey
        items.append(record.envelope)
        if len(items) == limit:
            break
    else:
        last = None
    iterator.close()
    return items, last
