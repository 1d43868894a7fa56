"""The history checker catches each kind of violation, on small hand-made histories.

Each test starts from one correct history (writes, their changes, a subscriber,
reads), which the checker passes, and breaks one thing in it: the checker must
name exactly that property.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.history.checker import Report, check
from tests.history.model import Event, History, Item

C = "c"


def change(seq: int, key: str, value: Any, op: str = "put") -> dict[str, Any]:
    return {"seq": seq, "op": op, "collection": C, "key": key, "value": value, "rev": seq}


class Case:
    """A correct history: a put, a conditional put on it, a delete, and a subscriber."""

    def __init__(self) -> None:
        self.history = History()
        h = self.history
        self.v1, self.v2, self.v3 = h.unique("w1"), h.unique("w2"), h.unique("w1")
        self.put1 = h.invoke("w1", "put", [Item("a", self.v1)])
        h.complete(self.put1, "ok", 201)
        self.put1.items[0].seq = 1
        self.cond = h.invoke("w2", "put", [Item("a", self.v2, if_match=1, seq=2)])
        h.complete(self.cond, "ok", 200)
        self.delete = h.invoke("w1", "delete", [Item("a", None)])
        h.complete(self.delete, "ok", 204)
        self.put3 = h.invoke("w1", "put", [Item("b", self.v3, seq=4)])
        h.complete(self.put3, "ok", 201)
        self.log = [
            change(1, "a", self.v1),
            change(2, "a", self.v2),
            change(3, "a", None, "delete"),
            change(4, "b", self.v3),
        ]
        self.docs: dict[str, tuple[int, Any]] = {"b": (4, self.v3)}
        self.sub = h.subscriber("ws1", "ws", C)
        self.sub.events = [Event("start", 0)]
        self.sub.events += [Event("change", c["seq"], c["key"], c["op"]) for c in self.log]
        self.sub.events.append(Event("end", 4))
        h.read("w1", 0, 1)
        h.read("w1", 0, 4)

    def check(self) -> Report:
        return check(self.history, self.log, self.docs, head_seq=len(self.log))


def violated(report: Report) -> set[str]:
    return {prop for prop, found in report.violations.items() if found}


def test_a_correct_history_passes() -> None:
    report = Case().check()
    report.assert_ok()
    assert report.deliveries == 4 and report.changes == 4 and report.writes["ok"] == 4
    assert "lost: 0, duplicated: 0, reordered: 0, missed: 0" in report.summary()


def test_a_lost_acknowledged_write() -> None:
    case = Case()
    case.log = case.log[:3]  # the acknowledged put at seq 4 is gone
    case.sub.events[4:] = [Event("end", 3)]
    case.docs = {}
    report = case.check()
    assert violated(report) == {"lost"} and report.lost == 1


def test_a_lost_acknowledged_delete() -> None:
    case = Case()
    case.log[2] = change(3, "c", case.history.unique("x"))  # not the delete: someone else's put
    report = case.check()
    assert "lost" in violated(report) and report.lost >= 1


def test_a_final_state_that_is_not_the_log_replayed() -> None:
    case = Case()
    case.docs = {}  # b was acknowledged, logged, and then vanished from the store
    assert violated(case.check()) == {"lost"}


def test_a_gap_in_the_log() -> None:
    case = Case()
    del case.log[1]  # seq 2 missing; the conditional write is then lost too
    report = case.check()
    assert {"log", "lost"} <= violated(report)
    assert any("missing" in v for v in report.violations["log"])


def test_a_change_nobody_made() -> None:
    case = Case()
    case.log.append(change(5, "z", {"id": "nobody-1"}))
    case.sub.events.insert(-1, Event("change", 5, "z", "put"))
    assert violated(
        check(case.history, case.log, {**case.docs, "z": (5, {"id": "nobody-1"})}, 5)
    ) == {"log"}


def test_an_unknown_write_may_be_there_once_but_not_twice() -> None:
    case = Case()
    value = case.history.unique("w3")
    doubt = case.history.invoke("w3", "put", [Item("c", value)])
    case.history.complete(doubt, "unknown")
    case.log.append(change(5, "c", value))
    case.docs["c"] = (5, value)
    case.sub.events.insert(-1, Event("change", 5, "c", "put"))
    once = check(case.history, case.log, case.docs, 5)
    once.assert_ok()
    assert once.unknown_committed == 1
    case.log.append(change(6, "c", value))
    case.docs["c"] = (6, value)
    twice = check(case.history, case.log, case.docs, 6)
    assert "log" in violated(twice) and twice.duplicated == 1


def test_an_unanswered_batch_half_committed() -> None:
    case = Case()
    x, y = case.history.unique("w3"), case.history.unique("w3")
    doubt = case.history.invoke("w3", "batch", [Item("x", x), Item("y", y)])
    case.history.complete(doubt, "unknown")
    case.log.append(change(5, "x", x))
    case.docs["x"] = (5, x)
    assert violated(check(case.history, case.log, case.docs, 5)) == {"log"}


def test_a_refused_write_that_committed() -> None:
    case = Case()
    case.put3.outcome, case.put3.status = "failed", 503
    case.put3.items[0].seq = None
    assert violated(case.check()) == {"log"}


@pytest.mark.parametrize(
    ("events", "counter"),
    [
        (
            [
                Event("start", 0),
                Event("change", 1, "a", "put"),
                Event("change", 2, "a", "put"),
                Event("change", 2, "a", "put"),
            ],
            "duplicated",
        ),
        (
            [Event("start", 0), Event("change", 2, "a", "put"), Event("change", 1, "a", "put")],
            "reordered",
        ),
        ([Event("start", 0), Event("change", 1, "a", "put"), Event("end", 4)], "missed"),
        (
            [Event("start", 0), Event("change", 1, "a", "put"), Event("change", 4, "b", "put")],
            "missed",
        ),
        # A resume from the last seq seen (2) must not deliver 2 again.
        (
            [
                Event("start", 0),
                Event("change", 1, "a", "put"),
                Event("change", 2, "a", "put"),
                Event("start", 2),
                Event("change", 2, "a", "put"),
            ],
            "duplicated",
        ),
    ],
    ids=["duplicate", "reorder", "not-caught-up", "gap", "resume-redelivers"],
)
def test_delivery_violations(events: list[Event], counter: str) -> None:
    case = Case()
    case.sub.events = events
    report = case.check()
    assert violated(report) == {"delivery"}
    assert getattr(report, counter) >= 1


def test_a_reset_allows_a_restart_from_anywhere() -> None:
    case = Case()
    case.sub.events = [
        Event("start", 0),
        Event("change", 1, "a", "put"),
        Event("reset", 1),
        Event("start", 0),
        Event("change", 1, "a", "put"),
        Event("change", 2, "a", "put"),
        Event("end", 2),
    ]
    case.check().assert_ok()


def test_a_delivery_outside_the_filter() -> None:
    case = Case()
    case.sub.prefix = "a"
    case.sub.events[-1] = Event("end", 3)  # b (seq 4) was delivered though outside "a"
    assert violated(case.check()) == {"delivery"}


def test_two_if_match_winners_on_one_base() -> None:
    case = Case()
    v = case.history.unique("w3")
    rival = case.history.invoke("w3", "put", [Item("b", v, if_match=1, seq=5)])
    case.history.complete(rival, "ok", 200)  # based on a's rev 1 at b... and on rev 1 again
    case.log.append(change(5, "b", v))
    case.docs["b"] = (5, v)
    case.sub.events[-1:] = [Event("change", 5, "b", "put"), Event("end", 5)]
    report = check(case.history, case.log, case.docs, 5)
    assert violated(report) == {"conditional"}


def test_a_second_winner_on_the_same_key_and_base() -> None:
    case = Case()
    v = case.history.unique("w3")
    # Both `cond` (seq 2) and this write claim If-Match 1 on a: the second followed 2.
    late = case.history.invoke("w3", "put", [Item("a", v, if_match=1, seq=5)])
    case.history.complete(late, "ok", 201)
    case.log.append(change(5, "a", v))
    case.docs["a"] = (5, v)
    case.sub.events[-1:] = [Event("change", 5, "a", "put"), Event("end", 5)]
    assert violated(check(case.history, case.log, case.docs, 5)) == {"conditional"}


def test_a_refusal_that_was_not_stale() -> None:
    case = Case()
    refused = case.history.invoke("w3", "put", [Item("b", case.history.unique("w3"), if_match=4)])
    case.history.complete(refused, "failed", 412, "precondition_failed")
    assert violated(case.check()) == {"conditional"}
    # Stale once someone changed b before the refusal.
    v = case.history.unique("w1")
    other = case.history.invoke("w1", "put", [Item("b", v, seq=5)])
    case.history.complete(other, "ok", 200)
    other.invoked = refused.invoked - 1
    case.log.append(change(5, "b", v))
    case.docs["b"] = (5, v)
    case.sub.events[-1:] = [Event("change", 5, "b", "put"), Event("end", 5)]
    check(case.history, case.log, case.docs, 5).assert_ok()


def test_a_non_monotonic_read() -> None:
    case = Case()
    case.history.read("w1", 0, 2)  # after having seen 4 from the same server
    assert violated(case.check()) == {"reads"}
    fresh = Case()
    fresh.history.read("w1", 1, 2)  # another server (after a restart): not comparable
    fresh.check().assert_ok()
