"""JSON field indexes on PostgreSQL: definitions, the online build, the drop.

Entries are rows of `ls_index_entries` (schema V2), written by the writers in the
same statement as the documents (`writer.WRITE_SQL`). A definition change and
each build batch take the write lock (the writers' `LOCK_SQL`), so they are
serialized with every node's writes exactly as the embedded store serializes
them in its writer thread: a document written after the index exists has its
entry written by its write; a build batch computes the entries of the documents
as committed (ON CONFLICT DO NOTHING: an entry a write put there is the same
one); a write after the batch replaces what the batch put. Writes wait at most
one build batch.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import orjson

from app.errors import Conflict
from app.store.core.indexing import MAX_INDEXES, IndexDef, Path, build_entries
from app.store.postgres.writer import LOCK_SQL, LockMode
from app.store.records import now_ms

BUILD_BATCH = 2000
PURGE_BATCH = 10_000

_COLUMNS = "id, collection, name, fields, state, done, total, position, created_ms"
_BY_ID = f"SELECT {_COLUMNS} FROM ls_indexes WHERE id = $1"  # noqa: S608


def _index(row: Any) -> IndexDef:
    position = row["position"]
    return IndexDef(
        row["id"],
        row["collection"],
        row["name"],
        tuple(tuple(path) for path in orjson.loads(row["fields"])),
        row["state"],
        row["done"],
        row["total"],
        None if position is None else bytes(position).decode("utf-8"),
        row["created_ms"],
    )


async def _lock(conn: asyncpg.Connection, lock: LockMode) -> None:
    for sql in LOCK_SQL[lock]:
        await conn.fetchrow(sql)


async def list_indexes(conn: asyncpg.Connection | asyncpg.Pool, collection: str) -> list[IndexDef]:
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM ls_indexes WHERE collection = $1 ORDER BY name",  # noqa: S608
        collection,
    )
    return [_index(row) for row in rows]


async def create(
    pool: asyncpg.Pool, lock: LockMode, collection: str, name: str, fields: tuple[Path, ...]
) -> tuple[IndexDef, bool]:
    async with pool.acquire() as conn, conn.transaction():
        await _lock(conn, lock)
        existing = await list_indexes(conn, collection)
        found = next((index for index in existing if index.name == name), None)
        if found is not None:
            return found, False
        if len(existing) >= MAX_INDEXES:
            raise Conflict(
                f"collection {collection!r} has {MAX_INDEXES} indexes already; drop one first"
            )
        total = await conn.fetchval(
            "SELECT coalesce((SELECT count FROM ls_counts WHERE collection = $1), 0)", collection
        )
        insert = (
            "INSERT INTO ls_indexes (collection, name, fields, state, total, created_ms) "  # noqa: S608
            f"VALUES ($1, $2, $3, 'building', $4, $5) RETURNING {_COLUMNS}"
        )
        row = await conn.fetchrow(
            insert,
            collection,
            name,
            orjson.dumps([list(path) for path in fields]).decode(),
            total,
            now_ms(),
        )
        await conn.execute("UPDATE ls_meta SET index_version = index_version + 1 WHERE id = 1")
        return _index(row), True


async def build_batch(pool: asyncpg.Pool, lock: LockMode, index_id: int) -> bool:
    """Index the next BUILD_BATCH documents; True when the build is over."""
    async with pool.acquire() as conn, conn.transaction():
        await _lock(conn, lock)
        row = await conn.fetchrow(_BY_ID, index_id)
        if row is None or row["state"] != "building":
            return True
        index = _index(row)
        after = b"" if index.position is None else index.position.encode("utf-8")
        rows = await conn.fetch(
            "SELECT key, envelope FROM ls_docs WHERE collection = $1 AND key > $2 "
            "ORDER BY key LIMIT $3",
            index.collection,
            after,
            BUILD_BATCH,
        )
        docs = [(bytes(r["key"]).decode("utf-8"), bytes(r["envelope"])) for r in rows]
        entries = build_entries(index, docs)
        await conn.execute(
            "INSERT INTO ls_index_entries (index_id, position, key) "
            "SELECT $1, p, k FROM unnest($2::bytea[], $3::bytea[]) AS x(p, k) "
            "ON CONFLICT (index_id, position) DO NOTHING",
            index_id,
            [position for position, _ in entries],
            [key.encode("utf-8") for _, key in entries],
        )
        finished = len(docs) < BUILD_BATCH
        done = index.done + len(docs)
        total = await conn.fetchval(
            "SELECT coalesce((SELECT count FROM ls_counts WHERE collection = $1), 0)",
            index.collection,
        )
        await conn.execute(
            "UPDATE ls_indexes SET done = $2, total = $3, position = coalesce($4, position), "
            "state = $5 WHERE id = $1",
            index_id,
            done,
            done if finished else max(done, int(total)),
            docs[-1][0].encode("utf-8") if docs else None,
            "ready" if finished else "building",
        )
        return finished


async def building(pool: asyncpg.Pool) -> list[int]:
    rows = await pool.fetch("SELECT id FROM ls_indexes WHERE state = 'building'")
    return [int(row["id"]) for row in rows]


async def drop(pool: asyncpg.Pool, lock: LockMode, collection: str, name: str) -> int:
    """Drop the definition (under the write lock); returns its id (0: none)."""
    async with pool.acquire() as conn, conn.transaction():
        await _lock(conn, lock)
        index_id = await conn.fetchval(
            "DELETE FROM ls_indexes WHERE collection = $1 AND name = $2 RETURNING id",
            collection,
            name,
        )
        if index_id is None:
            return 0
        await conn.execute("UPDATE ls_meta SET index_version = index_version + 1 WHERE id = 1")
        return int(index_id)


async def purge_batch(pool: asyncpg.Pool, index_id: int) -> int:
    """Delete up to PURGE_BATCH entries of a dropped index; returns how many."""
    status = await pool.execute(
        "DELETE FROM ls_index_entries WHERE (index_id, position) IN "
        "(SELECT index_id, position FROM ls_index_entries WHERE index_id = $1 LIMIT $2)",
        index_id,
        PURGE_BATCH,
    )
    return int(status.split()[-1])
