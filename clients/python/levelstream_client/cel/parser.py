# Generated from app/cel/parser.py by scripts/vendor_cel.py (make sdk-cel): edit there.
"""Recursive-descent parser of the expression language, with its cost limits and a
light static check, so every refusal happens here, once, at compile time.

Grammar (CEL's, restricted to the subset of the contract; docs/queries.md):

    expr     = or
    or       = and { "||" and }
    and      = relation { "&&" relation }
    relation = unary { ("==" | "!=" | "<" | "<=" | ">" | ">=" | "in") unary }
    unary    = "!" unary | "-" NUMBER | member
    member   = primary { "." IDENT [ "(" args ")" ] | "[" expr "]" }
    primary  = IDENT [ "(" args ")" ] | "(" expr ")" | "[" [ args ] "]" | LITERAL
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .lexer import RESERVED, Token, describe, refuse, tokenize
from .nodes import (
    COMPARISONS,
    FUNCTIONS,
    METHODS,
    And,
    Call,
    Compare,
    Expr,
    Has,
    In,
    Index,
    ListExpr,
    Literal,
    LiteralValue,
    Not,
    Or,
    Select,
    Var,
)
from .refusal import ValidationFailed

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


@dataclass(frozen=True, slots=True)
class Limits:
    """The compile-time cost limit. Evaluation has no loops: its time is bounded by the
    node count times the size of the values it touches, so these bound it too."""

    max_length: int = 4096  # characters of source
    max_nodes: int = 512  # syntax-tree nodes (a literal list item is one)
    max_depth: int = 32  # nesting of parentheses, lists, calls, indexes and `!`
    max_string: int = 1024  # characters of one string literal
    max_list: int = 256  # items of one list literal


DEFAULT_LIMITS = Limits()
FILTER_VARIABLES = frozenset({"doc", "key", "rev"})
RULE_VARIABLES = frozenset({"doc", "key", "rev", "new", "op", "auth"})

# Static types, for refusing at compile time what can never be true (CEL's checker does too).
DYN, BOOL, INT, DOUBLE = "dyn", "bool", "int", "double"
STRING, NULL, LIST = "string", "null", "list"
_NUMERIC = frozenset({INT, DOUBLE})
_ORDERED = frozenset({INT, DOUBLE, STRING, BOOL})
_CONVERTIBLE = {
    "int": frozenset({INT, DOUBLE, STRING}),
    "double": frozenset({INT, DOUBLE, STRING}),
    "string": frozenset({INT, DOUBLE, STRING, BOOL}),
    "size": frozenset({STRING, LIST}),
}
_RESULT = {"int": INT, "double": DOUBLE, "string": STRING, "size": INT}
IN = ("keyword", "in")
_VARIABLE_TYPES = {"key": STRING, "rev": INT, "op": STRING}


def _a(kind: str) -> str:
    return f"{'an' if kind == INT else 'a'} {kind}"


def parse(source: str, variables: frozenset[str], limits: Limits = DEFAULT_LIMITS) -> Expr:
    """Parse and check `source`; refuse with ValidationFailed naming the position."""
    if len(source) > limits.max_length:
        raise ValidationFailed(
            f"expression is {len(source)} characters long; the limit is {limits.max_length}",
            offset=limits.max_length,
        )
    parser = _Parser(source, variables, limits)
    expr = parser.expression()
    if parser.token.kind != "end":
        raise parser.expected("an operator or the end of the expression")
    if parser.type_of(expr) not in (BOOL, DYN):
        raise refuse(source, expr.pos, "the expression must be a condition (true or false)")
    return expr


class _Parser:
    def __init__(self, source: str, variables: frozenset[str], limits: Limits) -> None:
        self.source = source
        self.variables = variables
        self.limits = limits
        self.tokens = tokenize(source)
        self.at = 0
        self.depth = 0
        self.nodes = 0
        self.types: dict[int, str] = {}  # id(node) -> static type, while parsing
        self.bracketed: set[int] = set()  # Selects written doc["f"]: has() refuses them (CEL)

    # -- tokens -----------------------------------------------------------------------------

    @property
    def token(self) -> Token:
        return self.tokens[self.at]

    def advance(self) -> Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def accept(self, kind: str) -> Token | None:
        return self.advance() if self.token.kind == kind else None

    def expect(self, kind: str, what: str) -> Token:
        if self.token.kind != kind:
            raise self.expected(what)
        return self.advance()

    def expected(self, what: str) -> ValidationFailed:
        return refuse(self.source, self.token.pos, f"expected {what}, found {describe(self.token)}")

    def fail(self, pos: int, message: str) -> ValidationFailed:
        return refuse(self.source, pos, message)

    # -- limits and types -------------------------------------------------------------------

    def node(self, expr: Expr, kind: str) -> Expr:
        self.nodes += 1
        if self.nodes > self.limits.max_nodes:
            raise self.fail(expr.pos, f"expression has more than {self.limits.max_nodes} nodes")
        self.types[id(expr)] = kind
        return expr

    def type_of(self, expr: Expr) -> str:
        return self.types.get(id(expr), DYN)

    def nested(self, pos: int) -> None:
        self.depth += 1
        if self.depth > self.limits.max_depth:
            raise self.fail(pos, f"expression is nested more than {self.limits.max_depth} deep")

    def need(self, expr: Expr, allowed: frozenset[str], what: str) -> None:
        kind = self.type_of(expr)
        if kind != DYN and kind not in allowed:
            raise self.fail(expr.pos, f"{what}, not {_a(kind)}")

    # -- grammar ----------------------------------------------------------------------------

    def expression(self) -> Expr:
        return self.logical("||", Or, self.conjunction)

    def conjunction(self) -> Expr:
        return self.logical("&&", And, self.relation)

    def logical(
        self, mark: str, node: type[And] | type[Or], parse_operand: Callable[[], Expr]
    ) -> Expr:
        first = parse_operand()
        if self.token.kind != mark:
            return first
        operands = [first]
        while self.accept(mark):
            operands.append(parse_operand())
        for item in operands:
            self.need(item, frozenset({BOOL}), f"'{mark}' needs conditions on both sides")
        return self.node(node(tuple(operands), first.pos), BOOL)

    def relation(self) -> Expr:
        left = self.unary()
        while self.token.kind in COMPARISONS or (self.token.kind, self.token.text) == IN:
            op = self.advance().text
            right = self.unary()
            if op == "in":
                self.need(right, frozenset({LIST}), "'in' needs a list on its right")
                left = self.node(In(left, right, left.pos), BOOL)
            else:
                self.check_comparable(op, left, right)
                left = self.node(Compare(op, left, right, left.pos), BOOL)
        return left

    def check_comparable(self, op: str, left: Expr, right: Expr) -> None:
        a, b = self.type_of(left), self.type_of(right)
        if op not in ("==", "!=") and (a in (NULL, LIST) or b in (NULL, LIST)):
            raise self.fail(left.pos, f"'{op}' cannot order {a if a in (NULL, LIST) else b} values")
        # Like CEL's checker: int and double order against each other, but `==` between
        # an int and a double known as such is refused (write 3.0); at run time, where
        # the types come from the document, they compare by value.
        if DYN in (a, b) or a == b or (a in _NUMERIC and b in _NUMERIC and op not in ("==", "!=")):
            return
        raise self.fail(left.pos, f"'{op}' compares {_a(a)} with {_a(b)}: it can never hold")

    def unary(self) -> Expr:
        start = self.token
        if self.accept("!"):
            self.nested(start.pos)
            operand = self.unary()
            self.depth -= 1
            self.need(operand, frozenset({BOOL}), "'!' needs a condition")
            return self.node(Not(operand, start.pos), BOOL)
        if self.accept("-"):
            number = self.token
            if number.kind not in ("int", "float"):
                raise self.expected("a number after '-' (arithmetic is not part of the language)")
            self.advance()
            assert isinstance(number.value, int | float)
            return self.literal(-number.value, start.pos)
        return self.member()

    def member(self) -> Expr:
        expr = self.primary()
        steps = 0  # a chain of selections and indexes counts as nesting too (CEL's 32)
        while True:
            if self.token.kind in (".", "["):
                steps += 1
                if steps > self.limits.max_depth:
                    limit = self.limits.max_depth
                    raise self.fail(self.token.pos, f"more than {limit} selections in a row")
            if self.accept("."):
                name = self.expect("ident", "a field name after '.'")
                if self.token.kind == "(":
                    expr = self.method(expr, name)
                else:
                    expr = self.select(expr, name.text, name.pos)
            elif self.token.kind == "[":
                bracket = self.advance()
                self.nested(bracket.pos)
                key = self.expression()
                self.depth -= 1
                self.expect("]", "']'")
                expr = self.index(expr, key, bracket.pos)
            else:
                return expr

    def select(self, operand: Expr, field: str, pos: int) -> Expr:
        if self.type_of(operand) != DYN:
            raise self.fail(pos, f"a {self.type_of(operand)} has no fields")
        return self.node(Select(operand, field, operand.pos), DYN)

    def index(self, operand: Expr, key: Expr, pos: int) -> Expr:
        if isinstance(key, Literal) and isinstance(key.value, str):
            self.nodes -= 1  # the key becomes the Select's field
            selected = self.select(operand, key.value, pos)
            self.bracketed.add(id(selected))
            return selected
        if self.type_of(operand) not in (DYN, LIST):
            raise self.fail(pos, f"a {self.type_of(operand)} cannot be indexed")
        self.need(key, frozenset({INT, STRING}), "an index is an int or a string")
        return self.node(Index(operand, key, operand.pos), DYN)

    def method(self, receiver: Expr, name: Token) -> Expr:
        if name.text not in METHODS:
            raise self.fail(name.pos, f"unknown function {name.text!r}")
        args = self.arguments()
        if name.text == "size":
            self.arity(name, args, 0)
            self.need(receiver, _CONVERTIBLE["size"], "size() takes a list or a string")
            return self.node(Call("size", (), receiver, receiver.pos), INT)
        self.arity(name, args, 1)
        self.need(receiver, frozenset({STRING}), f"{name.text}() applies to a string")
        self.need(args[0], frozenset({STRING}), f"{name.text}() takes a string")
        return self.node(Call(name.text, args, receiver, receiver.pos), BOOL)

    def arguments(self) -> tuple[Expr, ...]:
        opening = self.expect("(", "'('")
        self.nested(opening.pos)
        args: list[Expr] = []
        if not self.accept(")"):
            args.append(self.expression())
            while self.accept(","):
                args.append(self.expression())
            self.expect(")", "',' or ')'")
        self.depth -= 1
        return tuple(args)

    def arity(self, name: Token, args: tuple[Expr, ...], count: int) -> None:
        if len(args) != count:
            plural = "argument" if count == 1 else "arguments"
            raise self.fail(name.pos, f"{name.text}() takes {count} {plural}, not {len(args)}")

    def primary(self) -> Expr:
        token = self.token
        if token.kind in ("int", "float", "string"):
            self.advance()
            assert token.value is not None
            return self.literal(token.value, token.pos)
        if token.kind == "keyword" and token.text != "in":
            self.advance()
            return self.literal({"true": True, "false": False, "null": None}[token.text], token.pos)
        if token.kind == "(":
            self.advance()
            self.nested(token.pos)
            expr = self.expression()
            self.depth -= 1
            self.expect(")", "')'")
            return expr
        if token.kind == "[":
            return self.list_literal()
        if token.kind == "ident":
            self.advance()
            if self.token.kind == "(":
                return self.function(token)
            if token.text in RESERVED:
                raise self.fail(token.pos, f"{token.text!r} is a reserved word")
            if token.text not in self.variables:
                known = ", ".join(sorted(self.variables))
                raise self.fail(token.pos, f"unknown variable {token.text!r} (known: {known})")
            return self.node(Var(token.text, token.pos), _VARIABLE_TYPES.get(token.text, DYN))
        raise self.expected("a value, a variable, '(' or '['")

    def function(self, name: Token) -> Expr:
        if name.text == "has":
            return self.has(name)
        if name.text not in FUNCTIONS:
            raise self.fail(name.pos, f"unknown function {name.text!r}")
        args = self.arguments()
        self.arity(name, args, 1)
        takes = " or ".join(_a(kind) for kind in sorted(_CONVERTIBLE[name.text]))
        self.need(args[0], _CONVERTIBLE[name.text], f"{name.text}() takes {takes}")
        return self.node(Call(name.text, args, None, name.pos), _RESULT[name.text])

    def has(self, name: Token) -> Expr:
        args = self.arguments()
        self.arity(name, args, 1)
        target = args[0]
        if not isinstance(target, Select) or id(target) in self.bracketed:
            raise self.fail(target.pos, "has() takes a field selection such as doc.field")
        self.nodes -= 1  # the Select becomes the Has
        return self.node(Has(target.operand, target.field, name.pos), BOOL)

    def list_literal(self) -> Expr:
        opening = self.advance()
        self.nested(opening.pos)
        items: list[Expr] = []
        if not self.accept("]"):
            items.append(self.expression())
            while self.accept(","):
                if len(items) >= self.limits.max_list:
                    limit = self.limits.max_list
                    raise self.fail(self.token.pos, f"list has more than {limit} items")
                items.append(self.expression())
            self.expect("]", "',' or ']'")
        self.depth -= 1
        if all(isinstance(item, Literal) for item in items):
            values = tuple(item.value for item in items if isinstance(item, Literal))
            return self.node(Literal(values, opening.pos), LIST)
        return self.node(ListExpr(tuple(items), opening.pos), LIST)

    def literal(self, value: LiteralValue, pos: int) -> Expr:
        if isinstance(value, int) and not isinstance(value, bool):
            if not INT64_MIN <= value <= INT64_MAX:
                raise self.fail(pos, "integer literal is out of the 64-bit range")
            kind = INT
        elif isinstance(value, float):
            kind = DOUBLE
        elif isinstance(value, str):
            if len(value) > self.limits.max_string:
                limit = self.limits.max_string
                raise self.fail(pos, f"string literal is longer than {limit} characters")
            kind = STRING
        else:
            kind = BOOL if isinstance(value, bool) else NULL
        return self.node(Literal(value, pos), kind)
