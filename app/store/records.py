"""Byte layouts of what the store keeps: document records, envelopes and changes.

Envelopes and changes are JSON built once, at write time, by splicing
pre-encoded parts; reads and real-time delivery hand those same bytes out
without decoding them again ("encode once").
"""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import orjson
from pydantic import AwareDatetime, PlainSerializer, WithJsonSchema

# A document record is this header followed by the envelope JSON.
_HEADER = struct.Struct(">QQQ")  # rev, created_ms, expires_ms (0 = never)
HEADER_SIZE = _HEADER.size


@dataclass(frozen=True, slots=True)
class DocRecord:
    rev: int
    created_ms: int
    expires_ms: int
    envelope: bytes

    def expired(self, now_ms: int) -> bool:
        return self.expires_ms != 0 and self.expires_ms <= now_ms

    def value(self) -> Any:
        return orjson.loads(self.envelope)["value"]

    def encode(self) -> bytes:
        return _HEADER.pack(self.rev, self.created_ms, self.expires_ms) + self.envelope


def decode_record(raw: bytes) -> DocRecord:
    rev, created_ms, expires_ms = _HEADER.unpack_from(raw)
    return DocRecord(rev, created_ms, expires_ms, raw[HEADER_SIZE:])


_EXPIRES = struct.Struct(">Q")
_EXPIRES_AT = 16  # after rev and created_ms in _HEADER


def record_expired(raw: bytes, now_ms: int) -> bool:
    """`decode_record(raw).expired(now_ms)` without building the record: range
    scans check every document they pass, and the dataclass cost more than the read."""
    expires_ms: int = _EXPIRES.unpack_from(raw, _EXPIRES_AT)[0]
    return expires_ms != 0 and expires_ms <= now_ms


def now_ms() -> int:
    return time.time_ns() // 1_000_000


_second_cache: dict[int, bytes] = {}


_last_ts: tuple[int, bytes] = (-1, b"")


def format_ts(ms: int) -> bytes:
    """RFC 3339 UTC with milliseconds, as bytes: b'2026-11-25T17:00:00.123Z'."""
    global _last_ts
    last = _last_ts  # one read: other threads may replace it meanwhile
    if last[0] == ms:  # a write formats the same instant three times
        return last[1]
    sec, milli = divmod(ms, 1000)
    head = _second_cache.get(sec)
    if head is None:
        head = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec)).encode("ascii")
        if len(_second_cache) > 4096:
            _second_cache.clear()
        _second_cache[sec] = head
    formatted = b"%s.%03dZ" % (head, milli)
    _last_ts = (ms, formatted)
    return formatted


_UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def format_datetime(moment: datetime) -> str:
    """`format_ts` for an aware datetime (keys, tokens, tickets): the same text as
    every stored timestamp, to the millisecond (truncated, as `now_ms`)."""
    return format_ts((moment - _UNIX_EPOCH) // timedelta(milliseconds=1)).decode("ascii")


# A datetime a model emits: RFC 3339 UTC with milliseconds, like every other timestamp.
Timestamp = Annotated[
    datetime,
    PlainSerializer(format_datetime, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
# The same, for input that must carry a time zone (a naive time would be read as local).
AwareTimestamp = Annotated[
    AwareDatetime,
    PlainSerializer(format_datetime, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


def envelope_json(
    collection: str,
    key: str,
    value_json: bytes,
    rev: int,
    created_ms: int,
    updated_ms: int,
    expires_ms: int,
) -> bytes:
    parts = [
        b'{"collection":',
        orjson.dumps(collection),
        b',"key":',
        orjson.dumps(key),
        b',"value":',
        value_json,
        b',"rev":%d,"created_at":"%s","updated_at":"%s"'
        % (rev, format_ts(created_ms), format_ts(updated_ms)),
    ]
    if expires_ms:
        parts.append(b',"expires_at":"%s"' % format_ts(expires_ms))
    parts.append(b"}")
    return b"".join(parts)


def change_json(
    seq: int,
    op: str,
    collection: str,
    key: str,
    value_json: bytes | None,
    prev_rev: int | None,
    ts_ms: int,
    reason: str | None = None,
) -> bytes:
    parts = [
        b'{"seq":%d,"op":"%s","collection":' % (seq, op.encode("ascii")),
        orjson.dumps(collection),
        b',"key":',
        orjson.dumps(key),
        b',"value":',
        value_json if value_json is not None else b"null",
        b',"rev":%d,"prev_rev":%s,"ts":"%s"'
        % (seq, b"null" if prev_rev is None else b"%d" % prev_rev, format_ts(ts_ms)),
    ]
    if reason is not None:
        parts.append(b',"reason":' + orjson.dumps(reason))
    parts.append(b"}")
    return b"".join(parts)


# A stored change record is the change's JSON (what subscribers get), then, when the
# change replaced or deleted a document, a NUL byte and that document's previous value
# (JSON never holds a raw NUL). The previous value lets a filtered subscription decide
# "did it match before" from the log alone (enter/leave, `app/store/core/events.py`).
_PREV_MARK = b"\x00"


def change_record(data: bytes, prev: bytes | None) -> bytes:
    return data if prev is None else data + _PREV_MARK + prev


def split_change_record(raw: bytes) -> tuple[bytes, bytes | None]:
    """(the change's JSON, the previous value's JSON or None)."""
    cut = raw.find(_PREV_MARK)
    if cut < 0:
        return raw, None
    return raw[:cut], raw[cut + 1 :]


def change_seq(data: bytes) -> int:
    """The seq of a change's JSON; the store always writes it first: {"seq":N,..."""
    return int(data[7 : data.index(b",", 7)])


def envelope_value(envelope: bytes, collection: str, key: str) -> bytes:
    """The value JSON inside an envelope built by `envelope_json`, without decoding it:
    it starts after the `"value":` that follows the key and ends at the last `,"rev":`
    (no field after it can hold that text)."""
    start = len(orjson.dumps(collection)) + len(orjson.dumps(key)) + 30
    return envelope[start : envelope.rindex(b',"rev":')]


def deleted_json(collection: str, key: str) -> bytes:
    return b'{"collection":%s,"key":%s,"deleted":true}' % (
        orjson.dumps(collection),
        orjson.dumps(key),
    )


_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"  # ascending in ASCII, so ids sort by value


def auto_key(n: int) -> str:
    """Fixed-width (13 chars) base32 of a 64-bit id: lexicographic order is numeric order."""
    chars = []
    for _ in range(13):
        n, r = divmod(n, 32)
        chars.append(_CROCKFORD[r])
    return "".join(reversed(chars))
