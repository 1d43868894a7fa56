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
(encode once): `ChangeEvents` is made (and the record decoded) on first use and keeps
the bytes.
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
    """One change as filtered subscriptions see it: its record decoded (once, when the
    first filtered subscription needs it), `before` and `after` the document's value
    (`ABSENT`; `before` may be `UNKNOWN`)."""

    __slots__ = ("_change", "_enter", "_leave", "_update", "after", "before", "data", "prev")

    def __init__(self, data: bytes, prev: bytes | None) -> None:
        self.data = data
        self.prev = prev
        change: dict[str, Any] = orjson.loads(data)
        self._change = change
        self.after: Any = ABSENT if change["op"] == "delete" else change["value"]
        if change["prev_rev"] is None:
            self.before: Any = ABSENT
        elif prev is None:
            self.before = UNKNOWN
        else:
            self.before = orjson.loads(prev)
        self._enter: bytes | None = None
        self._update: bytes | None = None
        self._leave: bytes | None = None

    def event(self, match: DocMatch) -> bytes | None:
        """The bytes this change delivers to a subscription that sees documents by
        `match`, or None when it delivers nothing."""
        change = self._change
        collection, key = change["collection"], change["key"]
        before = self.before
        if before is UNKNOWN:
            matched = True
        else:
            matched = before is not ABSENT and match(collection, key, change["prev_rev"], before)
        after = self.after
        matches = after is not ABSENT and match(collection, key, change["seq"], after)
        return self.decided(matched, matches)

    def decided(self, matched: bool, matches: bool) -> bytes | None:
        """The bytes this change delivers to a subscription whose filter matched the
        document before it (`matched`) and matches it after (`matches`), when the
        caller knows both without `event`'s evaluation."""
        if self.after is ABSENT:  # a delete, or an expiry
            return self.data if matched else None
        if matches:
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
