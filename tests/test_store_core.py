"""The store core on its own (app/store/core/): the rules of a change, no server, no database.

Both backends hand the core what they hold for the documents a group touches
(a `DocReader`) and store the `Mutations` it returns, so these rules -- rev and
seq, preconditions, merge patch, TTL, server-chosen keys, the byte budget --
are checked here once, directly; the contract tests run them through both
stores end to end.
"""

from __future__ import annotations

import orjson
import pytest

from app.errors import NotFound, PayloadTooLarge, PreconditionFailed, ValidationFailed
from app.store.core import Group, NotLoaded, planned_keys
from app.store.records import DocRecord, auto_key, envelope_json, format_ts
from app.store.types import TxResult, WriteOp

NOW = 1_800_000_000_000  # a fixed clock: every group here runs at this instant
HEAD = 41


class Held:
    """A backend's documents before the group, as the core's `DocReader` sees them."""

    def __init__(self, *records: tuple[str, str, DocRecord], strict: bool = False) -> None:
        self.docs = {(c, k): r for c, k, r in records}
        self.strict = strict  # like a backend that fetched up front: unknown means not loaded

    def get(self, collection: str, key: str) -> DocRecord | None:
        if self.strict and (collection, key) not in self.docs:
            raise NotLoaded((collection, key))
        return self.docs.get((collection, key))


def stored(
    collection: str, key: str, value: object, rev: int, *, created: int = 1, expires: int = 0
) -> tuple[str, str, DocRecord]:
    body = envelope_json(collection, key, orjson.dumps(value), rev, created, created, expires)
    return collection, key, DocRecord(rev, created, expires, body)


def group(reader: Held | None = None, **limits: int) -> Group:
    return Group(
        reader or Held(),
        head_seq=HEAD,
        auto_id=0,
        now_ms=NOW,
        max_value_bytes=limits.get("max_value_bytes", 1024 * 1024),
        max_txn_bytes=limits.get("max_txn_bytes", 16 * 1024 * 1024),
    )


def put(key: str, value: object, **options: object) -> WriteOp:
    return WriteOp("put", "c", key, orjson.dumps(value), **options)  # type: ignore[arg-type]


# --- rev and seq ---------------------------------------------------------------


def test_seqs_are_consecutive_in_op_order_and_each_rev_is_its_seq() -> None:
    g = group()
    result = g.apply([put("a", 1), put("b", 2), WriteOp("delete", "c", "a")])
    assert [r.rev for r in result.results] == [HEAD + 1, HEAD + 2, HEAD + 3]
    assert result.last_seq == HEAD + 3
    done = g.mutations
    assert [c.seq for c in done.changes] == [HEAD + 1, HEAD + 2, HEAD + 3]
    assert [c.op for c in done.changes] == ["put", "put", "delete"]
    assert done.head_seq == HEAD + 3
    # The change record is encoded once, with rev = seq and the previous rev.
    first = orjson.loads(done.changes[0].data)
    assert first == {
        "seq": HEAD + 1,
        "op": "put",
        "collection": "c",
        "key": "a",
        "value": 1,
        "rev": HEAD + 1,
        "prev_rev": None,
        "ts": format_ts(NOW).decode(),
    }
    assert orjson.loads(done.changes[2].data)["prev_rev"] == HEAD + 1
    # The final state of "a" is a delete; "b" holds the envelope the result carried.
    assert done.docs[("c", "a")].record is None
    b = done.docs[("c", "b")].record
    assert b is not None and b.envelope == result.results[1].body and b.rev == HEAD + 2


def test_a_later_transaction_of_the_group_sees_the_earlier_ones_writes() -> None:
    g = group()
    first = g.apply([put("a", 1)])
    second = g.apply([put("a", 2, if_rev=first.last_seq)])
    assert second.last_seq == HEAD + 2
    assert orjson.loads(g.mutations.changes[-1].data)["prev_rev"] == HEAD + 1
    assert g.transactions == 2


def test_a_failing_transaction_is_dropped_whole_and_uses_no_seq() -> None:
    g = group(Held(stored("c", "x", {"n": 1}, rev=7)))
    with pytest.raises(PreconditionFailed) as info:
        g.apply([put("a", 1), put("x", 2, if_rev=6)])
    assert info.value.extra == {"current_rev": 7, "op_index": 1}
    assert info.value.detail.startswith("op 1: ")
    assert g.mutations.docs == {} and g.mutations.changes == [] and g.mutations.counts == {}
    assert g.apply([put("b", 1)]).last_seq == HEAD + 1
    assert g.transactions == 1


