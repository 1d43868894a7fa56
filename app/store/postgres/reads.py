"""Reads: range pages, change-log reads and snapshot pages, each from one snapshot.

A range page is one statement (one snapshot, with the head in it); a change
read and a snapshot walk run in a REPEATABLE READ, READ ONLY transaction, so
every page of a snapshot and the head it reports belong to one moment.
Bounds become bytea comparisons on the key column of one collection: no user
input can move a scan into another collection.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import orjson

from app.errors import BadRequest, HistoryCompacted
from app.store import keys
from app.store.base import INDEX_WALK_MAX, SCAN_BUDGET, ReadCheck
from app.store.core.events import deliverable
from app.store.records import change_seq, now_ms
from app.store.types import ChangeBatch, ChangeFilter, KeyRange, Page, RangeQuery

# (key bytes, exclusive?) lower bound and (key bytes, inclusive?) upper bound.
Lower = tuple[bytes, bool] | None
Upper = tuple[bytes, bool] | None
LIVE = "(expires_ms = 0 OR expires_ms > {now})"


def key_bounds(
    bounds: KeyRange, after: str | None = None, reverse: bool = False
) -> tuple[Lower, Upper]:
    """The tightest byte bounds of a key range (the same rules as the embedded store)."""
    lower: Lower = None
    upper: Upper = None

    def raise_lower(candidate: tuple[bytes, bool]) -> None:
        nonlocal lower
        if lower is None or candidate[0] > lower[0] or (candidate[0] == lower[0] and candidate[1]):
            lower = candidate

    def cut_upper(candidate: tuple[bytes, bool]) -> None:
        nonlocal upper
        if (
            upper is None
            or candidate[0] < upper[0]
            or (candidate[0] == upper[0] and not candidate[1])
        ):
            upper = candidate

    if bounds.prefix is not None:
        prefix = bounds.prefix.encode("utf-8")
        raise_lower((prefix, False))
        stop = keys.increment(prefix)
        if stop is not None:
            cut_upper((stop, False))
    if bounds.gte is not None:
        raise_lower((bounds.gte.encode("utf-8"), False))
    if bounds.gt is not None:
        raise_lower((bounds.gt.encode("utf-8"), True))
    if bounds.lte is not None:
        cut_upper((bounds.lte.encode("utf-8"), True))
    if bounds.lt is not None:
        cut_upper((bounds.lt.encode("utf-8"), False))
    if after is not None:
        if reverse:
            cut_upper((after.encode("utf-8"), False))
        else:
            raise_lower((after.encode("utf-8"), True))
    return lower, upper


def _empty(lower: Lower, upper: Upper) -> bool:
    if lower is None or upper is None:
        return False
    if lower[0] > upper[0]:
        return True
    return lower[0] == upper[0] and (lower[1] or not upper[1])


class Sql:
    """A WHERE clause and its parameters, built up one condition at a time."""

    def __init__(self, *params: Any) -> None:
        self.params: list[Any] = list(params)
        self.where: list[str] = []

    def arg(self, value: Any) -> str:
        self.params.append(value)
        return f"${len(self.params)}"

    def add(self, condition: str) -> None:
        self.where.append(condition)

    def key_range(self, lower: Lower, upper: Upper) -> None:
        if lower is not None:
            self.add(f"key {'>' if lower[1] else '>='} {self.arg(lower[0])}")
        if upper is not None:
            self.add(f"key {'<=' if upper[1] else '<'} {self.arg(upper[0])}")

    def key_filter(self, flt: ChangeFilter) -> None:
        if flt.key is not None:
            self.add(f"key = {self.arg(flt.key.encode('utf-8'))}")
        elif flt.bounds is not None:
            self.key_range(*key_bounds(flt.bounds))

    @property
    def clause(self) -> str:
        return " AND ".join(self.where) if self.where else "true"


def _without_value(envelope: bytes) -> bytes:
    decoded = orjson.loads(envelope)
    del decoded["value"]
    return orjson.dumps(decoded)


async def read_range(pool: asyncpg.Pool, query: RangeQuery, max_bytes: int) -> Page:
    """One page, ending early (with a cursor) before its envelopes pass `max_bytes`.

    The byte bound is applied in the statement (a running sum of envelope sizes), so
    rows past it never leave PostgreSQL: only their keys do, to tell there is more.
    """
    lower, upper = key_bounds(query.bounds, query.after, query.reverse)
    sql = Sql(query.collection)
    sql.add("collection = $1")
    sql.key_range(lower, upper)
    sql.add(LIVE.format(now=sql.arg(now_ms())))
    order = "DESC" if query.reverse else "ASC"
    if _empty(lower, upper):
        sql.add("false")
    limit = sql.arg(query.limit + 1)
    most = sql.arg(max_bytes)
    # One statement, one snapshot: the page and the head it is consistent with.
    rows = await pool.fetch(
        f"""SELECT m.seq, p.key, p.envelope FROM ls_meta m
        LEFT JOIN LATERAL (
            SELECT key, CASE WHEN n = 1 OR total <= {most} THEN envelope END AS envelope
            FROM (SELECT key, envelope, row_number() OVER w AS n,
                         sum(octet_length(envelope)) OVER w AS total
                  FROM ls_docs WHERE {sql.clause}
                  WINDOW w AS (ORDER BY key {order})
                  ORDER BY key {order} LIMIT {limit}) q) p ON true
        WHERE m.id = 1 ORDER BY p.key {order}""",  # noqa: S608 - only placeholders are spliced
        *sql.params,
    )
    head = int(rows[0]["seq"])
    found = [row for row in rows if row["key"] is not None]
    # The running sum only grows, so the rows that fit are a prefix.
    fitting = [row for row in found[: query.limit] if row["envelope"] is not None]
    more = len(found) > len(fitting)
    found = fitting
    items = [
        _without_value(bytes(row["envelope"])) if query.keys_only else bytes(row["envelope"])
        for row in found
    ]
    last_key = bytes(found[-1]["key"]).decode("utf-8") if more and found else None
    return Page(items, last_key, head)


async def read_changes(
    pool: asyncpg.Pool,
    flt: ChangeFilter,
    since: int,
    limit: int,
    can_read: ReadCheck,
    budget: int = SCAN_BUDGET,
) -> ChangeBatch:
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        row = await conn.fetchrow(
            "SELECT m.seq, f.oldest FROM ls_meta m, ls_floor f WHERE m.id = 1 AND f.id = 1"
        )
        head, oldest = int(row[0]), int(row[1])
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
        # A key filter may match sparsely: PostgreSQL would walk the whole log after
        # `since` to fill a page, so a read examines at most `budget` seqs, as the
        # embedded store does, and reports how far it got.
        upto = head if flt.key is None and flt.bounds is None else min(head, since + budget)
        if since >= head:
            pass
        elif flt.collection != "*" or can_read is None:
            if can_read is None or can_read(flt.collection):
                records = await _select_log(conn, flt, since, upto, limit)
                changes, last = _delivered(flt, records, limit, upto)
        else:
            readable = await _readable_collections(conn, can_read, budget)
            if readable is not None:
                records = await _select_log(conn, flt, since, upto, limit, readable)
                changes, last = _delivered(flt, records, limit, upto)
            else:
                records, last = await _scan_log(conn, flt, since, head, limit, can_read, budget)
                changes = _events(flt, records)
        return ChangeBatch(changes, last, head)


def _delivered(
    flt: ChangeFilter, records: list[bytes], limit: int, head: int
) -> tuple[list[bytes], int]:
    """What `records` (change records in seq order, at most `limit`) deliver under
    `flt.match`, and how far they reach: the last one's seq when there were `limit`
    (more may follow), else `head`."""
    last = change_seq(records[-1]) if len(records) == limit else head
    return _events(flt, records), last


def _events(flt: ChangeFilter, records: list[bytes]) -> list[bytes]:
    """What change records deliver under `flt.match` (`core.events.deliverable`)."""
    return [data for raw in records if (data := deliverable(flt.match, raw)) is not None]


async def _readable_collections(
    conn: asyncpg.Connection, can_read: Callable[[str], bool], budget: int
) -> list[str] | None:
    """The collections `can_read` allows, if few (at most INDEX_WALK_MAX) and cheap to
    find (every collection ever written has a count row). None: scan the log."""
    rows = await conn.fetch("SELECT collection FROM ls_counts LIMIT $1", budget + 1)
    if len(rows) > budget:
        return None
    readable = [row[0] for row in rows if can_read(row[0])]
    return readable if len(readable) <= INDEX_WALK_MAX else None


async def _select_log(
    conn: asyncpg.Connection,
    flt: ChangeFilter,
    since: int,
    head: int,
    limit: int,
    collections: list[str] | None = None,
) -> list[bytes]:
    """Matching changes, filtered by PostgreSQL: of `flt.collection`, of `collections`
    (each walked on its (collection, seq) index, then merged), or of every one."""
    sql = Sql(since, head)
    sql.add("seq > $1 AND seq <= $2")
    if collections is None and flt.collection != "*":
        sql.add(f"collection = {sql.arg(flt.collection)}")
    sql.key_filter(flt)
    count = sql.arg(limit)
    if collections is None:
        statement = f"SELECT data FROM ls_changes WHERE {sql.clause} ORDER BY seq LIMIT {count}"  # noqa: S608
    else:
        names = sql.arg(collections)
        statement = (
            f"SELECT c.data FROM unnest({names}::text[]) AS n(name) CROSS JOIN LATERAL "  # noqa: S608
            f"(SELECT seq, data FROM ls_changes WHERE collection = n.name AND {sql.clause} "
            f"ORDER BY seq LIMIT {count}) c ORDER BY c.seq LIMIT {count}"
        )
    rows = await conn.fetch(statement, *sql.params)
    return [bytes(row["data"]) for row in rows]


async def _scan_log(
    conn: asyncpg.Connection,
    flt: ChangeFilter,
    since: int,
    head: int,
    limit: int,
    can_read: Callable[[str], bool],
    budget: int,
) -> tuple[list[bytes], int]:
    """At most `budget` log entries after `since`, judged here by `can_read`; returns
    the matches and how far the log was examined (as the embedded store does)."""
    sql = Sql(since, head)
    sql.add("seq > $1 AND seq <= $2")
    sql.key_filter(flt)
    rows = await conn.fetch(
        f"SELECT seq, collection FROM ls_changes WHERE {sql.clause} "  # noqa: S608
        f"ORDER BY seq LIMIT {sql.arg(budget)}",
        *sql.params,
    )
    wanted: list[int] = []
    last = head
    for row in rows:
        if can_read(row["collection"]):
            wanted.append(int(row["seq"]))
            if len(wanted) == limit:
                last = wanted[-1]
                break
    else:
        if len(rows) == budget:
            last = int(rows[-1]["seq"])
    if not wanted:
        return [], last
    data = await conn.fetch(
        "SELECT data FROM ls_changes WHERE seq = ANY($1::int8[]) ORDER BY seq", wanted
    )
    return [bytes(row["data"]) for row in data], last


async def snapshot_pages(
    pool: asyncpg.Pool, flt: ChangeFilter, can_read: ReadCheck, page_size: int, max_bytes: int
) -> AsyncIterator[tuple[list[bytes], int, bool]]:
    """Pages of the live documents matching `flt`, all from one snapshot."""
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        head = int(await conn.fetchval("SELECT seq FROM ls_meta WHERE id = 1"))
        sql = Sql()
        if flt.collection != "*":
            sql.add(f"collection = {sql.arg(flt.collection)}")
            if flt.key is not None:
                sql.key_range(*key_bounds(KeyRange(gte=flt.key, lte=flt.key)))
            elif flt.bounds is not None:
                sql.key_range(*key_bounds(flt.bounds))
        else:
            sql.key_filter(flt)
        sql.add(LIVE.format(now=sql.arg(now_ms())))
        statement = (
            f"SELECT collection, envelope FROM ls_docs WHERE {sql.clause} "  # noqa: S608
            "ORDER BY collection, key"
        )
        items: list[bytes] = []
        size = 0
        pending: bytes | None = None  # one item read ahead: is there more after a full page?
        # Rows arrive `prefetch` at a time: few enough that big documents stay a few MB.
        async for row in conn.cursor(statement, *sql.params, prefetch=min(page_size, 64)):
            if can_read is not None and flt.collection == "*" and not can_read(row["collection"]):
                continue
            if pending is not None:
                items.append(pending)
                size += len(pending)
            pending = bytes(row["envelope"])
            # A page ends at `page_size` items or before `pending` would take it past
            # `max_bytes`; it always holds at least one.
            if len(items) == page_size or (items and size + len(pending) > max_bytes):
                yield items, head, False
                items, size = [], 0
        if pending is not None:
            items.append(pending)
        yield items, head, True


# Rows fetched per round trip by a filtered page (it may examine up to `max_scan`).
FILTER_PREFETCH = 500


async def read_filtered(pool: asyncpg.Pool, query: RangeQuery, max_bytes: int) -> Page:
    """A page with `match` or an index `scan`: candidates walked with a server-side
    cursor, in key or index order, in one REPEATABLE READ snapshot (with its head),
    each checked here as the embedded store checks it (`leveldb.reads`)."""
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        head = int(await conn.fetchval("SELECT seq FROM ls_meta WHERE id = 1"))
        walk = _Walk(query, max_bytes)
        for statement, params in _candidate_statements(query):
            async for row in conn.cursor(statement, *params, prefetch=FILTER_PREFETCH):
                if not walk.offer(row):
                    break
            if walk.more:
                break
        return walk.page(head)


def _candidate_statements(query: RangeQuery) -> list[tuple[str, list[Any]]]:
    order = "DESC" if query.reverse else "ASC"
    if query.scan is None:
        lower, upper = key_bounds(query.bounds, query.after, query.reverse)
        sql = Sql(query.collection)
        sql.add("collection = $1")
        sql.key_range(lower, upper)
        if _empty(lower, upper):
            sql.add("false")
        statement = (
            "SELECT NULL::bytea AS position, key, expires_ms, envelope FROM ls_docs "  # noqa: S608
            f"WHERE {sql.clause} ORDER BY key {order}"
        )
        return [(statement, sql.params)]
    statements = []
    after = query.after_position
    ranges = reversed(query.scan.ranges) if query.reverse else query.scan.ranges
    for start, stop in ranges:
        low, high = ">=", "<"
        if after is not None and not query.reverse:
            if after >= stop:
                continue
            if after >= start:
                start, low = after, ">"
        elif after is not None:
            if after <= start:
                continue
            stop = min(stop, after)
        statement = (
            "SELECT e.position, e.key, d.expires_ms, d.envelope FROM ls_index_entries e "  # noqa: S608
            "LEFT JOIN ls_docs d ON d.collection = $1 AND d.key = e.key "
            f"WHERE e.index_id = $2 AND e.position {low} $3 AND e.position {high} $4 "
            f"ORDER BY e.position {order}"
        )
        statements.append((statement, [query.collection, query.scan.index_id, start, stop]))
    return statements


class _Walk:
    """A filtered page as its candidates arrive: the same rules as the embedded store."""

    def __init__(self, query: RangeQuery, max_bytes: int) -> None:
        self.query = query
        self.max_bytes = max_bytes
        self.now = now_ms()
        self.items: list[bytes] = []
        self.size = self.scanned = 0
        self.more = self.exhausted = False
        self.last_key: str | None = None
        self.last_position: bytes | None = None

    def offer(self, row: Any) -> bool:
        """Consider one candidate; False once the page is over."""
        query = self.query
        if len(self.items) == query.limit:
            self.more = True
            return False
        if self.scanned >= query.max_scan:
            self.more = self.exhausted = True
            return False
        self.scanned += 1
        key = bytes(row["key"]).decode("utf-8")
        position = None if row["position"] is None else bytes(row["position"])
        envelope = row["envelope"]
        expires = row["expires_ms"]
        if (
            envelope is None
            or (expires and expires <= self.now)
            or not query.bounds.matches(key)
            or (query.match is not None and not query.match(orjson.loads(bytes(envelope))))
        ):
            self.last_key, self.last_position = key, position
            return True
        item = _without_value(bytes(envelope)) if query.keys_only else bytes(envelope)
        self.size += len(item)
        if self.size > self.max_bytes and self.items:
            self.more = True
            return False
        self.last_key, self.last_position = key, position
        self.items.append(item)
        return True

    def page(self, head: int) -> Page:
        if not self.more or self.last_key is None:
            return Page(self.items, None, head, self.scanned, self.exhausted)
        return Page(
            self.items, self.last_key, head, self.scanned, self.exhausted, self.last_position
        )
