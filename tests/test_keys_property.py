"""Property tests of the one key encoder (app/store/layout.py) and of range bounds built on it.

The encoding must be injective, keep the byte order of keys inside a
collection, and keep every prefix or bounded range inside its own collection,
whatever the names and keys are (collections that are prefixes of each other,
keys holding the separator bytes, the largest code points).
"""

from __future__ import annotations

import re

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from app.errors import ValidationFailed
from app.store import keys as validation
from app.store.leveldb import layout
from app.store.leveldb.reads import _bounds
from app.store.types import KeyRange

CONTRACT_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
NAME_FIRST = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
NAME_REST = NAME_FIRST | {".", "-"}
CONTROL = {chr(c) for c in range(0x20)} | {"\x7f"}

names = st.from_regex(validation.NAME_RE, fullmatch=True)
# Any text that is valid UTF-8 (no lone surrogates), separator bytes included:
# the encoder must hold even for input that validation would refuse.
any_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
# Keys as the API accepts them.
valid_keys = st.text(
    st.characters(exclude_categories=("Cs",), exclude_characters="".join(CONTROL)),
    min_size=1,
    max_size=10,
)
# Small alphabets make shared prefixes and equal bounds likely.
near_keys = st.text(st.sampled_from(["a", "b", "/", "é", "\U0010ffff", " ", "~"]), max_size=4)


@st.composite
def related_names(draw: st.DrawFn) -> tuple[str, str]:
    """Two different collection names, often one a prefix of the other (`user`, `users`)."""
    first = draw(names)
    kind = draw(st.sampled_from(["extend", "shorten", "any"]))
    if kind == "extend":
        second = (first + draw(st.text(st.sampled_from(sorted(NAME_REST)), min_size=1)))[:64]
    elif kind == "shorten" and len(first) > 1:
        second = first[: draw(st.integers(1, len(first) - 1))]
    else:
        second = draw(names)
    assume(first != second)
    return first, second


def in_range(dbkey: bytes, lower: tuple[bytes, bool], upper: tuple[bytes, bool]) -> bool:
    """Whether `dbkey` lies in the (lower, upper) bounds the range reader iterates."""
    low, low_exclusive = lower
    high, high_inclusive = upper
    above = dbkey > low if low_exclusive else dbkey >= low
    below = dbkey <= high if high_inclusive else dbkey < high
    return above and below


# --- the encoder ---------------------------------------------------------------


@given(c1=any_text, k1=any_text, c2=any_text, k2=any_text)
@example(c1="a", k1="b\x00c", c2="a\x00b", k2="c")
@example(c1="user", k1="s\x00x", c2="users", k2="x")
@example(c1="a", k1="\x00", c2="a\x00", k2="")
@settings(max_examples=500)
def test_doc_keys_never_collide(c1: str, k1: str, c2: str, k2: str) -> None:
    assume(c1 and c2 and k1 and k2)
    assume((c1, k1) != (c2, k2))
    assert layout.doc_key(c1, k1.encode()) != layout.doc_key(c2, k2.encode())


@given(collection=any_text, key=any_text)
def test_doc_key_round_trips(collection: str, key: str) -> None:
    assume(collection and key)
    dbkey = layout.doc_key(collection, key.encode())
    assert dbkey.startswith(layout.doc_prefix(collection))
    assert layout.key_from_doc_key(collection, dbkey) == key.encode()


@given(collection=any_text, k1=any_text, k2=any_text)
@example(collection="c", k1="a", k2="a\x00")
@example(collection="c", k1="a\x00", k2="a\x01")
@example(collection="c", k1="\x7f", k2="é")
@example(collection="c", k1="\uffff", k2="\U00010000")
@settings(max_examples=500)
def test_doc_key_order_is_key_byte_order(collection: str, k1: str, k2: str) -> None:
    assume(collection and k1 and k2)
    b1, b2 = k1.encode(), k2.encode()
    d1, d2 = layout.doc_key(collection, b1), layout.doc_key(collection, b2)
    assert (d1 < d2) == (b1 < b2)
    assert (d1 == d2) == (b1 == b2)


@given(pair=related_names(), prefix=valid_keys, other_key=any_text)
@example(pair=("user", "users"), prefix="s", other_key="x")
@example(pair=("users", "user"), prefix="\U0010ffff", other_key="\U0010ffff")
@example(pair=("a", "a.b"), prefix="b", other_key="b")
@settings(max_examples=500)
def test_prefix_range_stays_in_its_collection(
    pair: tuple[str, str], prefix: str, other_key: str
) -> None:
    mine, other = pair
    assume(other_key)
    start = layout.doc_prefix(mine) + layout.escape(prefix.encode())
    stop = layout.increment(start)
    assert stop is not None
    foreign = layout.doc_key(other, other_key.encode())
    assert not start <= foreign < stop
    # The whole collection range is also closed to the other collection.
    base_stop = layout.increment(layout.doc_prefix(mine))
    assert base_stop is not None
    assert not layout.doc_prefix(mine) <= foreign < base_stop


