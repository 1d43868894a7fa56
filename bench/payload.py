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
