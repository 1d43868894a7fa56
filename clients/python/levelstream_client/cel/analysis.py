# Generated from app/cel/analysis.py by scripts/vendor_cel.py (make sdk-cel): edit there.
"""What the planner and the fan-out read from a syntax tree: the top-level conjuncts,
the constraint each one puts on a document field, and `specialize`, which substitutes
known variables (a subscriber's `auth`) and folds constants into a residual expression."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .evaluate import ERROR, evaluate_constant
from .nodes import (
    And,
    Call,
    Compare,
    Expr,
    Failure,
    Has,
    In,
    Index,
    ListExpr,
    Literal,
    LiteralValue,
    MapValue,
    Not,
    Or,
    Select,
    Var,
)

Scalar = None | bool | int | float | str
_FLIPPED = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


def conjuncts(expr: Expr) -> tuple[Expr, ...]:
    """The operands of the top-level `&&` (one, if there is none; none for `true`)."""
    if isinstance(expr, And):
        return expr.operands
    if isinstance(expr, Literal) and expr.value is True:
        return ()
    return (expr,)


def conjoin(exprs: Sequence[Expr]) -> Expr:
    """`a && b && ...` of `exprs`, flattened into one top-level `&&` and folded (a `true`
    drops out, a `false` decides), so its `conjuncts` are every operand's."""
    operands = tuple(
        op for expr in exprs for op in (expr.operands if isinstance(expr, And) else (expr,))
    )
    return _fold_logical(And(operands), {})


def field_path(expr: Expr, variable: str = "doc") -> tuple[str, ...] | None:
    """`doc.a.b` (or `doc["a"].b`) as ("a", "b"); None for anything else."""
    fields: list[str] = []
    while isinstance(expr, Select):
        fields.append(expr.field)
        expr = expr.operand
    if isinstance(expr, Var) and expr.name == variable and fields:
        return tuple(reversed(fields))
    return None


def variables_of(expr: Expr) -> frozenset[str]:
    """The variables an expression reads."""
    if isinstance(expr, Var):
        return frozenset({expr.name})
    found: set[str] = set()
    for child in _children(expr):
        found |= variables_of(child)
    return frozenset(found)


@dataclass(frozen=True, slots=True)
class Equals:
    """`doc.<path> == <literal>`."""

    path: tuple[str, ...]
    value: Scalar


@dataclass(frozen=True, slots=True)
class OneOf:
    """`doc.<path> in [<literals>]`."""

    path: tuple[str, ...]
    values: tuple[Scalar, ...]


@dataclass(frozen=True, slots=True)
class Bound:
    """`doc.<path> <op> <literal>` with op one of < <= > >= (literal on the right)."""

    path: tuple[str, ...]
    op: str
    value: Scalar


@dataclass(frozen=True, slots=True)
class EqualsVariable:
    """`doc.<path> == <variable>.<path>`, e.g. `doc.owner == auth.sub`."""

    path: tuple[str, ...]
    variable: str
    variable_path: tuple[str, ...]


Constraint = Equals | OneOf | Bound | EqualsVariable


def constraint_of(conjunct: Expr) -> Constraint | None:
    """The constraint one conjunct puts on a `doc` field, in a planner's terms."""
    if isinstance(conjunct, In):
        path = field_path(conjunct.item)
        values = conjunct.container
        if (
            path
            and isinstance(values, Literal)
            and isinstance(values.value, tuple)
            and all(_is_scalar(value) for value in values.value)
        ):
            return OneOf(path, tuple(values.value))  # type: ignore[arg-type]
        return None
    if not isinstance(conjunct, Compare) or conjunct.op == "!=":
        return None
    for side, other, op in (
        (conjunct.left, conjunct.right, conjunct.op),
        (conjunct.right, conjunct.left, _FLIPPED[conjunct.op]),
    ):
        path = field_path(side)
        if path is None:
            continue
        if isinstance(other, Literal) and _is_scalar(other.value):
            value: Any = other.value
            return Equals(path, value) if op == "==" else Bound(path, op, value)
        if op == "==" and isinstance(other, Select):
            for variable in ("auth", "key", "rev", "new", "op"):
                other_path = field_path(other, variable)
                if other_path:
                    return EqualsVariable(path, variable, other_path)
    return None


def constraints(expr: Expr) -> tuple[Constraint, ...]:
    """The recognised constraints among the top-level conjuncts (the others filter later)."""
    found = (constraint_of(conjunct) for conjunct in conjuncts(expr))
    return tuple(item for item in found if item is not None)


