"""Indexes on JSON fields, in backend-neutral terms: definitions, the order-preserving
encoding of field values, and the entries a group's writes add and remove.

An index entry's *position* is the encoded values of the index's fields, one after
the other, followed by the document's key (UTF-8). Byte order of positions is the
order of CEL values, field by field, then the key:

    01                     the field is missing (or a parent is not a map)
    02                     null
    03 / 04                false / true
    05 <8 bytes>           a number: the IEEE double, sign-flipped so bytes sort as
                           numbers do (ints and doubles mixed: 3 and 3.0 are one value)
    06 <utf-8, 00 -> 00 ff> 00   a string (code point order = UTF-8 byte order;
                           its first MAX_STRING_BYTES bytes)
    07                     a list or a map (never equal to a literal; ordered last)

Every value's encoding is self-delimiting, so a position's value part is a prefix of
it, and a document key (never containing 00) ends it unambiguously. An int beyond
2**53 is encoded as the nearest double: order stays monotonic (never inverted), and
the planner's ranges are inclusive at the value, so the per-document check keeps the
exact answer. LevelDB stores positions as keys, PostgreSQL as a `bytea` column
(compared with memcmp): the same order in both stores.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from app.errors import ValidationFailed
from app.store.core.mutations import Mutations
from app.store.keys import increment, validate_name
from app.store.records import DocRecord

State = Literal["building", "ready"]
Path = tuple[str, ...]

MAX_FIELDS = 4  # fields of one index
MAX_DEPTH = 8  # segments of one dotted path
MAX_INDEXES = 16  # indexes of one collection (each costs every write of it)
# A string is indexed by its first MAX_STRING_BYTES bytes (keeps positions, cursors and
# PostgreSQL's btree rows bounded); longer strings sharing that prefix are one value
# to the index, and the per-document check tells them apart.
MAX_STRING_BYTES = 64
_SEGMENT = re.compile(r"[A-Za-z0-9_-]{1,64}")

MISSING, NULL, FALSE, TRUE, NUMBER, STRING, OTHER = (bytes([n]) for n in range(1, 8))
_DOUBLE = struct.Struct(">d")
_BITS = struct.Struct(">Q")
_SIGN = 1 << 63
_ALL = (1 << 64) - 1


@dataclass(slots=True)
class IndexDef:
    """One index: `id` is unique for ever (entries are stored under it, so a dropped
    index's entries never mix with a re-created one's); `position` is how far the
    online build has got (the last document key it indexed)."""

    id: int
    collection: str
    name: str
    fields: tuple[Path, ...]
    state: State = "building"
    done: int = 0
    total: int = 0
    position: str | None = None
    created_ms: int = 0

    def public(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "fields": [".".join(path) for path in self.fields],
            "state": self.state,
            "done": self.done,
            "total": self.total,
        }

    def to_json(self) -> bytes:
        return orjson.dumps(
            {
                "id": self.id,
                "collection": self.collection,
                "name": self.name,
                "fields": [list(path) for path in self.fields],
                "state": self.state,
                "done": self.done,
                "total": self.total,
                "position": self.position,
                "created_ms": self.created_ms,
            }
        )

    @classmethod
    def from_json(cls, raw: bytes) -> IndexDef:
        data = orjson.loads(raw)
        return cls(
            id=int(data["id"]),
            collection=data["collection"],
            name=data["name"],
            fields=tuple(tuple(path) for path in data["fields"]),
            state=data["state"],
            done=int(data["done"]),
            total=int(data["total"]),
            position=data.get("position"),
            created_ms=int(data.get("created_ms", 0)),
        )


def parse_path(text: object, what: str = "fields") -> Path:
    """A dotted field path (`status`, `owner.id`): 1..8 segments of [A-Za-z0-9_-]."""
    if not isinstance(text, str) or not text:
        raise ValidationFailed(f"{what}: a field is a non-empty dotted path", field=what)
    segments = tuple(text.split("."))
    if len(segments) > MAX_DEPTH or not all(_SEGMENT.fullmatch(s) for s in segments):
        raise ValidationFailed(
            f"{what}: {text[:80]!r} is not a dotted path of at most {MAX_DEPTH} "
            "segments of [A-Za-z0-9_-]",
            field=what,
        )
    return segments


def parse_fields(fields: object) -> tuple[Path, ...]:
    """An index's `fields`: 1..MAX_FIELDS distinct dotted paths."""
    if not isinstance(fields, list) or not 1 <= len(fields) <= MAX_FIELDS:
        raise ValidationFailed(
            f"fields must be a list of 1 to {MAX_FIELDS} dotted paths", field="fields"
        )
    paths = tuple(parse_path(item) for item in fields)
    if len(set(paths)) != len(paths):
        raise ValidationFailed("fields must not repeat a path", field="fields")
    return paths


