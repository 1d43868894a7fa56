"""The subscriptions of one collection, arranged so that a change reaches only the
ones it can concern, without evaluating every subscriber's filter.

- Unfiltered subscriptions get every change (after their key filter): no JSON work.
- Filtered ones (a `where`, a read rule) are grouped by the one expression they
  evaluate (`ChangeFilter.match_tree`: the filter and the read rules specialised to the
  subscriber, so 10,000 users under `doc.owner == auth.sub` are 10,000 groups of
  `doc.owner == "<id>"`, and 1,000 subscribers of the same `where` one group). A change
  evaluates each group it concerns once (before and after: enter/update/leave), and
  every subscriber of the group shares the resulting bytes.
- A group whose expression pins a field (`doc.path == <literal>` among its top-level
  conjuncts) is indexed by that value: a change concerns only the groups indexed under
  its document's value before the change (for `leave`) and after it (for `enter`), so
  the other groups cost nothing. Groups without such a conjunct are evaluated for every
  change of the collection.
- A group whose whole expression is that one pin (`doc.owner == "u42"`: the owner rule
  specialised to its user, a `where` on one field) is not evaluated at all: the value
  lookup that found it already says whether it matched before and matches after
  (`scalar_key` is CEL's equality on scalars, `_pinned_at` walks the path as its
  field selection does).

`*` subscriptions do not come here: their filter differs per collection (the hub keeps
them apart).
"""

from __future__ import annotations

from typing import Any

from app.cel import Equals, conjuncts, constraints, scalar_key
from app.cel.nodes import Expr
from app.realtime.connection import EncodedChange, Subscription
from app.realtime.outbox import Frame
from app.store.core.events import ABSENT, UNKNOWN
from app.store.types import ChangeFilter, DocMatch

# A field path and the value key (`scalar_key`) a group's expression pins it to.
Pin = tuple[tuple[str, ...], tuple[str, Any]]

# No subscription's frame prefix (None is SSE's).
_NO_PREFIX = object()


class FilterGroup:
    """Subscriptions of one collection that evaluate the same expression."""

    __slots__ = ("match", "pin", "pin_only", "subs", "tree")

    def __init__(self, tree: Expr | None, match: DocMatch) -> None:
        self.tree = tree
        self.match = match
        self.subs: set[Subscription] = set()
        self.pin = None if tree is None else _pin_of(tree)
        # The pin is the whole expression: its value lookup decides the match.
        self.pin_only = self.pin is not None and tree is not None and len(conjuncts(tree)) == 1


def _pin_of(tree: Expr) -> Pin | None:
    """The first `doc.path == literal` conjunct with a hashable value, if any."""
    for constraint in constraints(tree):
        if isinstance(constraint, Equals):
            key = scalar_key(constraint.value)
            if key is not None:
                return constraint.path, key
    return None


def _group_key(flt: ChangeFilter) -> object:
    """What a filtered subscription's group is keyed by: its expression, or its match
    function when it has no expression (None: not filtered)."""
    if flt.match is None:
        return None
    return flt.match_tree if flt.match_tree is not None else flt.match