@given(collection=names, prefix=valid_keys, key=any_text)
@example(collection="c", prefix="ab", key="ab")
@example(collection="c", prefix="ab", key="abc")
@example(collection="c", prefix="ab", key="ac")
@example(collection="c", prefix="\U0010ffff", key="\U0010ffff\U0010ffff")
@settings(max_examples=500)
def test_prefix_range_holds_exactly_the_keys_with_that_prefix(
    collection: str, prefix: str, key: str
) -> None:
    assume(key)
    start = layout.doc_prefix(collection) + layout.escape(prefix.encode())
    stop = layout.increment(start)
    assert stop is not None
    dbkey = layout.doc_key(collection, key.encode())
    assert (start <= dbkey < stop) == key.startswith(prefix)


@given(collection=names, key=any_text)
def test_doc_keys_stay_out_of_the_internal_namespaces(collection: str, key: str) -> None:
    assume(key)
    dbkey = layout.doc_key(collection, key.encode())
    for namespace in (
        layout.LOG,
        layout.LOG_INDEX,
        layout.TTL,
        layout.COUNT,
        layout.META,
        layout.AUTH,
    ):
        assert not dbkey.startswith(namespace)


@given(s1=st.integers(0, 2**64 - 1), s2=st.integers(0, 2**64 - 1))
def test_log_keys_sort_by_seq(s1: int, s2: int) -> None:
    assert (layout.log_key(s1) < layout.log_key(s2)) == (s1 < s2)
    assert layout.seq_from(layout.seq_bytes(s1)) == s1


@given(expires=st.integers(0, 2**64 - 1), collection=names, key=any_text)
def test_ttl_key_round_trips(expires: int, collection: str, key: str) -> None:
    assume(key)
    dbkey = layout.ttl_key(expires, collection, key.encode())
    assert layout.split_ttl_key(dbkey) == (expires, collection, key.encode())


# --- range bounds, as the range reader builds them ------------------------------

optional_bound = st.none() | near_keys.filter(bool)


@given(
    pair=related_names(),
    gt=optional_bound,
    gte=optional_bound,
    lt=optional_bound,
    lte=optional_bound,
    prefix=optional_bound,
    after=optional_bound,
    reverse=st.booleans(),
    key=near_keys.filter(bool),
)
@settings(max_examples=600)
def test_range_bounds_match_the_reference_and_never_leave_the_collection(
    pair: tuple[str, str],
    gt: str | None,
    gte: str | None,
    lt: str | None,
    lte: str | None,
    prefix: str | None,
    after: str | None,
    reverse: bool,
    key: str,
) -> None:
    mine, other = pair
    bounds = KeyRange(gt=gt, gte=gte, lt=lt, lte=lte, prefix=prefix)
    lower, upper = _bounds(layout.doc_prefix(mine), bounds, after, reverse)
    expected = bounds.matches(key)
    if after is not None:
        expected = expected and (key < after if reverse else key > after)
    assert in_range(layout.doc_key(mine, key.encode()), lower, upper) == expected
    assert not in_range(layout.doc_key(other, key.encode()), lower, upper)


# --- validation ------------------------------------------------------------------


def contract_name_ok(name: str) -> bool:
    return 1 <= len(name) <= 64 and name[0] in NAME_FIRST and all(c in NAME_REST for c in name)


@given(name=st.text(max_size=70) | names | st.text(st.sampled_from(sorted(NAME_REST)), max_size=70))
@example(name="..")
@example(name=".hidden")
@example(name="-a")
@example(name="a/b")
@example(name="a" * 64)
@example(name="a" * 65)
@example(name="abc\n")
@example(name="user*")
@example(name="")
@example(name="é")
@example(name="٣")  # a Unicode digit is not [0-9]
@settings(max_examples=500)
def test_validate_name_follows_the_contract(name: str) -> None:
    ok = contract_name_ok(name)
    assert ok == (CONTRACT_NAME.match(name) is not None and "\n" not in name)
    if ok:
        assert validation.validate_name(name) == name
    else:
        with pytest.raises(ValidationFailed) as info:
            validation.validate_name(name)
        assert info.value.code == "validation_failed"


def contract_key_ok(key: str) -> bool:
    try:
        raw = key.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return 1 <= len(raw) <= 512 and not any(c in CONTROL for c in key)


@given(
    key=st.text(max_size=20)
    | st.text(st.characters(codec="utf-8"), min_size=100, max_size=300)
    | st.text(st.sampled_from(["a", "é", "€", "\U0001f600", "/", "\x00", "\x7f"]), max_size=200)
)
@example(key="users/42/posts/7")
@example(key="a" * 512)
@example(key="a" * 513)
@example(key="é" * 256)
@example(key="é" * 256 + "a")
@example(key="\U0001f600" * 128)
@example(key="x\x00y")
@example(key="x\x1f")
@example(key="x\x7f")
@example(key="\x80")  # C1 control characters are allowed by the contract
@example(key="\ud800")
@example(key="")
@example(key="../other/docs/k")
@settings(max_examples=500)
def test_validate_key_follows_the_contract(key: str) -> None:
    if contract_key_ok(key):
        assert validation.validate_key(key) == key.encode("utf-8")
    else:
        with pytest.raises(ValidationFailed) as info:
            validation.validate_key(key)
        assert info.value.code == "validation_failed"
