"""The checker: a recorded history against the server's change log and final documents.

Five properties (each its own list of violations in the report):

- lost: every write answered 2xx is in the log at the seq it was answered with
  (a delete answered 204 without a seq: counted per key) and replaying the log
  gives exactly the documents the server holds;
- log: seqs gap-free and strictly increasing; every change is one a client made
  (same key and value, rev == seq), none made twice, none by a refused write, an
  unanswered batch all there or not at all;
- delivery: each subscriber got every matching change once, in seq order, from
  where it (re)started, up to where it claims to have caught up, unless a reset;
- conditional: successful If-Match writes chain (the key's previous change is
  the rev they named: no two winners on one base) and a 412 was really stale;
- reads: a client never sees an older seq than it saw before from one server.

Writes with an unknown outcome may be in the log or not, but never twice.
"""

from __future__ import annotations

import itertools
from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from tests.history.model import History, Item, Subscriber, Write

Change = dict[str, Any]
PROPERTIES = ("lost", "log", "delivery", "conditional", "reads")


@dataclass
class Report:
    writes: Counter[str] = field(default_factory=Counter)  # by outcome
    unknown_committed: int = 0
    changes: int = 0
    deliveries: int = 0
    subscribers: int = 0
    reads: int = 0
    lost: int = 0
    duplicated: int = 0  # writes committed twice plus deliveries seen twice
    reordered: int = 0
    missed: int = 0  # deliveries missing (gaps)
    violations: dict[str, list[str]] = field(default_factory=lambda: {p: [] for p in PROPERTIES})

    def fail(self, prop: str, message: str) -> None:
        self.violations[prop].append(message)

    @property
    def ok(self) -> bool:
        return not any(self.violations.values())

    def summary(self) -> str:
        writes = ", ".join(f"{n} {outcome}" for outcome, n in sorted(self.writes.items()))
        lines = [
            f"writes: {writes} ({self.unknown_committed} unknown committed); "
            f"changes: {self.changes}; deliveries: {self.deliveries} to {self.subscribers} "
            f"subscribers; reads: {self.reads}",
            f"lost: {self.lost}, duplicated: {self.duplicated}, reordered: {self.reordered}, "
            f"missed: {self.missed}",
        ]
        for prop in PROPERTIES:
            found = self.violations[prop]
            verdict = "ok" if not found else f"{len(found)} violations: " + "; ".join(found[:5])
            lines.append(f"  {prop}: {verdict}")
        return "\n".join(lines)

    def assert_ok(self) -> None:
        assert self.ok, "history checker:\n" + self.summary()


def value_id(value: Any) -> str | None:
    return value.get("id") if isinstance(value, dict) else None


def check(
    history: History,
    log: list[Change],
    documents: dict[str, tuple[int, Any]],
    head_seq: int,
    oldest_seq: int = 1,
) -> Report:
    """Judge `history` against the whole log (from `oldest_seq`) and the final documents."""
    report = Report(changes=len(log), reads=len(history.reads))
    report.writes.update(w.outcome for w in history.writes)
    _check_log_order(report, log, head_seq, oldest_seq)
    committed = _attribute(report, history, log)
    _check_acknowledged(report, history, log, committed, documents)
    _check_conditional(report, history, log, committed)
    for sub in history.subscribers:
        _check_delivery(report, sub, log)
    _check_reads(report, history)
    return report


def _check_log_order(report: Report, log: list[Change], head_seq: int, oldest_seq: int) -> None:
    seqs = [c["seq"] for c in log]
    for a, b in itertools.pairwise(seqs):
        if b <= a:
            report.fail("log", f"seq {b} after {a}")
    missing = sorted(set(range(oldest_seq, head_seq + 1)) - set(seqs))
    if missing:
        report.fail("log", f"{len(missing)} seqs missing from the log, first {missing[:5]}")
    for change in log:
        if change.get("rev", change["seq"]) != change["seq"]:
            report.fail("log", f"change {change['seq']} has rev {change['rev']}")


