# Generated from app/cel/__init__.py by scripts/vendor_cel.py (make sdk-cel): edit there.
"""The expression language of filters and rules: the contract's CEL subset, parsed and
checked once (with a cost limit, refusals as ValidationFailed naming the position) and
compiled into a closure that answers "does this match" without ever raising.

    program = compile_expression('doc.status == "open"', FILTER_VARIABLES)
    program.matches({"doc": {"status": "open"}, "key": "t1", "rev": 3})  # True

docs/queries.md describes the language; docs/decisions.md why it is our own compiler.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .analysis import (
    Bound,
    Constraint,
    Equals,
    EqualsVariable,
    OneOf,
    conjoin,
    conjuncts,
    constraint_of,
    constraints,
    field_path,
    specialize,
    variables_of,
)
from .evaluate import compile_tree, scalar_key
from .nodes import Expr
from .parser import DEFAULT_LIMITS, FILTER_VARIABLES, RULE_VARIABLES, Limits, parse

__all__ = [
    "DEFAULT_LIMITS",
    "FILTER_VARIABLES",
    "RULE_VARIABLES",
    "Bound",
    "Constraint",
    "Equals",
    "EqualsVariable",
    "Limits",
    "OneOf",
    "Program",
    "compile_expression",
    "compile_tree",
    "compiled",
    "conjoin",
    "conjuncts",
    "constraint_of",
    "constraints",
    "field_path",
    "parse",
    "scalar_key",
    "specialize",
    "variables_of",
]


@dataclass(frozen=True, slots=True)
class Program:
    """A compiled expression: `matches(variables)` is true only when it evaluates to
    exactly `true`; a runtime error (a missing field, a type mismatch) is false."""

    source: str
    tree: Expr
    matches: Callable[[Mapping[str, Any]], bool] = field(compare=False, repr=False)

    def specialize(self, bindings: Mapping[str, Any]) -> Program:
        """This program with `bindings` (e.g. {"auth": {...}}) substituted and folded."""
        residual = specialize(self.tree, bindings)
        return Program(self.source, residual, compile_tree(residual))


@functools.lru_cache(maxsize=4096)
def compiled(tree: Expr) -> Callable[[Mapping[str, Any]], bool]:
    """`compile_tree`, kept for equal trees (node positions aside): the live filters of
    many subscribers are the same residual expression, compiled once."""
    return compile_tree(tree)


def compile_expression(
    source: str,
    variables: frozenset[str] = FILTER_VARIABLES,
    limits: Limits = DEFAULT_LIMITS,
) -> Program:
    """Parse, check and compile `source`; ValidationFailed names the position if refused."""
    tree = parse(source, variables, limits)
    return Program(source, tree, compile_tree(tree))
