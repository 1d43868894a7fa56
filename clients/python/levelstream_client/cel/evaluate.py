# Generated from app/cel/evaluate.py by scripts/vendor_cel.py (make sdk-cel): edit there.
"""Compiles a syntax tree once into nested Python closures (never eval/exec).

Runtime semantics (docs/queries.md "The expression language"): values are JSON values.
A sub-expression that CEL defines as an error (a missing field, an operator or function
applied to the wrong types, an int out of the 64-bit range) yields the `ERROR` sentinel
instead of raising; `&&` and `||` absorb it like CEL does (`false && error` is false,
`true || error` is true, in either order), everything else propagates it, and a whole
expression that is not exactly `true` does not match. Equality is CEL's heterogeneous
equality: values of different types are unequal (false, not an error), except that int
and double compare by numeric value; ordering is defined between numbers (int and
double mixed), strings (by code point) and bools, and is an error otherwise.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any, Final

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


class _Error:
    """The value of a sub-expression that failed at run time."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "ERROR"


ERROR: Final = _Error()
Env = Mapping[str, Any]
Fn = Callable[[Env], Any]

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_NUMBERS = (int, float)
_LISTS = (list, tuple)
_INT_TEXT = re.compile(r"[+-]?[0-9]{1,19}")
_DOUBLE_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def compile_tree(expr: Expr) -> Callable[[Env], bool]:
    """The predicate of `expr`: true only when the expression evaluates to exactly `true`.
    It never raises: a runtime error, whatever the values, makes it false."""
    fn = _compile(expr)

    def matches(env: Env) -> bool:
        try:
            return fn(env) is True
        except Exception:  # e.g. RecursionError comparing two absurdly deep documents
            return False

    return matches


def evaluate_constant(expr: Expr) -> Any:
    """The value of an expression without variables (ERROR if it fails)."""
    try:
        return _compile(expr)({})
    except Exception:
        return ERROR


def runtime_value(value: LiteralValue) -> Any:
    """A constant of the tree as the value the evaluator works on (maps become dicts)."""
    if isinstance(value, MapValue):
        return {key: runtime_value(item) for key, item in value.items}
    if isinstance(value, tuple):
        return tuple(runtime_value(item) for item in value)
    return value


# -- values ---------------------------------------------------------------------------------


def equal(a: Any, b: Any) -> bool:
    """CEL's heterogeneous equality on JSON values (lists and tuples are both lists)."""
    ta, tb = type(a), type(b)
    if ta is tb and ta is not list and ta is not dict and ta is not tuple:
        return bool(a == b)
    if ta in _NUMBERS and tb in _NUMBERS:
        return bool(a == b)
    if ta in _LISTS and tb in _LISTS:
        return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b, strict=True))
    if ta is dict and tb is dict:
        return a.keys() == b.keys() and all(equal(a[key], b[key]) for key in a)
    return False


def order(a: Any, b: Any) -> int | _Error:
    """-1, 0 or 1 (NaN compares as 1, so only `>`, `>=` could hold: `ordered` checks it
    first); ERROR when CEL defines no ordering between the two values."""
    ta, tb = type(a), type(b)
    if (ta in _NUMBERS and tb in _NUMBERS) or (ta is tb and (ta is str or ta is bool)):
        return -1 if a < b else (1 if a > b else 0)
    return ERROR


def _size(value: Any) -> Any:
    kind = type(value)
    return len(value) if kind is str or kind in _LISTS or kind is dict else ERROR


def _in_range(value: int) -> int | _Error:
    return value if INT64_MIN <= value <= INT64_MAX else ERROR


def to_int(value: Any) -> Any:
    kind = type(value)
    if kind is int:
        return _in_range(value)
    if kind is float:
        return _in_range(int(value)) if math.isfinite(value) else ERROR
    if kind is str and _INT_TEXT.fullmatch(value):
        return _in_range(int(value))
    return ERROR


def to_double(value: Any) -> Any:
    kind = type(value)
    if kind is float:
        return value
    if kind is int:
        return float(value) if abs(value) < 2**1023 else ERROR
    if kind is str and len(value) <= 400 and _DOUBLE_TEXT.fullmatch(value):
        number = float(value)
        return number if math.isfinite(number) else ERROR
    return ERROR


def to_string(value: Any) -> Any:
    kind = type(value)
    if kind is str:
        return value
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value) if INT64_MIN <= value <= INT64_MAX else ERROR
    if kind is float:
        return format_double(value)
    return ERROR


