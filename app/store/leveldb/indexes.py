"""JSON field indexes on LevelDB: their definitions, the online build, the drop.

Every function here runs inside the writer thread (`Writer.run_maintenance`), so
it is serialized with every write: an index created between two groups is
maintained by every group after it (`Writer._write`, in the same batch as the
documents), and a build batch reads the documents as committed and writes their
entries in one batch. That is the whole answer to the build/write race: a
document written after the index exists has its entry written by its write; the
builder, reaching it later, computes the same entry from the same record and
puts it again (the same key and value: no change); a document the builder
indexed and a write then changes has the builder's entry removed by that write
(computed from the record it replaces). Writes wait at most one build batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from app.store.core.indexing import MAX_INDEXES, IndexDef, Path, build_entries
from app.store.leveldb import layout
from app.store.leveldb_driver import plyvel
from app.store.records import HEADER_SIZE, now_ms

if TYPE_CHECKING:
    from app.store.leveldb.writer import Writer

# Documents indexed per build batch: the longest a write waits behind the build.
BUILD_BATCH = 2000
PURGE_BATCH = 10_000


def load_catalog(db: plyvel.DB) -> dict[str, list[IndexDef]]:
    catalog: dict[str, list[IndexDef]] = {}
    for _, raw in db.iterator(prefix=layout.INDEX_DEF):
        index = IndexDef.from_json(raw)
        catalog.setdefault(index.collection, []).append(index)
    return catalog


def find(catalog: dict[str, list[IndexDef]], collection: str, name: str) -> IndexDef | None:
    return next((i for i in catalog.get(collection, ()) if i.name == name), None)


def _count(db: plyvel.DB, collection: str) -> int:
    raw = db.get(layout.count_key(collection))
    return int(raw) if raw else 0


def create(
    db: plyvel.DB,
    sync: bool,
    writer: Writer,
    collection: str,
    name: str,
    fields: tuple[Path, ...],
    out: list[Any],
) -> int:
    """Define the index (state `building`): from the next group on, writes maintain it.
    `out` gets the definition; returns 1 when created, 0 when it existed, -1 when the
    collection has MAX_INDEXES already."""
    existing = find(writer.indexes, collection, name)
    if existing is not None:
        out.append(existing)
        return 0
    if len(writer.indexes.get(collection, ())) >= MAX_INDEXES:
        return -1
    raw_id = db.get(layout.meta_key("index_id"))
    index_id = (layout.seq_from(raw_id) if raw_id else 0) + 1
    index = IndexDef(index_id, collection, name, fields, "building", 0, _count(db, collection))
    index.created_ms = now_ms()
    with db.write_batch(transaction=True, sync=sync) as batch:
        batch.put(layout.meta_key("index_id"), layout.seq_bytes(index_id))
        batch.put(layout.index_def_key(collection, name), index.to_json())
    writer.indexes[collection] = [*writer.indexes.get(collection, ()), index]
    out.append(index)
    return 1


def build_batch(db: plyvel.DB, sync: bool, writer: Writer, index: IndexDef) -> int:
    """Index the next BUILD_BATCH documents after the build's position; 1 when the
    build is over (finished, or the index was dropped meanwhile)."""
    if find(writer.indexes, index.collection, index.name) is not index:
        return 1
    prefix = layout.doc_prefix(index.collection)
    start = prefix
    if index.position is not None:
        start = layout.doc_key(index.collection, index.position.encode("utf-8"))
    docs: list[tuple[str, bytes]] = []
    with db.iterator(
        start=start,
        stop=layout.increment(prefix),
        include_start=index.position is None,
    ) as iterator:
        for dbkey, raw in iterator:
            key = layout.key_from_doc_key(index.collection, dbkey).decode("utf-8")
            docs.append((key, raw[HEADER_SIZE:]))
            if len(docs) == BUILD_BATCH:
                break
    finished = len(docs) < BUILD_BATCH
    done = index.done + len(docs)
    progress = replace(
        index,
        done=done,
        total=done if finished else max(done, _count(db, index.collection)),
        position=docs[-1][0] if docs else index.position,
        state="ready" if finished else index.state,
    )
    with db.write_batch(transaction=True, sync=sync) as batch:
        for position, key in build_entries(index, docs):
            batch.put(layout.index_entry_key(index.id, position), key.encode("utf-8"))
        batch.put(layout.index_def_key(index.collection, index.name), progress.to_json())
    # Published to the catalog (which readers plan with, on another thread) only once the
    # batch is written: a reader that sees "ready" finds every entry.
    index.done, index.total = progress.done, progress.total
    index.position, index.state = progress.position, progress.state
    return 1 if finished else 0


def drop(db: plyvel.DB, sync: bool, writer: Writer, collection: str, name: str) -> int:
    """Forget the index (its entries are purged afterwards); returns its id, 0 if none."""
    index = find(writer.indexes, collection, name)
    if index is None:
        return 0
    db.delete(layout.index_def_key(collection, name), sync=sync)
    writer.indexes[collection] = [i for i in writer.indexes[collection] if i is not index]
    return index.id


def purge_batch(db: plyvel.DB, sync: bool, index_id: int) -> int:
    """Delete up to PURGE_BATCH entries of a dropped index; returns how many."""
    deleted = 0
    with (
        db.iterator(prefix=layout.index_prefix(index_id), include_value=False) as iterator,
        db.write_batch(sync=sync) as batch,
    ):
        for dbkey in iterator:
            batch.delete(dbkey)
            deleted += 1
            if deleted == PURGE_BATCH:
                break
    return deleted


def orphan_ids(db: plyvel.DB, live: Sequence[int]) -> list[int]:
    """Ids that have entries but no definition (a drop interrupted by a stop)."""
    keep = set(live)
    found: list[int] = []
    start = layout.INDEX_ENTRY
    stop = layout.increment(layout.INDEX_ENTRY)
    while True:
        with db.iterator(start=start, stop=stop, include_value=False) as iterator:
            first = next(iterator, None)
        if first is None:
            return found
        index_id = layout.seq_from(first[1:9])
        if index_id not in keep:
            found.append(index_id)
        start = layout.index_prefix(index_id + 1)
