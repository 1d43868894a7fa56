"""The schema, created and migrated by the app at start (any node; one at a time).

Keys are `bytea`, so ranges and order are by UTF-8 bytes exactly as in the
embedded store (PostgreSQL compares bytea with memcmp, shorter first on a
tie); collection names are ASCII and compared under the "C" collation.
Envelopes and change JSON are stored as the pre-encoded bytes that
`app.store.records` builds, and handed out without re-encoding.
"""

from __future__ import annotations

import secrets

import asyncpg

# Advisory lock keys ("LS" + a number); advisory locks are per database.
MIGRATION_LOCK = 0x4C53_0001
SEQ_LOCK = 0x4C53_0002
MAINTENANCE_LOCK = 0x4C53_0003
NOTIFY_CHANNEL = "levelstream_changes"
# A NOTIFY payload that tells every node to re-read the database's identity
# (an import replaced the epoch and the head).
RESET_PAYLOAD = "reset"

V1 = """
CREATE TABLE ls_meta (
    id int PRIMARY KEY CHECK (id = 1),
    seq bigint NOT NULL,          -- the head: seq of the latest committed change
    auto_id bigint NOT NULL,      -- the last id behind a server-picked (POST) key
    epoch text NOT NULL,
    cluster_id text NOT NULL      -- never changes, even on import: names the bus namespace
);
-- The oldest seq still in the log; its own row, so trimming never waits on writers.
CREATE TABLE ls_floor (
    id int PRIMARY KEY CHECK (id = 1),
    oldest bigint NOT NULL
);
CREATE TABLE ls_docs (
    collection text COLLATE "C" NOT NULL,
    key bytea NOT NULL,
    rev bigint NOT NULL,
    created_ms bigint NOT NULL,
    expires_ms bigint NOT NULL DEFAULT 0,
    envelope bytea NOT NULL,
    PRIMARY KEY (collection, key)
);
CREATE INDEX ls_docs_expiry ON ls_docs (expires_ms) WHERE expires_ms > 0;
CREATE TABLE ls_changes (
    seq bigint PRIMARY KEY,
    collection text COLLATE "C" NOT NULL,
    key bytea NOT NULL,
    op text NOT NULL,
    ts_ms bigint NOT NULL,
    data bytea NOT NULL
);
CREATE INDEX ls_changes_by_collection ON ls_changes (collection, seq);
CREATE TABLE ls_counts (
    collection text COLLATE "C" PRIMARY KEY,
    count bigint NOT NULL
);
CREATE TABLE ls_auth (
    name text COLLATE "C" PRIMARY KEY,
    value bytea NOT NULL
);
"""

# JSON field indexes (app/store/core/indexing.py) as an index table kept in the
# writers' own transactions: one row per document per index, its position (the
# order-preserving encoding of the field values, then the key) compared as bytea
# (memcmp), so ranges and order are those of the embedded store. `index_version`
# changes with every definition change, under the write lock: each writer group
# reads it with the lock and reloads the definitions when it moved.
V2 = """
ALTER TABLE ls_meta ADD COLUMN index_version bigint NOT NULL DEFAULT 0;
CREATE TABLE ls_indexes (
    id bigserial PRIMARY KEY,
    collection text COLLATE "C" NOT NULL,
    name text COLLATE "C" NOT NULL,
    fields jsonb NOT NULL,
    state text NOT NULL,
    done bigint NOT NULL DEFAULT 0,
    total bigint NOT NULL DEFAULT 0,
    position bytea,
    created_ms bigint NOT NULL,
    UNIQUE (collection, name)
);
CREATE TABLE ls_index_entries (
    index_id bigint NOT NULL,
    position bytea NOT NULL,
    key bytea NOT NULL,
    PRIMARY KEY (index_id, position)
);
"""

# Remembered answers of idempotency keys (app/store/core/once.py), written by the
# writers in the same transaction as the write they answer. `scope` is
# `owner 00 key`; `expires_ms` drives the purge (the maintenance leader's).
V3 = """
CREATE TABLE ls_idempotency (
    scope bytea PRIMARY KEY,
    expires_ms bigint NOT NULL,
    digest bytea NOT NULL,
    answer bytea NOT NULL
);
CREATE INDEX ls_idempotency_expiry ON ls_idempotency (expires_ms);
"""

# Migration n (1-based) brings the schema from version n-1 to n. Append only.
MIGRATIONS: tuple[str, ...] = (V1, V2, V3)


async def migrate(conn: asyncpg.Connection) -> None:
    """Create or upgrade the schema; concurrent starts wait on one advisory lock."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
        await conn.execute("CREATE TABLE IF NOT EXISTS ls_schema (version int NOT NULL)")
        version = await conn.fetchval("SELECT coalesce(max(version), 0) FROM ls_schema")
        if version > len(MIGRATIONS):
            raise RuntimeError(
                f"the database has schema version {version}, newer than this "
                f"Levelstream's {len(MIGRATIONS)}: upgrade Levelstream"
            )
        for number in range(version + 1, len(MIGRATIONS) + 1):
            await conn.execute(MIGRATIONS[number - 1])
            await conn.execute("INSERT INTO ls_schema (version) VALUES ($1)", number)
        await conn.execute(
            "INSERT INTO ls_meta (id, seq, auto_id, epoch, cluster_id) VALUES (1, 0, 0, $1, $2) "
            "ON CONFLICT (id) DO NOTHING",
            secrets.token_hex(8),
            secrets.token_hex(8),
        )
        await conn.execute(
            "INSERT INTO ls_floor (id, oldest) VALUES (1, 1) ON CONFLICT (id) DO NOTHING"
        )
