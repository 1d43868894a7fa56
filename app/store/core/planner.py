"""The planner of filtered range reads: which index (if any) a `where` and an
`order_by` can use, and the position ranges to walk in it.

An index is usable when its leading fields are constrained by the top-level `&&`
of the filter (`app.cel.constraints`): `==` pins a field to one value, `in` to a
few (one range each, in value order), `< <= > >=` to a range, which ends the
usable run. For `order_by=f` the index must have `f` right after fields pinned by
`==` (so its order is f's order). Where the encoding could blur a comparison (a
string past MAX_STRING_BYTES, an int past 2**53, `<=`/`>` on a string) the ranges are
inclusive at the literal's value and the compiled filter decides. A plan whose
ranges hold exactly the matching documents (every top-level conjunct an exact
`==`, `in` or range the walk serves) is `decided`: the reader need not check the
filter at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import orjson

from app.cel import Bound, Constraint, Equals, OneOf, conjuncts, constraints
from app.cel.nodes import Expr
from app.errors import ValidationFailed
from app.store.core.indexing import (
    MAX_STRING_BYTES,
    IndexDef,
    Path,
    encode_value,
    prefix_stop,
    type_range,
)
from app.store.types import IndexScan

# `in` lists multiply into ranges: beyond this many, the index run stops there.
MAX_RANGES = 256
_EVERYTHING = (b"\x00", b"\x08")  # every position (value tags are 01..07)
# Numbers are encoded as doubles: a literal beyond this may share its encoding with
# an int that differs from it, so the index cannot tell them apart.
_EXACT_INT = 2**53


@dataclass(frozen=True, slots=True)
class Plan:
    """The scan to run (None: by key, every document checked) and, for a refusal,
    the fields an index should have for this query. `decided`: the scan's ranges
    hold exactly the documents the filter matches, so no document needs checking."""

    scan: IndexScan | None
    wanted: tuple[str, ...]
    decided: bool = False


def dotted(path: Path) -> str:
    return ".".join(path)


def _by_path(tree: Expr | None) -> dict[Path, list[Constraint]]:
    found: dict[Path, list[Constraint]] = {}
    if tree is None:
        return found
    for item in constraints(tree):
        if isinstance(item, Equals | OneOf | Bound):
            found.setdefault(item.path, []).append(item)
    return found


def _wanted(by_path: dict[Path, list[Constraint]], order_by: Path | None) -> tuple[str, ...]:
    """The fields to index: `==` fields first, then `in`, then a range (or the order)."""
    rank = {Equals: 0, OneOf: 1, Bound: 2}
    ordered = sorted(by_path, key=lambda p: min(rank[type(c)] for c in by_path[p]))
    if order_by is not None:
        pinned = [p for p in ordered if any(isinstance(c, Equals) for c in by_path[p])]
        ordered = [p for p in pinned if p != order_by] + [order_by]
    else:
        ranged = [p for p in ordered if all(isinstance(c, Bound) for c in by_path[p])]
        ordered = [p for p in ordered if p not in ranged] + ranged[:1]
    return tuple(dotted(p) for p in ordered)


def _exact(value: object) -> bool:
    """Whether a literal's encoding is its value's alone: documents encoded the same
    way are equal to it in CEL (strings short of the cut, ints within 2**53)."""
    if value is None or isinstance(value, bool):
        return True
    if isinstance(value, int | float):
        return -_EXACT_INT < value < _EXACT_INT
    return isinstance(value, str) and len(value.encode("utf-8", "surrogatepass")) < MAX_STRING_BYTES


def _fixed_width(value: object) -> bool:
    """A bool or a number: its encoding has one length, so prefix_stop(encoding) is
    exactly the next value (for a string it would skip the ones extending it by NUL)."""
    return isinstance(value, bool | int | float)


def _exact_bound(bound: Bound) -> bool:
    """Whether `_value_range` cuts exactly at this bound (else it is inclusive at the
    literal and the filter decides). CEL orders no null: such a bound is never exact."""
    if bound.value is None or not _exact(bound.value):
        return False
    return bound.op in (">=", "<") or _fixed_width(bound.value)


def _value_range(bounds: list[Bound]) -> tuple[bytes, bytes]:
    lower, upper = type_range(bounds[0].value)
    for bound in bounds:
        start, stop = type_range(bound.value)
        lower, upper = max(lower, start), min(upper, stop)
        encoded = encode_value(bound.value)
        exact = _exact_bound(bound)
        if bound.op == ">=" or (bound.op == ">" and not exact):
            lower = max(lower, encoded)
        elif bound.op == ">":
            lower = max(lower, prefix_stop(encoded))
        elif bound.op == "<" and exact:
            upper = min(upper, encoded)
        else:
            upper = min(upper, prefix_stop(encoded))
    return lower, upper


def _ranges_for(
    index: IndexDef, by_path: dict[Path, list[Constraint]], order_at: int | None
) -> tuple[tuple[tuple[bytes, bytes], ...], int, int]:
    """The position ranges of `index` for the constraints, how many leading fields
    they use, and how many of the constraints they serve exactly. With `order_at`, the
    run stops after that field."""
    prefixes = [b""]
    used = exact = 0
    for at, path in enumerate(index.fields):
        found = by_path.get(path, [])
        equal = next((c for c in found if isinstance(c, Equals)), None)
        one_of = next((c for c in found if isinstance(c, OneOf)), None)
        bounds = [c for c in found if isinstance(c, Bound)]
        if equal is not None:
            values = [encode_value(equal.value)]
            exact += _exact(equal.value)
        elif one_of is not None and len(prefixes) * len(one_of.values) <= MAX_RANGES:
            values = sorted({encode_value(v) for v in one_of.values})
            exact += all(_exact(v) for v in one_of.values)
        elif bounds:
            exact += sum(_exact_bound(bound) for bound in bounds)
            lower, upper = _value_range(bounds)
            if lower >= upper:
                return (), used + 1, exact
            return tuple((p + lower, p + upper) for p in prefixes), used + 1, exact
        else:
            break
        prefixes = [p + v for p in prefixes for v in values]
        used += 1
        if order_at is not None and at >= order_at:
            break
    if prefixes == [b""]:
        return (_EVERYTHING,), used, exact
    # Stop at `p` + FF, not at `prefix_stop(p)`: after a whole value's encoding comes
    # a tag (01..07) or the key (UTF-8), never FF, so exactly the positions with these
    # values are inside; a string extending the last one by NUL (`"a\x00b"`, encoded
    # `a 00 FF ...`) is not.
    return tuple((p, p + b"\xff") for p in prefixes), used, exact


def _order_position(index: IndexDef, by_path: dict[Path, list[Constraint]], order_by: Path) -> int:
    """Where `order_by` sits in `index` when every field before it is pinned by `==`
    (-1: the index cannot give that order)."""
    if order_by not in index.fields:
        return -1
    at = index.fields.index(order_by)
    for path in index.fields[:at]:
        if not any(isinstance(c, Equals) for c in by_path.get(path, [])):
            return -1
    return at


def plan(tree: Expr | None, order_by: Path | None, indexes: Sequence[IndexDef]) -> Plan:
    """The plan of a range read over the collection's ready `indexes`.

    Raises ValidationFailed (`needs_index`) for an `order_by` no index can give.
    """
    by_path = _by_path(tree)
    wanted = _wanted(by_path, order_by)
    # Every top-level conjunct must be served exactly for the plan to decide the filter.
    clauses = 0 if tree is None else len(conjuncts(tree))
    best: tuple[int, IndexScan, bool] | None = None
    for index in indexes:
        if index.state != "ready":
            continue
        order_at = None
        if order_by is not None:
            order_at = _order_position(index, by_path, order_by)
            if order_at < 0:
                continue
        ranges, used, exact = _ranges_for(index, by_path, order_at)
        if used == 0 and order_by is None:
            continue
        if best is None or used > best[0]:
            best = (used, IndexScan(index.id, index.name, ranges), exact == clauses)
    if best is None and order_by is not None:
        raise needs_index(f"ordering by {dotted(order_by)} needs an index", wanted, "order_by")
    if best is None:
        return Plan(None, wanted)
    return Plan(best[1], wanted, best[2])


def needs_index(why: str, wanted: Sequence[str], field: str) -> ValidationFailed:
    """The refusal of a query no index serves: names the fields to index, in order."""
    if not wanted:
        return ValidationFailed(
            f"needs_index: {why}, and no index can serve this filter: constrain a field "
            "with ==, in or a range in its top-level && (then index that field)",
            field=field,
            needs_index=[],
        )
    fields = orjson.dumps(list(wanted)).decode()
    return ValidationFailed(
        f"needs_index: {why}; create one with "
        f'PUT /v1/collections/{{collection}}/indexes/{{name}} {{"fields": {fields}}}',
        field=field,
        needs_index=list(wanted),
    )