def _attribute(report: Report, history: History, log: list[Change]) -> dict[int, list[Change]]:
    """The changes each write made (by `id(write)`); phantoms and doubles are violations."""
    items: dict[str, tuple[Write, Item]] = {}
    for write in history.writes:
        for item in write.items:
            if (vid := value_id(item.value)) is not None:
                items[vid] = (write, item)
    committed: dict[int, list[Change]] = defaultdict(list)
    seen: set[str] = set()
    for change in log:
        if change["op"] != "put":
            continue
        vid = value_id(change["value"])
        if vid is None or vid not in items:
            report.fail("log", f"change {change['seq']} was made by no client")
            continue
        write, item = items[vid]
        if vid in seen:
            report.duplicated += 1
            report.fail("log", f"write {vid} committed twice (again at {change['seq']})")
            continue
        seen.add(vid)
        if (item.key is not None and change["key"] != item.key) or change["value"] != item.value:
            report.fail("log", f"change {change['seq']} differs from write {vid}")
        if write.outcome == "failed":
            report.fail("log", f"write {vid} was refused ({write.status}) yet committed")
        committed[id(write)].append(change)
    # Deletes carry no unique value: per key, the acknowledged ones must be there and
    # at most the unanswered ones besides.
    deletes: Counter[str] = Counter(c["key"] for c in log if c["op"] == "delete")
    acked: Counter[str] = Counter()
    maybe: Counter[str] = Counter()
    for write in history.writes:
        for item in write.items:
            if item.value is None and write.outcome in ("ok", "unknown"):
                (acked if write.outcome == "ok" else maybe)[str(item.key)] += 1
    for key in set(deletes) | set(acked):
        if deletes[key] < acked[key]:
            report.lost += acked[key] - deletes[key]
            report.fail("lost", f"{key}: {acked[key]} deletes acknowledged, {deletes[key]} logged")
        elif deletes[key] > acked[key] + maybe[key]:
            report.duplicated += deletes[key] - acked[key] - maybe[key]
            report.fail(
                "log",
                f"{key}: {deletes[key]} deletes logged, at most {acked[key] + maybe[key]} made",
            )
    # An unanswered write is all there or not at all (its puts tell).
    for write in history.writes:
        puts = [i for i in write.items if i.value is not None]
        found = len(committed.get(id(write), []))
        if write.outcome == "unknown" and found:
            report.unknown_committed += 1
            if found != len(puts):
                report.fail("log", f"{write.writer} {write.op}: {found} of {len(puts)} committed")
    return committed


def _check_acknowledged(
    report: Report,
    history: History,
    log: list[Change],
    committed: dict[int, list[Change]],
    documents: dict[str, tuple[int, Any]],
) -> None:
    by_seq = {c["seq"]: c for c in log}
    for write in history.writes:
        if write.outcome != "ok":
            continue
        made = {value_id(c["value"]): c for c in committed.get(id(write), [])}
        for item in write.items:
            if item.value is None:
                change = by_seq.get(item.seq) if item.seq is not None else None
                if item.seq is not None and (change is None or change["op"] != "delete"):
                    report.lost += 1
                    report.fail("lost", f"acknowledged delete of {item.key} not at {item.seq}")
                continue
            change = made.get(value_id(item.value))
            if change is None:
                report.lost += 1
                report.fail(
                    "lost", f"acknowledged {write.op} {value_id(item.value)} not in the log"
                )
            elif item.seq is not None and change["seq"] != item.seq:
                report.lost += 1
                report.fail(
                    "lost",
                    f"{value_id(item.value)} acknowledged at {item.seq}, logged at {change['seq']}",
                )
    replayed: dict[str, tuple[int, Any]] = {}
    for change in log:
        if change["op"] == "put":
            replayed[change["key"]] = (change["rev"], change["value"])
        else:
            replayed.pop(change["key"], None)
    for key in sorted(set(replayed) | set(documents)):
        if replayed.get(key) != documents.get(key):
            report.lost += int(key in replayed)
            report.fail(
                "lost",
                f"{key}: the log says {replayed.get(key)}, the store holds {documents.get(key)}",
            )


