"""The one encoder of LevelDB keys: the embedded store's layout on disk.

Every LevelDB key is built here and nowhere else. The layout, one namespace
byte first:

    d <coll> 00 <key>        document record
    l <seq:8>                change-log entry (the change's JSON bytes)
    i <coll> 00 <seq:8>      change-log index by collection (value: document key)
    t <exp_ms:8> <coll> 00 <key>   TTL index
    n <coll>                 document count of a collection
    m <name>                 metadata (head seq, epoch, ...)
    a <name>                 auth records (API keys, tickets)
    x <index id:8> <position>   JSON field index entry (value: document key)
    y <coll> 00 <index name>    JSON field index definition (IndexDef JSON)
    k <scope>                remembered answer of an idempotency key (`core.once`)
    j <exp_ms:8> <scope>     remembered answers by expiry (for the purge)

A `<scope>` is `<owner> 00 <idempotency key>` (`core.once.scope_of`): the key is
visible ASCII, so the last 00 ends the owner.

An index entry's `<position>` is the order-preserving encoding of the document's
field values followed by its key (`app.store.core.indexing`): byte order is CEL
value order, so a range of values is a range of LevelDB keys. Entries live under
the index's id, never reused, so dropping an index can clear its entries lazily.

`<coll>` and `<key>` are UTF-8 with every 0x00 byte written as 0x00 0xFF (the
FoundationDB tuple-layer escape), so `<coll> 00` is an unambiguous terminator:
no collection name is a byte prefix of another's range, no key can reach
another collection, and escaping keeps byte order. Names and keys are also
validated (no control characters at all), so the escape is a second wall.
"""

from __future__ import annotations

import functools
import struct

# Re-exported: byte ranges over these keys use it.
from app.store.keys import increment as increment

DOC = b"d"
LOG = b"l"
LOG_INDEX = b"i"
TTL = b"t"
COUNT = b"n"
META = b"m"
AUTH = b"a"
INDEX_ENTRY = b"x"
INDEX_DEF = b"y"
ANSWER = b"k"
ANSWER_EXPIRY = b"j"

_SEQ = struct.Struct(">Q")


def escape(raw: bytes) -> bytes:
    return raw.replace(b"\x00", b"\x00\xff")


def unescape(raw: bytes) -> bytes:
    return raw.replace(b"\x00\xff", b"\x00")


def seq_bytes(seq: int) -> bytes:
    return _SEQ.pack(seq)


def seq_from(raw: bytes) -> int:
    return int(_SEQ.unpack(raw)[0])


@functools.lru_cache(maxsize=4096)
def collection_part(collection: str) -> bytes:
    """`<coll> 00`: the terminated collection component shared by several namespaces."""
    return escape(collection.encode("utf-8")) + b"\x00"


def doc_key(collection: str, key: bytes) -> bytes:
    return DOC + collection_part(collection) + escape(key)


def doc_prefix(collection: str) -> bytes:
    return DOC + collection_part(collection)


def key_from_doc_key(collection: str, dbkey: bytes) -> bytes:
    return unescape(dbkey[len(doc_prefix(collection)) :])


def log_key(seq: int) -> bytes:
    return LOG + _SEQ.pack(seq)


def log_index_prefix(collection: str) -> bytes:
    return LOG_INDEX + collection_part(collection)


def log_index_key(collection: str, seq: int) -> bytes:
    return log_index_prefix(collection) + _SEQ.pack(seq)


def ttl_key(expires_ms: int, collection: str, key: bytes) -> bytes:
    return TTL + _SEQ.pack(expires_ms) + collection_part(collection) + escape(key)


def split_ttl_key(dbkey: bytes) -> tuple[int, str, bytes]:
    """Inverse of `ttl_key`: (expires_ms, collection, key bytes)."""
    expires_ms = int(_SEQ.unpack(dbkey[1:9])[0])
    rest = dbkey[9:]
    # Names never contain NUL, so the first lone 00 ends the collection.
    coll_end = rest.index(b"\x00")
    return expires_ms, rest[:coll_end].decode("utf-8"), unescape(rest[coll_end + 1 :])


def count_key(collection: str) -> bytes:
    return COUNT + escape(collection.encode("utf-8"))


def meta_key(name: str) -> bytes:
    return META + name.encode("ascii")


def index_prefix(index_id: int) -> bytes:
    return INDEX_ENTRY + _SEQ.pack(index_id)


def index_entry_key(index_id: int, position: bytes) -> bytes:
    return INDEX_ENTRY + _SEQ.pack(index_id) + position


def index_def_key(collection: str, name: str) -> bytes:
    return INDEX_DEF + collection_part(collection) + name.encode("utf-8")


def answer_key(scope: bytes) -> bytes:
    return ANSWER + scope


def answer_expiry_key(expires_ms: int, scope: bytes) -> bytes:
    return ANSWER_EXPIRY + _SEQ.pack(expires_ms) + scope


def split_answer_expiry_key(dbkey: bytes) -> tuple[int, bytes]:
    """Inverse of `answer_expiry_key`: (expires_ms, scope)."""
    return int(_SEQ.unpack(dbkey[1:9])[0]), dbkey[9:]