def format_double(value: float) -> str:
    """A double as text, the way ECMAScript's Number#toString writes it (shortest digits
    that read back the same; plain notation from 1e-7 to 1e21), so the JS SDK agrees."""
    if value != value:
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    mantissa, _, exponent = repr(abs(value)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = (whole + fraction).lstrip("0")
    point = len(whole) + int(exponent or 0) - (len(whole + fraction) - len(digits))
    digits = digits.rstrip("0")
    k, n = len(digits), point
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        text = "0." + "0" * -n + digits
    else:
        e = n - 1
        head = digits if k == 1 else digits[0] + "." + digits[1:]
        text = f"{head}e{'+' if e > 0 else '-'}{abs(e)}"
    return sign + text


# -- the compiler ---------------------------------------------------------------------------


def _compile(expr: Expr) -> Fn:
    if isinstance(expr, Literal):
        return _constant(runtime_value(expr.value))
    if isinstance(expr, Var):
        name = expr.name
        return lambda env: env.get(name, ERROR)
    if isinstance(expr, Select):
        return _select(expr)
    if isinstance(expr, Index):
        return _index(expr)
    if isinstance(expr, Has):
        return _has(expr)
    if isinstance(expr, Compare):
        return _comparison(expr)
    if isinstance(expr, In):
        return _membership(expr)
    if isinstance(expr, And):
        return _and([_compile(operand) for operand in expr.operands])
    if isinstance(expr, Or):
        return _or([_compile(operand) for operand in expr.operands])
    if isinstance(expr, Not):
        return _not(_compile(expr.operand))
    if isinstance(expr, Call):
        return _call(expr)
    if isinstance(expr, ListExpr):
        return _list([_compile(item) for item in expr.items])
    if isinstance(expr, Failure):
        return _constant(ERROR)
    raise TypeError(f"not an expression node: {expr!r}")  # pragma: no cover


def _constant(value: Any) -> Fn:
    return lambda env: value


def _path(expr: Select) -> tuple[str, tuple[str, ...]] | None:
    """`var.a.b.c` as ("var", ("a", "b", "c")), for the fused lookup below."""
    fields: list[str] = []
    node: Expr = expr
    while isinstance(node, Select):
        fields.append(node.field)
        node = node.operand
    if isinstance(node, Var):
        return node.name, tuple(reversed(fields))
    return None


def _select(expr: Select) -> Fn:
    path = _path(expr)
    if path is not None:
        return _lookup(*path)
    operand, field = _compile(expr.operand), expr.field

    def select(env: Env) -> Any:
        value = operand(env)
        return value.get(field, ERROR) if type(value) is dict else ERROR

    return select


def _lookup(name: str, fields: tuple[str, ...]) -> Fn:
    """A field path read in one closure: the common case of every filter."""
    if len(fields) == 1:
        (first,) = fields

        def one(env: Env) -> Any:
            value = env.get(name, ERROR)
            return value.get(first, ERROR) if type(value) is dict else ERROR

        return one

    def many(env: Env) -> Any:
        value = env.get(name, ERROR)
        for field in fields:
            if type(value) is not dict:
                return ERROR
            value = value.get(field, ERROR)
        return value

    return many


def _index(expr: Index) -> Fn:
    operand, key = _compile(expr.operand), _compile(expr.key)

    def index(env: Env) -> Any:
        container, at = operand(env), key(env)
        kind = type(container)
        if kind is dict and type(at) is str:
            return container.get(at, ERROR)
        if kind in _LISTS and type(at) is int:
            return container[at] if 0 <= at < len(container) else ERROR
        return ERROR

    return index


def _has(expr: Has) -> Fn:
    operand, field = _compile(expr.operand), expr.field

    def has(env: Env) -> Any:
        value = operand(env)
        return field in value if type(value) is dict else ERROR

    return has


def _comparison(expr: Compare) -> Fn:
    left, right = expr.left, expr.right
    if expr.op in ("==", "!="):
        fused = _equals_constant(left, right) or _equals_constant(right, left)
        fn = fused or _equality(_compile(left), _compile(right))
        return fn if expr.op == "==" else _not(fn)
    test: Callable[[int], bool] = {
        "<": lambda c: c < 0,
        "<=": lambda c: c <= 0,
        ">": lambda c: c > 0,
        ">=": lambda c: c >= 0,
    }[expr.op]
    lfn, rfn = _compile(left), _compile(right)

    def ordered(env: Env) -> Any:
        a = lfn(env)
        if a is ERROR:
            return ERROR
        b = rfn(env)
        if b is ERROR:
            return ERROR
        c = order(a, b)
        if c is ERROR:
            return ERROR
        if a != a or b != b:  # NaN is unordered: every ordering with it is false (IEEE)
            return False
        return test(c)  # type: ignore[arg-type]

    return ordered


def _equality(lfn: Fn, rfn: Fn) -> Fn:
    def eq(env: Env) -> Any:
        a = lfn(env)
        if a is ERROR:
            return ERROR
        b = rfn(env)
        return ERROR if b is ERROR else equal(a, b)

    return eq


def _equals_constant(side: Expr, other: Expr) -> Fn | None:
    """`doc.path == "literal"` fused into one closure (no generic dispatch per call)."""
    if not isinstance(other, Literal) or not isinstance(side, Select | Var):
        return None
    constant = runtime_value(other.value)
    kind = type(constant)
    if kind not in (str, bool, int, float) and constant is not None:
        return None
    read = _compile(side)
    if constant is None:
        return lambda env: ERROR if (v := read(env)) is ERROR else v is None
    if kind is bool:
        return lambda env: ERROR if (v := read(env)) is ERROR else v is constant
    if kind is str:
        return lambda env: (
            ERROR if (v := read(env)) is ERROR else (type(v) is str and v == constant)
        )
    return lambda env: (
        ERROR if (v := read(env)) is ERROR else (type(v) in _NUMBERS and v == constant)
    )


def _membership(expr: In) -> Fn:
    item = _compile(expr.item)
    container = expr.container
    if isinstance(container, Literal) and isinstance(container.value, tuple):
        keys = _scalar_keys(runtime_value(container.value))
        if keys is not None:

            def in_constant(env: Env) -> Any:
                value = item(env)
                if value is ERROR:
                    return ERROR
                key = scalar_key(value)
                return key is not None and key in keys

            return in_constant
    cfn = _compile(container)

    def in_list(env: Env) -> Any:
        value = item(env)
        if value is ERROR:
            return ERROR
        values = cfn(env)
        if type(values) in _LISTS:
            return any(equal(value, candidate) for candidate in values)
        if type(values) is dict:  # CEL: `in` on a map tests its keys
            return type(value) is str and value in values
        return ERROR

    return in_list


def scalar_key(value: Any) -> tuple[str, Any] | None:
    """A hashable key with CEL's equality: 1 and 1.0 meet, True and 1 do not."""
    kind = type(value)
    if kind in _NUMBERS:
        return None if value != value else ("n", value)
    if kind is str:
        return ("s", value)
    if kind is bool:
        return ("b", value)
    if value is None:
        return ("z", None)
    return None


def _scalar_keys(values: tuple[Any, ...]) -> frozenset[tuple[str, Any]] | None:
    keys = [scalar_key(value) for value in values]
    if any(key is None for key in keys):
        return None  # a list or a NaN in the list: compare one by one
    return frozenset(key for key in keys if key is not None)


def _and(fns: list[Fn]) -> Fn:
    if len(fns) == 2:
        first, second = fns

        def and2(env: Env) -> Any:
            a = first(env)
            if a is False:
                return False
            b = second(env)
            if b is False:
                return False
            return True if a is True and b is True else ERROR

        return and2

    def and_n(env: Env) -> Any:
        failed = False
        for fn in fns:
            value = fn(env)
            if value is False:
                return False
            if value is not True:
                failed = True
        return ERROR if failed else True

    return and_n


def _or(fns: list[Fn]) -> Fn:
    def or_n(env: Env) -> Any:
        failed = False
        for fn in fns:
            value = fn(env)
            if value is True:
                return True
            if value is not False:
                failed = True
        return ERROR if failed else False

    return or_n


def _not(fn: Fn) -> Fn:
    def negate(env: Env) -> Any:
        value = fn(env)
        return (not value) if type(value) is bool else ERROR

    return negate


def _list(fns: list[Fn]) -> Fn:
    def make(env: Env) -> Any:
        values = [fn(env) for fn in fns]
        return ERROR if any(value is ERROR for value in values) else values

    return make


_CONVERSIONS: dict[str, Callable[[Any], Any]] = {
    "int": to_int,
    "double": to_double,
    "string": to_string,
    "size": _size,
}
_STRING_TESTS: dict[str, Callable[[str, str], bool]] = {
    "startsWith": str.startswith,
    "endsWith": str.endswith,
    "contains": str.__contains__,
}


def _call(expr: Call) -> Fn:
    if expr.receiver is None or expr.name == "size":
        convert = _CONVERSIONS[expr.name]
        argument = _compile(expr.receiver if expr.receiver is not None else expr.args[0])
        return lambda env: ERROR if (v := argument(env)) is ERROR else convert(v)
    test = _STRING_TESTS[expr.name]
    receiver, argument = _compile(expr.receiver), _compile(expr.args[0])

    def string_test(env: Env) -> Any:
        text, part = receiver(env), argument(env)
        return test(text, part) if type(text) is str and type(part) is str else ERROR

    return string_test