def _writer_of(history: History) -> dict[str, Write]:
    return {vid: w for w in history.writes for i in w.items if (vid := value_id(i.value))}


def _check_conditional(
    report: Report, history: History, log: list[Change], committed: dict[int, list[Change]]
) -> None:
    by_key: dict[str, list[Change]] = defaultdict(list)
    for change in log:
        by_key[change["key"]].append(change)
    writer_of = _writer_of(history)
    for write in history.writes:
        for item in write.items:
            if item.if_match is None:
                continue
            key = str(item.key)
            changes = by_key.get(key, [])
            seqs = [c["seq"] for c in changes]
            if write.outcome == "ok":
                seq = item.seq
                if seq is None:
                    made = [c for c in committed.get(id(write), []) if c["key"] == key]
                    seq = made[0]["seq"] if made else None
                if seq is None or seq not in seqs:
                    continue  # a lost write: reported under `lost`
                at = seqs.index(seq)
                base = seqs[at - 1] if at else None
                if base != item.if_match:
                    report.fail(
                        "conditional",
                        f"{key}: write at {seq} was conditional on "
                        f"{item.if_match} but followed {base}",
                    )
            elif write.code == "precondition_failed":
                # Stale when the base was never this key's put, or some write invoked
                # before this one completed changed the key after the base.
                base = bisect_left(seqs, item.if_match)
                if base == len(seqs) or seqs[base] != item.if_match or changes[base]["op"] != "put":
                    continue
                later = changes[base + 1 :]
                if not any(
                    (w := writer_of.get(value_id(c["value"]) or "")) is None
                    or w.invoked <= write.completed
                    for c in later
                ):
                    report.fail(
                        "conditional",
                        f"{key}: If-Match {item.if_match} refused though it was the current rev",
                    )


def _check_delivery(report: Report, sub: Subscriber, log: list[Change]) -> None:
    report.subscribers += 1
    matching = [c for c in log if sub.matches(c)]
    seqs = [c["seq"] for c in matching]
    by_seq = {c["seq"]: c for c in matching}
    position: int | None = None
    delivered: set[int] = set()

    def missed(after: int, upto: int, inclusive: bool) -> None:
        end = bisect_right(seqs, upto) if inclusive else bisect_left(seqs, upto)
        gone = seqs[bisect_right(seqs, after) : end]
        if gone:
            report.missed += len(gone)
            report.fail(
                "delivery",
                f"{sub.name}: {len(gone)} changes after {after} never delivered, first {gone[:3]}",
            )

    for event in sub.events:
        if event.kind == "start":
            position = event.seq
        elif event.kind == "reset":
            position, delivered = None, set()
        elif event.kind == "end":
            if position is not None:
                missed(position, event.seq, inclusive=True)
        else:
            report.deliveries += 1
            change = by_seq.get(event.seq)
            if change is None or (change["key"], change["op"]) != (event.key, event.op):
                report.fail(
                    "delivery",
                    f"{sub.name}: delivery {event.seq} {event.key} "
                    f"{event.op} is not that change of the log (or not in its filter)",
                )
            if position is None:
                report.fail("delivery", f"{sub.name}: delivery {event.seq} outside a subscription")
                continue
            if event.seq <= position:
                if event.seq in delivered:
                    report.duplicated += 1
                    report.fail("delivery", f"{sub.name}: {event.seq} delivered twice")
                else:
                    report.reordered += 1
                    report.fail("delivery", f"{sub.name}: {event.seq} delivered after {position}")
                continue
            missed(position, event.seq, inclusive=False)
            delivered.add(event.seq)
            position = event.seq


def _check_reads(report: Report, history: History) -> None:
    last: dict[tuple[str, int], int] = {}
    for read in history.reads:
        key = (read.client, read.server)
        if read.seq < last.get(key, 0):
            report.fail("reads", f"{read.client} read seq {read.seq} after {last[key]}")
        last[key] = max(read.seq, last.get(key, 0))
