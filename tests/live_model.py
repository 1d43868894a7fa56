"""An independent model of filtered live queries (the contract's enter/leave), for the
live-query tests: a filter is a CEL source with a Python twin, a scenario is a list of
writes, and the model says which events a `(filter, since)` pair yields.

The twins follow CEL where the server's compiler does: a missing field or a type
mismatch makes a comparison false, and `!` of an error is still not true.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

Doc = dict[str, Any]


def _int_field(doc: Doc, name: str) -> int | None:
    value = doc.get(name)
    return value if type(value) is int else None


def _gt(doc: Doc, name: str, bound: int) -> bool:
    value = _int_field(doc, name)
    return value is not None and value > bound


FILTERS: dict[str, Callable[[Doc], bool]] = {
    'doc.status == "open"': lambda d: d.get("status") == "open",
    "doc.n > 2": lambda d: _gt(d, "n", 2),
    'doc.status == "open" && doc.n > 2': lambda d: d.get("status") == "open" and _gt(d, "n", 2),
    'doc.status in ["open", "held"] || doc.n == 0': lambda d: (
        d.get("status") in ("open", "held") or _int_field(d, "n") == 0
    ),
    '!(doc.status == "open")': lambda d: "status" in d and d["status"] != "open",
    'has(doc.tag) && doc.tag.startsWith("a")': lambda d: (
        isinstance(d.get("tag"), str) and d["tag"].startswith("a")
    ),
}

KEYS = ["k1", "k2", "k3", "k4"]
STATUSES = ["open", "held", "closed"]


@dataclass(frozen=True)
class Write:
    """One write: put (a whole value), patch (a merge patch) or delete."""

    op: str
    key: str
    value: Doc | None = None


def random_value(rng: random.Random) -> Doc:
    doc: Doc = {}
    if rng.random() < 0.8:
        doc["status"] = rng.choice(STATUSES)
    if rng.random() < 0.8:
        doc["n"] = rng.randint(0, 5)
    if rng.random() < 0.4:
        doc["tag"] = rng.choice(["a1", "b2", "ab"])
    return doc


def random_writes(rng: random.Random, count: int) -> list[Write]:
    writes = []
    for _ in range(count):
        roll = rng.random()
        key = rng.choice(KEYS)
        if roll < 0.55:
            writes.append(Write("put", key, random_value(rng)))
        elif roll < 0.85:
            patch: Doc = random_value(rng)
            if rng.random() < 0.3:
                patch["status"] = None  # a merge patch's null removes the field
            writes.append(Write("patch", key, patch))
        else:
            writes.append(Write("delete", key))
    return writes


def merge(doc: Doc, patch: Doc) -> Doc:
    out = dict(doc)
    for name, value in patch.items():
        if value is None:
            out.pop(name, None)
        else:
            out[name] = value
    return out


@dataclass(frozen=True)
class Applied:
    """A committed write: its seq, and the document before and after (None: absent)."""

    seq: int
    key: str
    before: Doc | None
    after: Doc | None


def apply(client: httpx.Client, collection: str, writes: list[Write]) -> list[Applied]:
    """Send `writes` (one batch each: its answer names the seq); the ones that
    committed, as the model sees them."""
    docs: dict[str, Doc] = {}
    applied: list[Applied] = []
    for write in writes:
        before = docs.get(write.key)
        op: dict[str, Any] = {"op": write.op, "collection": collection, "key": write.key}
        if write.value is not None:
            op["value"] = write.value
        response = client.post("/v1/batch", json={"ops": [op]})
        if before is None and write.op != "put":
            assert response.status_code == 404, response.text
            continue
        assert response.status_code == 200, response.text
        if write.op == "put":
            after: Doc | None = write.value
        elif write.op == "patch":
            assert before is not None
            after = merge(before, write.value or {})
        else:
            after = None
        if after is None:
            docs.pop(write.key, None)
        else:
            docs[write.key] = after
        applied.append(Applied(int(response.json()["seq"]), write.key, before, after))
    return applied


def events(applied: list[Applied], flt: Callable[[Doc], bool], since: int = 0) -> list[tuple]:
    """The events of the contract for `flt` after `since`: (seq, op, key, match, value)."""
    out: list[tuple] = []
    for change in applied:
        if change.seq <= since:
            continue
        was = change.before is not None and flt(change.before)
        if change.after is None:
            if was:
                out.append((change.seq, "delete", change.key, None, None))
            continue
        if flt(change.after):
            match = "update" if was else "enter"
            out.append((change.seq, "put", change.key, match, change.after))
        elif was:
            out.append((change.seq, "leave", change.key, None, None))
    return out


def observed(change: dict[str, Any]) -> tuple:
    """A delivered change in the shape of `events`."""
    return (
        change["seq"],
        change["op"],
        change["key"],
        change.get("match"),
        change["value"] if change["op"] == "put" else None,
    )
