"""Enter/leave: what a filtered subscription receives of a change, decided from the
change record alone, so replay and live delivery give the same events.

A subscription with a `match` (a `where`, a read rule) sees a change when the document
matches after it (`"match": "enter"` if it did not match before, else `"update"`), or
matched before it and no longer does (`op: "leave"`, `value: null`); a delete of a
matching document is the plain delete; nothing else is delivered (the contract's
"Queries, indexes and rules"). "Before" is the previous value that the change record
keeps (`records.change_record`), so a resume from any seq decides exactly as the live
subscriber did.

Each event form is built at most once per change, however many subscribers get it
(encode once): `ChangeEvents` decodes the values on first use and keeps the bytes.
"""

from __future__ import annotations

from typing import Any

import orjson

from app.store.records import split_change_record
from app.store.types import DocMatch

# The document did not exist before the change (a create), or after it (a delete).
ABSENT: Any = object()
# A record written before changes kept the previous value: it is taken to have matched
# (the subscriber may get a `leave` or `update` for a document it never saw, which it
# can apply harmlessly; it never misses one).
UNKNOWN: Any = object()


class ChangeEvents:
    """One change as filtered subscriptions see it."""

    __slots__ = ("_after", "_before", "_change", "_enter", "_leave", "_update", "data", "prev")

    def __init__(self, data: bytes, prev: bytes | None) -> None:
        self.data = data
        self.prev = prev
        self._change: dict[str, Any] | None = None
        self._after: Any = None
        self._before: Any = None
        self._enter: bytes | None = None
        self._update: bytes | None = None
        self._leave: bytes | None = None

    def _decode(self) -> dict[str, Any]:
        change: dict[str, Any] = orjson.loads(self.data)
        self._change = change
        self._after = ABSENT if change["op"] == "delete" else change["value"]
        if change["prev_rev"] is None:
            self._before = ABSENT
        elif self.prev is None:
            self._before = UNKNOWN
        else:
            self._before = orjson.loads(self.prev)
        return change

    def values(self) -> tuple[Any, Any]:
        """The document's value before and after the change (`ABSENT`; before may be
        `UNKNOWN`), decoded once."""
        if self._change is None:
            self._decode()
        return self._before, self._after

    def event(self, match: DocMatch) -> bytes | None:
        """The bytes this change delivers to a subscription that sees documents by
        `match`, or None when it delivers nothing."""
        change = self._change
        if change is None:
            change = self._decode()
        collection, key = change["collection"], change["key"]
        before = self._before
        if before is UNKNOWN:
            matched = True
        else:
            matched = before is not ABSENT and match(collection, key, change["prev_rev"], before)
        after = self._after
        if after is ABSENT:  # a delete, or an expiry
            return self.data if matched else None
        if match(collection, key, change["seq"], after):
            return self._updated() if matched else self._entered()
        return self._left() if matched else None

    def _entered(self) -> bytes:
        if self._enter is None:
            self._enter = self.data[:-1] + b',"match":"enter"}'
        return self._enter

    def _updated(self) -> bytes:
        if self._update is None:
            self._update = self.data[:-1] + b',"match":"update"}'
        return self._update

    def _left(self) -> bytes:
        if self._leave is None:
            assert self._change is not None
            # Same fields, same order (seq first); the value is gone from the view.
            self._leave = orjson.dumps({**self._change, "op": "leave", "value": None})
        return self._leave


def deliverable(match: DocMatch | None, raw: bytes) -> bytes | None:
    """What a stored change record delivers to a subscription filtered by `match`
    (None: nothing); without a match, the change itself."""
    data, prev = split_change_record(raw)
    if match is None:
        return data
    return ChangeEvents(data, prev).event(match)