class CollectionFanout:
    """The subscriptions of one collection: plain ones, and filter groups."""

    __slots__ = ("groups", "pinned", "plain", "unpinned")

    def __init__(self) -> None:
        self.plain: set[Subscription] = set()
        # Keyed by expression (or, for a filter that has none, by its match function).
        self.groups: dict[object, FilterGroup] = {}
        # path -> value key -> groups pinned there
        self.pinned: dict[tuple[str, ...], dict[tuple[str, Any], set[FilterGroup]]] = {}
        self.unpinned: set[FilterGroup] = set()

    def __bool__(self) -> bool:
        return bool(self.plain or self.groups)

    def add(self, sub: Subscription) -> None:
        flt = sub.flt
        tree, match = flt.match_tree, flt.match
        if match is None:
            # Plain: `deliver` hands these the change's frame without looking at a match.
            self.plain.add(sub)
            return
        group_key = _group_key(flt)
        group = self.groups.get(group_key)
        if group is None:
            group = self.groups[group_key] = FilterGroup(tree, match)
            if group.pin is None:
                self.unpinned.add(group)
            else:
                path, key = group.pin
                self.pinned.setdefault(path, {}).setdefault(key, set()).add(group)
        group.subs.add(sub)

    def discard(self, sub: Subscription) -> None:
        group_key = _group_key(sub.flt)
        group = None if group_key is None else self.groups.get(group_key)
        if group is None or sub not in group.subs:
            self.plain.discard(sub)
            return
        group.subs.discard(sub)
        if group.subs:
            return
        del self.groups[group_key]
        if group.pin is None:
            self.unpinned.discard(group)
            return
        path, key = group.pin
        by_value = self.pinned[path]
        holders = by_value[key]
        holders.discard(group)
        if not holders:
            del by_value[key]
            if not by_value:
                del self.pinned[path]

    def deliver(self, change: EncodedChange) -> None:
        """Offer `change` to every subscription it concerns."""
        collection, key = change.collection, change.key
        # This loop runs once per delivery. Plain subscribers of one subscription id (or
        # every SSE stream) share the change's frame, chosen here while the id's prefix
        # is the same object (as for a filter group below): per subscriber, one identity
        # test and one call (`offer`), not a lookup of its frame.
        last_prefix: object = _NO_PREFIX
        frame: Frame = b""
        for sub in self.plain:
            if sub.every_key or sub.flt.matches(collection, key):
                prefix = sub._prefix
                if prefix is not last_prefix:
                    frame = change.sse if prefix is None else change.ws_frame(prefix)
                    last_prefix = prefix
                sub.offer(change, frame)
        if not self.groups:
            return
        for group, event in self._events(change):
            if event is None:
                continue
            # The group's subscribers share the event; those of one subscription id (or
            # every SSE stream) share its frame (`event_frame` builds it once per change).
            # Most of a group use the same few ids, so the frame is kept from one
            # subscriber to the next while the id's prefix is the same object: per
            # subscriber, one identity test (as for the plain ones above).
            last_prefix = _NO_PREFIX
            for sub in group.subs:
                if sub.every_key or sub.flt.matches(collection, key):
                    prefix = sub._prefix
                    if prefix is not last_prefix:
                        frame = change.event_frame(event, prefix)
                        last_prefix = prefix
                    sub.offer(change, frame)

    def _events(self, change: EncodedChange) -> list[tuple[FilterGroup, bytes | None]]:
        """Each group `change` concerns, with what it delivers to the group's subscribers
        (None: nothing)."""
        events = change.events()
        if not self.pinned:
            return [(group, events.event(group.match)) for group in self.unpinned]
        before, after = events.before, events.after
        if before is UNKNOWN:
            return [(group, events.event(group.match)) for group in self.groups.values()]
        unpinned = self.unpinned
        concerned = [(group, events.event(group.match)) for group in unpinned] if unpinned else []
        for path, by_value in self.pinned.items():
            # The groups pinned to the document's value at `path` before and after.
            was = _pinned_at(by_value, before, path)
            now = _pinned_at(by_value, after, path)
            for groups in (was,) if was is now else (was, now):
                for group in groups:
                    if group.pin_only:  # the lookup decided: matched if in `was`, etc.
                        event = events.decided(groups is was, groups is now)
                    else:
                        event = events.event(group.match)
                    concerned.append((group, event))
        return concerned


_NO_GROUPS: frozenset[FilterGroup] = frozenset()


def _pinned_at(
    by_value: dict[tuple[str, Any], set[FilterGroup]], doc: Any, path: tuple[str, ...]
) -> set[FilterGroup] | frozenset[FilterGroup]:
    """The groups of `by_value` pinned to `doc`'s value at `path` (none if it has none:
    absent, not a scalar, or a parent not a map, as CEL's field selection sees it)."""
    for name in path:
        if type(doc) is not dict:
            return _NO_GROUPS
        doc = doc.get(name, ABSENT)
    value_key = scalar_key(doc)
    if value_key is None:
        return _NO_GROUPS
    return by_value.get(value_key, _NO_GROUPS)