def test_a_failing_transaction_leaves_the_groups_earlier_writes_as_they_were() -> None:
    g = group(Held(stored("c", "x", 1, rev=7, expires=NOW + 10)))
    g.apply([put("a", 1), WriteOp("expire", "c", "gone", expires_ms=NOW - 1)])
    before_docs = dict(g.mutations.docs)
    before = (list(g.mutations.changes), dict(g.mutations.counts), g.mutations.head_seq)
    create = WriteOp("create", "c", value_json=b"1")
    with pytest.raises(PreconditionFailed):
        g.apply(
            [
                put("a", 2),
                WriteOp("delete", "c", "x"),
                create,
                WriteOp("expire", "c", "gone2", expires_ms=NOW - 1),
                put("b", 1, if_rev=1),
            ]
        )
    assert g.mutations.docs == before_docs
    assert (g.mutations.changes, g.mutations.counts, g.mutations.head_seq) == before
    assert g.mutations.auto_id == 0
    assert g.mutations.stale_expiries == [("c", "gone", NOW - 1)]


def test_created_at_is_kept_and_updated_at_moves() -> None:
    g = group(Held(stored("c", "a", 1, rev=3, created=1000)))
    body = orjson.loads(g.apply([put("a", 2)]).results[0].body)
    assert body["created_at"] == format_ts(1000).decode()
    assert body["updated_at"] == format_ts(NOW).decode()
    assert g.apply([put("new", 1)]).results[0].created is True


# --- preconditions -------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "current_rev"),
    [
        (put("x", 1, if_absent=True), 5),
        (put("y", 1, if_exists=True), None),
        (put("x", 1, if_rev=4), 5),
        (put("y", 1, if_rev=4), None),
        (WriteOp("patch", "c", "x", patch={}, if_rev=9), 5),
    ],
)
def test_preconditions_refuse_with_the_current_rev(op: WriteOp, current_rev: int | None) -> None:
    g = group(Held(stored("c", "x", 1, rev=5)))
    with pytest.raises(PreconditionFailed) as info:
        g.apply([op])
    assert info.value.extra["current_rev"] == current_rev


def test_an_expired_document_counts_as_absent() -> None:
    held = Held(stored("c", "x", 1, rev=5, expires=NOW - 1))
    g = group(held)
    with pytest.raises(NotFound):
        g.apply([WriteOp("delete", "c", "x")])
    with pytest.raises(PreconditionFailed):
        g.apply([put("x", 1, if_exists=True)])
    result = g.apply([put("x", 2, if_absent=True)])
    assert result.results[0].created is True
    # Still stored until swept, so replacing it does not add to the count.
    assert g.mutations.counts.get("c", 0) == 0
    assert g.mutations.docs[("c", "x")].stored_expires_ms == NOW - 1


# --- merge patch ---------------------------------------------------------------


def test_patch_merges_keeps_created_at_and_expiry() -> None:
    expires = NOW + 60_000
    g = group(Held(stored("c", "x", {"a": 1, "b": {"c": 2}}, rev=5, created=7, expires=expires)))
    body = orjson.loads(
        g.apply([WriteOp("patch", "c", "x", patch={"a": None, "b": {"d": 3}})]).results[0].body
    )
    assert body["value"] == {"b": {"c": 2, "d": 3}}
    assert body["created_at"] == format_ts(7).decode()
    assert body["expires_at"] == format_ts(expires).decode()
    written = g.mutations.docs[("c", "x")]
    assert written.record is not None and written.record.expires_ms == expires
    assert written.stored_expires_ms == expires


def test_patch_refusals() -> None:
    g = group(Held(stored("c", "x", {"a": 1}, rev=5)), max_value_bytes=20)
    with pytest.raises(ValidationFailed):
        g.apply([WriteOp("patch", "c", "x", patch=None)])
    with pytest.raises(PayloadTooLarge):
        g.apply([WriteOp("patch", "c", "x", patch={"b": "x" * 30})])
    with pytest.raises(NotFound):
        g.apply([WriteOp("patch", "c", "nope", patch={})])
    assert g.mutations.changes == []