def _is_scalar(value: LiteralValue) -> bool:
    return value is None or isinstance(value, bool | int | float | str)


# -- specialisation ------------------------------------------------------------------------


def specialize(expr: Expr, bindings: Mapping[str, Any]) -> Expr:
    """`expr` with the variables in `bindings` replaced by their values and every
    constant sub-expression folded, with the evaluator's own semantics: for the rule
    `doc.public || doc.owner == auth.sub` and auth {"sub": "u1"}, the residual is
    `doc.public || doc.owner == "u1"`. A sub-expression that is an error once bound
    (a missing claim) becomes `Failure`, which `&&`/`||` absorb as at run time."""
    return _fold(expr, bindings)


def _fold(expr: Expr, bindings: Mapping[str, Any]) -> Expr:
    if isinstance(expr, Var):
        if expr.name in bindings:
            return _constant(bindings[expr.name], expr.pos)
        return expr
    if isinstance(expr, Literal | Failure):
        return expr
    if isinstance(expr, And | Or):
        return _fold_logical(expr, bindings)
    folded = _rebuild(expr, [_fold(child, bindings) for child in _children(expr)])
    children = _children(folded)
    if any(isinstance(child, Failure) for child in children):
        return Failure("a sub-expression fails", folded.pos)
    if children and all(isinstance(child, Literal) for child in children):
        return _constant(evaluate_constant(folded), folded.pos)
    return folded


def _fold_logical(expr: And | Or, bindings: Mapping[str, Any]) -> Expr:
    absorbing = isinstance(expr, Or)  # true decides an `||`, false an `&&`
    kept: list[Expr] = []
    failure: Failure | None = None
    for operand in (_fold(child, bindings) for child in expr.operands):
        if isinstance(operand, Literal) and operand.value is absorbing:
            return Literal(absorbing, expr.pos)
        if isinstance(operand, Literal) and operand.value is (not absorbing):
            continue
        if isinstance(operand, Failure | Literal):
            failure = failure or Failure("a sub-expression fails", operand.pos)
            continue
        kept.append(operand)
    if failure is not None:
        kept.append(failure)
    if not kept:
        return Literal(not absorbing, expr.pos)
    if len(kept) == 1 and failure is None:
        return kept[0]
    return type(expr)(tuple(kept), expr.pos)


def _constant(value: Any, pos: int) -> Expr:
    if value is ERROR:
        return Failure("a sub-expression fails", pos)
    return Literal(_literal(value), pos)


def _literal(value: Any) -> LiteralValue:
    if isinstance(value, dict):
        return MapValue(tuple((str(key), _literal(item)) for key, item in value.items()))
    if isinstance(value, list | tuple):
        return tuple(_literal(item) for item in value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"not a JSON value: {type(value).__name__}")


def _children(expr: Expr) -> tuple[Expr, ...]:
    if isinstance(expr, Select | Has | Not):
        return (expr.operand,)
    if isinstance(expr, Index):
        return (expr.operand, expr.key)
    if isinstance(expr, And | Or):
        return expr.operands
    if isinstance(expr, Compare):
        return (expr.left, expr.right)
    if isinstance(expr, In):
        return (expr.item, expr.container)
    if isinstance(expr, Call):
        return (expr.receiver, *expr.args) if expr.receiver is not None else expr.args
    if isinstance(expr, ListExpr):
        return expr.items
    return ()


def _rebuild(expr: Expr, children: list[Expr]) -> Expr:
    if isinstance(expr, Select):
        return Select(children[0], expr.field, expr.pos)
    if isinstance(expr, Has):
        return Has(children[0], expr.field, expr.pos)
    if isinstance(expr, Not):
        return Not(children[0], expr.pos)
    if isinstance(expr, Index):
        return Index(children[0], children[1], expr.pos)
    if isinstance(expr, Compare):
        return Compare(expr.op, children[0], children[1], expr.pos)
    if isinstance(expr, In):
        return In(children[0], children[1], expr.pos)
    if isinstance(expr, Call):
        if expr.receiver is not None:
            return Call(expr.name, tuple(children[1:]), children[0], expr.pos)
        return Call(expr.name, tuple(children), None, expr.pos)
    if isinstance(expr, ListExpr):
        if all(isinstance(child, Literal) for child in children):
            values = tuple(child.value for child in children if isinstance(child, Literal))
            return Literal(values, expr.pos)
        return ListExpr(tuple(children), expr.pos)
    return expr
