# Generated from app/cel/nodes.py by scripts/vendor_cel.py (make sdk-cel): edit there.
"""The typed syntax tree of the expression language (docs/queries.md).

Every node carries `pos`, the offset of its first character in the source (not part of
equality: the same expression written with other spacing is the same tree), so
later stages (the planner, rule checks) can still point at the text. Nodes are
frozen and hashable: identical residual filters group by equality.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TypeAlias

# A JSON value as the expression sees it (documents, `auth`, literals).
Value: TypeAlias = bool | int | float | str | list["Value"] | dict[str, "Value"] | None


@dataclass(frozen=True, slots=True)
class MapValue:
    """A map constant (hashable): only `specialize` makes one, from a bound variable."""

    items: tuple[tuple[str, LiteralValue], ...]


# A constant in the tree: a list of literals is folded to a `Literal` of a tuple.
LiteralValue: TypeAlias = bool | int | float | str | tuple["LiteralValue", ...] | MapValue | None


@dataclass(frozen=True, slots=True)
class Literal:
    value: LiteralValue
    pos: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class ListExpr:
    """A list literal with at least one non-literal item (else it is a `Literal`)."""

    items: tuple[Expr, ...]
    pos: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Var:
    name: str
    pos: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Select:
    """`operand.field`, and `operand["field"]` with a literal string key."""

    operand: Expr
    field: str
    pos: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Index:
    """`operand[key]` with a computed key, or an int index into a list."""

    operand: Expr
    key: Expr
    pos: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Has:
    """`has(operand.field)`: is `field` a key of the map `operand`."""

    operand: Expr
    field: str
    pos: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Not:
    operand: Expr
    pos: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class And:
    """`a && b && ...`, flattened: the top-level conjuncts are `operands`."""

    operands: tuple[Expr, ...]
    pos: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Or:
    operands: tuple[Expr, ...]
    pos: int = dataclasses.field(default=0, compare=False)


COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")


@dataclass(frozen=True, slots=True)
class Compare:
    op: str  # one of COMPARISONS
    left: Expr
    right: Expr
    pos: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class In:
    item: Expr
    container: Expr
    pos: int = dataclasses.field(default=0, compare=False)


FUNCTIONS = ("size", "int", "double", "string")
METHODS = ("size", "startsWith", "endsWith", "contains")


@dataclass(frozen=True, slots=True)
class Call:
    """`name(args)`, or `receiver.name(args)` when `receiver` is set."""

    name: str
    args: tuple[Expr, ...]
    receiver: Expr | None = None
    pos: int = dataclasses.field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Failure:
    """A sub-expression known to be a runtime error (`specialize` folds one, e.g. a
    missing `auth` claim): it never matches, and `&&`/`||` absorb it like CEL does."""

    reason: str
    pos: int = dataclasses.field(default=0, compare=False)


Expr: TypeAlias = (
    Literal | ListExpr | Var | Select | Index | Has | Not | And | Or | Compare | In | Call | Failure
)