# --- TTL -------------------------------------------------------------------------


def test_a_ttl_sets_the_expiry_and_a_put_without_one_clears_it() -> None:
    g = group(Held(stored("c", "x", 1, rev=5, expires=NOW + 5)))
    envelope = orjson.loads(g.apply([put("a", 1, ttl_ms=1500)]).results[0].body)
    assert envelope["expires_at"] == format_ts(NOW + 1500).decode()
    g.apply([put("x", 2)])
    written = g.mutations.docs[("c", "x")]
    assert written.record is not None and written.record.expires_ms == 0
    assert written.stored_expires_ms == NOW + 5  # the old index entry to drop


def test_expire_deletes_only_a_document_that_still_has_the_expiry_seen() -> None:
    held = Held(
        stored("c", "gone", 1, rev=5, expires=NOW - 10),
        stored("c", "renewed", 1, rev=6, expires=NOW + 10_000),
        stored("c", "later", 1, rev=7, expires=NOW + 10),
    )
    g = group(held)
    result = g.apply(
        [
            WriteOp("expire", "c", "gone", expires_ms=NOW - 10),
            WriteOp("expire", "c", "renewed", expires_ms=NOW - 20),
            WriteOp("expire", "c", "absent", expires_ms=NOW - 30),
            WriteOp("expire", "c", "later", expires_ms=NOW + 10),  # the clock stepped back
        ]
    )
    assert [(r.key, r.deleted) for r in result.results] == [("gone", True)]
    change = orjson.loads(g.mutations.changes[0].data)
    assert change["op"] == "delete" and change["reason"] == "expired" and change["prev_rev"] == 5
    assert g.mutations.counts == {"c": -1}
    assert g.mutations.stale_expiries == [("c", "renewed", NOW - 20), ("c", "absent", NOW - 30)]
    assert set(g.mutations.docs) == {("c", "gone")}


# --- server-chosen keys ----------------------------------------------------------


def test_server_chosen_keys_grow_skip_live_documents_and_reuse_expired_ones() -> None:
    first, second, third = planned_keys(0, NOW, 3)
    assert first < second < third
    held = Held(
        ("c", first, stored("c", first, 1, rev=2)[2]),
        ("c", second, stored("c", second, 1, rev=3, expires=NOW - 1)[2]),
    )
    g = group(held)
    create = WriteOp("create", "c", value_json=b"1")
    keys = [r.key for r in g.apply([create, create]).results]
    assert keys == [second, third]  # `first` is live; `second` had expired
    assert g.mutations.auto_id == (NOW << 12) + 2
    later = Group(
        Held(),
        head_seq=0,
        auto_id=g.mutations.auto_id,
        now_ms=NOW - 5000,  # the clock stepped back: ids still grow
        max_value_bytes=100,
        max_txn_bytes=10_000,
    )
    assert later.apply([create]).results[0].key == auto_key((NOW << 12) + 3)


def test_a_reader_that_fetched_up_front_reports_what_it_lacks_and_nothing_is_kept() -> None:
    g = group(Held(strict=True))
    with pytest.raises(NotLoaded) as info:
        g.apply([WriteOp("create", "c", value_json=b"1")])
    assert info.value.doc == ("c", planned_keys(0, NOW, 1)[0])
    assert info.value.auto_id == NOW << 12  # the keys after it are `keys_from(id + 1, n)`
    assert g.mutations.changes == [] and g.mutations.auto_id == 0


# --- the transaction byte budget -------------------------------------------------


def test_the_budget_counts_envelopes_and_change_records_of_one_transaction() -> None:
    value = {"v": "x" * 400}
    probe = group()
    body = probe.apply([put("a", value)]).results[0].body
    per_op = len(body) + len(probe.mutations.changes[0].data)
    assert group(max_txn_bytes=2 * per_op).apply([put("a", value), put("b", value)])
    g = group(max_txn_bytes=2 * per_op - 1)
    with pytest.raises(PayloadTooLarge) as info:
        g.apply([put("a", value), put("b", value)])
    assert info.value.extra["op_index"] == 1
    assert g.mutations.changes == []
    # Each transaction has its own budget: the same ops one at a time pass.
    assert isinstance(g.apply([put("a", value)]), TxResult)
    assert isinstance(g.apply([put("b", value)]), TxResult)
