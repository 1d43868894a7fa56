"""The expression language (app/cel): every case of tests/cel_conformance.json (which the
JS SDK's tests run too, clients/js/test/cel-conformance.test.mjs), refusals that name
their position, the planner's view of a tree, `specialize`, and fuzzing: any text either
compiles or is refused with ValidationFailed, and a compiled expression never raises,
whatever the document."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from app.cel import (
    DEFAULT_LIMITS,
    FILTER_VARIABLES,
    RULE_VARIABLES,
    Bound,
    Equals,
    EqualsVariable,
    OneOf,
    compile_expression,
    conjuncts,
    constraints,
    specialize,
)
from app.cel.nodes import And, Compare, Expr, Failure, Literal, Or, Select, Var
from app.errors import ValidationFailed

CASES: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent / "cel_conformance.json").read_text(encoding="utf-8")
)


def variables_of_case(case: dict[str, Any]) -> frozenset[str]:
    return RULE_VARIABLES if case.get("variables") == "rule" else FILTER_VARIABLES


def test_the_conformance_file_covers_the_language() -> None:
    sources = " ".join(case["expr"] for case in CASES)
    assert len(CASES) >= 120
    for needle in ("==", "!=", "<=", ">=", "&&", "||", "!", " in ", "has(", "size(", ".size()"):
        assert needle in sources, needle
    for needle in ("startsWith(", "endsWith(", "contains(", "int(", "double(", "string(", "["):
        assert needle in sources, needle
    assert sum("error" in case for case in CASES) >= 40
    assert all(("result" in case) != ("error" in case) for case in CASES)


@pytest.mark.parametrize(
    "case", CASES, ids=[f"{n}:{case['expr'][:40]}" for n, case in enumerate(CASES)]
)
def test_conformance_case(case: dict[str, Any]) -> None:
    if case.get("error") == "compile":
        with pytest.raises(ValidationFailed) as refused:
            compile_expression(case["expr"], variables_of_case(case))
        assert "at offset" in refused.value.detail or "the limit is" in refused.value.detail
        return
    program = compile_expression(case["expr"], variables_of_case(case))
    assert program.matches(case["vars"]) is case["result"]


# -- refusals name the position --------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "offset", "line", "column", "says"),
    [
        ('doc.status == "open" &&', 23, 1, 24, "expected a value"),
        ('doc.status ==\n  "open" + "x"', 23, 2, 10, "operator '+'"),
        ("doc.n == 3 && frobnicate(doc.n)", 14, 1, 15, "unknown function 'frobnicate'"),
        ("user.id == 1", 0, 1, 1, "unknown variable 'user'"),
        ('doc.a == "\\q"', 10, 1, 11, "invalid escape"),
        ("(" * 33 + "true" + ")" * 33, 32, 1, 33, "nested more than 32"),
        ("doc.n == 1u", 10, 1, 11, "unsigned literals"),
    ],
)
def test_a_refusal_names_offset_line_and_column(
    source: str, offset: int, line: int, column: int, says: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        compile_expression(source)
    error = refused.value
    assert error.code == "validation_failed"
    assert says in error.detail, error.detail
    assert f"at offset {offset} (line {line}, column {column})" in error.detail, error.detail
    assert error.extra == {"offset": offset, "line": line, "column": column}


def test_an_expression_longer_than_the_limit_is_refused_before_parsing() -> None:
    source = "true && " * 1000 + "true"
    with pytest.raises(ValidationFailed) as refused:
        compile_expression(source)
    assert f"the limit is {DEFAULT_LIMITS.max_length}" in refused.value.detail


def test_rule_variables_only_where_the_caller_allows_them() -> None:
    rule = "doc.owner == auth.sub && new.owner == doc.owner && op == 'update'"
    with pytest.raises(ValidationFailed, match="unknown variable 'auth'"):
        compile_expression(rule, FILTER_VARIABLES)
    program = compile_expression(rule, RULE_VARIABLES)
    env = {"doc": {"owner": "u1"}, "new": {"owner": "u1"}, "op": "update", "auth": {"sub": "u1"}}
    assert program.matches(env)
    assert not program.matches({**env, "auth": {"sub": "u2"}})
    assert not program.matches({k: v for k, v in env.items() if k != "auth"})


# -- the planner's view -------------------------------------------------------------------


def test_conjuncts_and_their_constraints() -> None:
    tree = compile_expression(
        'doc.status == "open" && doc.owner.id in ["u1", "u2"] && 3 <= doc.n'
        " && doc.n < 10.5 && doc.owner.id == auth.sub && doc.title.contains('x')",
        RULE_VARIABLES,
    ).tree
    assert len(conjuncts(tree)) == 6
    assert constraints(tree) == (
        Equals(("status",), "open"),
        OneOf(("owner", "id"), ("u1", "u2")),
        Bound(("n",), ">=", 3),
        Bound(("n",), "<", 10.5),
        EqualsVariable(("owner", "id"), "auth", ("sub",)),
    )
    # Inside an `||` nothing constrains the whole expression.
    assert constraints(compile_expression("doc.a == 1 || doc.b == 2").tree) == ()
    assert conjuncts(compile_expression('doc["a"] == 1').tree) == (
        Compare("==", Select(Var("doc", 0), "a", 0), Literal(1, 10), 0),
    )


def test_specialize_substitutes_the_principal_and_folds_constants() -> None:
    rule = compile_expression("doc.public || doc.owner == auth.sub", RULE_VARIABLES)
    alice = rule.specialize({"auth": {"sub": "alice"}})
    assert alice.tree == Or(
        (
            Select(Var("doc", 0), "public", 0),
            Compare("==", Select(Var("doc", 14), "owner", 14), Literal("alice", 27), 14),
        ),
        0,
    )
    # Identical principals give equal residuals: subscribers group by them.
    assert alice.tree == rule.specialize({"auth": {"sub": "alice", "key_id": "k9"}}).tree
    # A principal-only condition folds away entirely.
    admin = compile_expression(
        "'admin' in auth.permissions || doc.owner == auth.sub", RULE_VARIABLES
    )
    assert admin.specialize({"auth": {"permissions": ["admin"], "sub": "x"}}).tree == Literal(
        True, 0
    )
    folded = admin.specialize({"auth": {"permissions": ["read"], "sub": "x"}}).tree
    assert isinstance(folded, Compare) and folded.right == Literal("x", 48)
    # A missing claim is a runtime error: absorbed by `||`, never a match on its own.
    anonymous = rule.specialize({"auth": {}})
    assert isinstance(anonymous.tree, Or) and isinstance(anonymous.tree.operands[1], Failure)
    assert anonymous.matches({"doc": {"public": True}})
    assert not anonymous.matches({"doc": {"public": False, "owner": "alice"}})
    # A map-valued binding can still be selected from later.
    claims = compile_expression("doc.org == auth.claims.org", RULE_VARIABLES)
    residual = specialize(claims.tree, {"auth": {"claims": {"org": {"id": 1}}}})
    assert isinstance(residual, Compare) and isinstance(residual.right, Literal)


# -- fuzzing ---------------------------------------------------------------------------------

TOKENS = [
    "doc", "key", "rev", "auth", ".", "a", "b", "[", "]", "(", ")", ",", "==", "!=", "<", "<=",
    ">", ">=", "&&", "||", "!", "-", "in", "has", "size", "int", "double", "string",
    "startsWith", "endsWith", "contains", "1", "2.5", "0x1F", '"x"', "'é'", '"\\u00e9"', "true",
    "false", "null", " ", "+", "?", ":", "{", "}", "1u", 'b"x"', '"', "\\", "\n", "//",
]  # fmt: skip


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=200) | st.lists(st.sampled_from(TOKENS), max_size=60).map("".join))
def test_any_text_compiles_or_is_refused_with_a_position(source: str) -> None:
    try:
        program = compile_expression(source, RULE_VARIABLES)
    except ValidationFailed as refused:
        assert "at offset" in refused.detail or "the limit is" in refused.detail
        return
    assert _nodes(program.tree) <= DEFAULT_LIMITS.max_nodes
    assert isinstance(program.matches({}), bool)


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(["a", "b", "c", "owner"]), inner, max_size=4)
    ),
    max_leaves=20,
)
PATHS = ["doc.a", "doc.b", "doc.a.b", 'doc["c"]', "doc.a[0]", "doc.owner", "auth.sub", "key", "rev"]
LITERALS = ["1", "-2", "2.5", '"x"', "''", "true", "false", "null", "[1, 'a']", "[]"]


def _conditions() -> st.SearchStrategy[str]:
    value = st.sampled_from(PATHS) | st.sampled_from(LITERALS)
    dyn = st.sampled_from(PATHS)
    converted = st.builds(
        "{}({})".format, st.sampled_from(["int", "double", "string", "size"]), dyn
    )
    operator = st.sampled_from(["==", "!=", "<", ">="])
    holder = st.sampled_from(["doc", "doc.a", "auth"])
    method = st.sampled_from(["startsWith", "contains"])
    leaf = (
        st.builds("{} {} {}".format, dyn | converted, operator, value)
        | st.builds("{} in {}".format, value, dyn | st.just("[1, 2.5, 'x', null]"))
        | st.builds("has({}.{})".format, holder, st.sampled_from(["a", "b"]))
        | st.builds("{}.{}({})".format, dyn, method, value)
        | dyn
    )
    return st.recursive(
        leaf,
        lambda inner: (
            st.builds("({} && {})".format, inner, inner)
            | st.builds("({} || {})".format, inner, inner)
            | st.builds("!{}".format, inner)
        ),
        max_leaves=8,
    )


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(_conditions(), JSON, JSON, st.one_of(st.none(), JSON))
def test_a_compiled_expression_never_raises_and_specializes_faithfully(
    source: str, doc: Any, claims: Any, sub: Any
) -> None:
    try:
        program = compile_expression(source, RULE_VARIABLES)
    except ValidationFailed:
        assume(False)
        raise  # unreachable: assume(False) stops the example
    auth = {"sub": sub, "claims": claims} if sub is not None else {"claims": claims}
    env = {"doc": doc, "key": "k", "rev": 3, "auth": auth}
    result = program.matches(env)
    assert isinstance(result, bool)
    negated = compile_expression(f"!({source})", RULE_VARIABLES).matches(env)
    assert not (result and negated)  # never both; both false when it is an error
    # The residual for this principal answers exactly what the rule answers.
    residual = program.specialize({"auth": auth})
    assert residual.matches({"doc": doc, "key": "k", "rev": 3}) is result


def test_deep_documents_do_not_break_evaluation() -> None:
    deep: Any = 1
    for _ in range(5000):
        deep = {"a": [deep]}
    program = compile_expression("doc.a == doc.a && doc.a[0].a[0].a != 1 && 1 in doc.a")
    assert program.matches({"doc": deep}) is False  # too deep to compare: an error, false


def _nodes(expr: Expr) -> int:
    from app.cel.analysis import _children

    if isinstance(expr, And | Or):
        return 1 + sum(_nodes(child) for child in expr.operands)
    return 1 + sum(_nodes(child) for child in _children(expr))