def validate_index_name(name: object) -> str:
    return validate_name(name, "index")  # type: ignore[arg-type]


# --- the encoding -----------------------------------------------------------------------


def encode_value(value: Any) -> bytes:
    """One value's order-preserving, self-delimiting encoding."""
    if value is None:
        return NULL
    if value is True:
        return TRUE
    if value is False:
        return FALSE
    if isinstance(value, int | float):
        number = float(value) + 0.0  # -0.0 is 0.0
        bits = _BITS.unpack(_DOUBLE.pack(number))[0]
        bits = bits ^ _ALL if bits & _SIGN else bits | _SIGN
        return NUMBER + _BITS.pack(bits)
    if isinstance(value, str):
        raw = value.encode("utf-8", "surrogatepass")[:MAX_STRING_BYTES]
        return STRING + raw.replace(b"\x00", b"\x00\xff") + b"\x00"
    return OTHER


def type_range(value: Any) -> tuple[bytes, bytes]:
    """The [start, stop) of the encodings of every value of `value`'s CEL type: the
    values an ordering comparison with `value` can be true for."""
    if value is None:
        return NULL, FALSE
    if isinstance(value, bool):
        return FALSE, NUMBER
    if isinstance(value, int | float):
        return NUMBER, STRING
    if isinstance(value, str):
        return STRING, OTHER
    return OTHER, bytes([8])


MISSING_VALUE: Any = object()


def lookup(value: Any, path: Path) -> Any:
    """The value at `path`, or MISSING_VALUE."""
    for segment in path:
        if not isinstance(value, dict) or segment not in value:
            return MISSING_VALUE
        value = value[segment]
    return value


def values_part(value: Any, fields: Sequence[Path]) -> bytes:
    return b"".join(
        MISSING if (found := lookup(value, path)) is MISSING_VALUE else encode_value(found)
        for path in fields
    )


def position(value: Any, fields: Sequence[Path], key: str) -> bytes:
    """The entry's position: the encoded field values, then the key."""
    return values_part(value, fields) + key.encode("utf-8")


def prefix_stop(prefix: bytes) -> bytes:
    """The smallest position after every position starting with `prefix`."""
    stop = increment(prefix)
    return stop if stop is not None else b"\xff" * 9


# --- what a group's writes do to the indexes ----------------------------------------------

# The indexes a collection has (both states: a building index is maintained too).
Catalog = Callable[[str], Sequence[IndexDef]]


@dataclass(slots=True)
class IndexWrites:
    """Entries to remove (index id, position) and to add (index id, position, key)."""

    removes: list[tuple[int, bytes]] = field(default_factory=list)
    adds: list[tuple[int, bytes, str]] = field(default_factory=list)


def _value_of(record: DocRecord | None) -> Any:
    if record is None:
        return None
    return orjson.loads(record.envelope)["value"]


def index_writes(done: Mutations, catalog: Catalog) -> IndexWrites:
    """The entries the group's document writes change, computed from the record the
    backend holds (its entries are the ones stored) and the record the group leaves:
    the same rules for both stores, in the same atomic write as the documents."""
    out = IndexWrites()
    for (collection, key), written in done.docs.items():
        indexes = catalog(collection)
        if not indexes:
            continue
        old, new = written.stored, written.record
        old_value = _value_of(old)
        new_value = _value_of(new)
        for index in indexes:
            before = None if old is None else position(old_value, index.fields, key)
            after = None if new is None else position(new_value, index.fields, key)
            if before == after:
                continue
            if before is not None:
                out.removes.append((index.id, before))
            if after is not None:
                out.adds.append((index.id, after, key))
    return out


def build_entries(index: IndexDef, docs: Sequence[tuple[str, bytes]]) -> list[tuple[bytes, str]]:
    """The entries of documents (key, envelope JSON) for the online build."""
    fields = index.fields
    return [(position(orjson.loads(envelope)["value"], fields, key), key) for key, envelope in docs]
