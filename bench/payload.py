"""The document every write workload stores: a JSON object of exactly 100 bytes."""

from __future__ import annotations

import orjson

VALUE_BYTES = 100
COLLECTION = "bench"


def _value() -> bytes:
    base = {"title": "benchmark document", "status": "open", "n": 12345, "pad": ""}
    pad = VALUE_BYTES - len(orjson.dumps(base))
    value = orjson.dumps({**base, "pad": "x" * pad})
    assert len(value) == VALUE_BYTES, len(value)
    return value


VALUE = _value()


def key(client: int, n: int) -> str:
    """Distinct per client and write; fixed width, so keys sort by (client, n)."""
    return f"c{client:03d}-{n:09d}"


T_OFFSET = 10**15  # send times travel as 16 digits: 10**15 + monotonic µs


def numbered(wn: int, t_us: int = 0) -> bytes:
    """A real-time write: `{"t":<16 digits>,"wn":"<8 digits>","pad":"x..."}`, 100 bytes.

    `wn` is the write's number in its step (a fixed-width string: JSON numbers
    may not have leading zeros), `t` its send time; subscribers read both.
    """
    head = b'{"t":%d,"wn":"%08d","pad":"' % (T_OFFSET + t_us, wn)
    return head + b"x" * (VALUE_BYTES - len(head) - 2) + b'"}'
