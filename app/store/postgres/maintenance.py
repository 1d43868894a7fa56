"""Background upkeep on PostgreSQL: TTL sweep, log retention, remembered answers, import.

Every node runs the maintenance loop, but a run starts only on the node that
gets the maintenance advisory lock (`pg_try_advisory_lock`, released after the
run, and by PostgreSQL when a node dies): exactly one node sweeps and trims
at a time. Sweeping goes through the normal writer, so expired documents are
deleted with ordinary `delete` changes (`"reason": "expired"`).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import asyncpg

from app.store.maintenance import TRIM_CHUNK, Retention, parse_export
from app.store.postgres.schema import MAINTENANCE_LOCK, NOTIFY_CHANNEL, RESET_PAYLOAD
from app.store.records import now_ms
from app.store.types import WriteOp

# An import's bulk statements may outlast the pool's statement timeout (meant to
# notice a silent link, not to cap a large load).
IMPORT_STATEMENT_S = 3600.0


@contextlib.asynccontextmanager
async def leader(pool: asyncpg.Pool) -> AsyncIterator[bool]:
    """Yields True on the one node that holds the maintenance lock for this run."""
    async with pool.acquire() as conn:
        got = bool(await conn.fetchval("SELECT pg_try_advisory_lock($1)", MAINTENANCE_LOCK))
        try:
            yield got
        finally:
            if got:
                await conn.execute("SELECT pg_advisory_unlock($1)", MAINTENANCE_LOCK)


async def sweep_candidates(pool: asyncpg.Pool, now: int, limit: int) -> list[WriteOp]:
    """`expire` ops for documents whose expiry has passed, oldest expiry first."""
    rows = await pool.fetch(
        "SELECT collection, key, expires_ms FROM ls_docs "
        "WHERE expires_ms > 0 AND expires_ms <= $1 ORDER BY expires_ms LIMIT $2",
        now,
        limit,
    )
    return [
        WriteOp("expire", row[0], bytes(row[1]).decode("utf-8"), expires_ms=int(row[2]))
        for row in rows
    ]


async def trim_log(pool: asyncpg.Pool, retention: Retention) -> int:
    """Drop up to TRIM_CHUNK of the oldest changes past retention; returns how many.

    The deletion and the new floor commit together, so a reader's snapshot
    always sees a log that is whole from `oldest` to the head. Writers append
    above the head and never wait on this (the floor has its own row).
    """
    async with pool.acquire() as conn, conn.transaction():
        oldest = int(await conn.fetchval("SELECT oldest FROM ls_floor WHERE id = 1 FOR UPDATE"))
        head = int(await conn.fetchval("SELECT seq FROM ls_meta WHERE id = 1"))
        keep_from = max(oldest, head - retention.changes + 1)
        cutoff_ms = now_ms() - retention.seconds * 1000
        first_kept = await conn.fetchval(
            "SELECT min(seq) FROM ls_changes WHERE seq >= $1 AND seq <= $2 AND ts_ms >= $3",
            keep_from,
            head,
            cutoff_ms,
        )
        new_oldest = min(head + 1 if first_kept is None else int(first_kept), oldest + TRIM_CHUNK)
        if new_oldest <= oldest:
            return 0
        status = await conn.execute("DELETE FROM ls_changes WHERE seq < $1", new_oldest)
        await conn.execute("UPDATE ls_floor SET oldest = $1 WHERE id = 1", new_oldest)
        return int(status.split()[-1])


async def purge_answers(pool: asyncpg.Pool, now: int, limit: int) -> int:
    """Forget up to `limit` remembered answers whose expiry has passed.

    The outer condition is checked again on a row a writer re-remembered meanwhile
    (a key reused after it expired, under READ COMMITTED): that row now expires
    later and stays.
    """
    status = await pool.execute(
        "DELETE FROM ls_idempotency WHERE expires_ms <= $1 AND scope IN ("
        "SELECT scope FROM ls_idempotency WHERE expires_ms <= $1 ORDER BY expires_ms LIMIT $2)",
        now,
        limit,
    )
    return int(status.split()[-1])


async def import_documents(pool: asyncpg.Pool, epoch: str, seq: int, envelopes: list[bytes]) -> int:
    """Load exported envelopes; adopt `epoch` and `seq` as this database's identity and head."""
    docs: dict[tuple[str, bytes], tuple[int, int, int, bytes]] = {}
    for raw in envelopes:
        collection, key, record = parse_export(raw)
        docs[(collection, key.encode("utf-8"))] = (
            record.rev,
            record.created_ms,
            record.expires_ms,
            record.envelope,
        )
    counts: dict[str, int] = {}
    for collection, _key in docs:
        counts[collection] = counts.get(collection, 0) + 1
    names = list(docs)
    rows = list(docs.values())
    async with pool.acquire() as conn, conn.transaction():
        # The write lock: no node writes while the identity and head change.
        await conn.execute("SELECT seq FROM ls_meta WHERE id = 1 FOR UPDATE")
        await conn.execute(
            """INSERT INTO ls_docs (collection, key, rev, created_ms, expires_ms, envelope)
            SELECT * FROM unnest($1::text[], $2::bytea[], $3::int8[], $4::int8[], $5::int8[],
                                 $6::bytea[])
            ON CONFLICT (collection, key) DO UPDATE SET rev = EXCLUDED.rev,
                created_ms = EXCLUDED.created_ms, expires_ms = EXCLUDED.expires_ms,
                envelope = EXCLUDED.envelope""",
            [n[0] for n in names],
            [n[1] for n in names],
            [r[0] for r in rows],
            [r[1] for r in rows],
            [r[2] for r in rows],
            [r[3] for r in rows],
            timeout=IMPORT_STATEMENT_S,
        )
        await conn.execute(
            """INSERT INTO ls_counts (collection, count)
            SELECT * FROM unnest($1::text[], $2::int8[])
            ON CONFLICT (collection) DO UPDATE SET count = ls_counts.count + EXCLUDED.count""",
            list(counts),
            list(counts.values()),
            timeout=IMPORT_STATEMENT_S,
        )
        await conn.execute("UPDATE ls_meta SET epoch = $1, seq = $2 WHERE id = 1", epoch, seq)
        await conn.execute("UPDATE ls_floor SET oldest = $1 WHERE id = 1", seq + 1)
        await conn.execute("SELECT pg_notify($1, $2)", NOTIFY_CHANNEL, RESET_PAYLOAD)
    return len(envelopes)
