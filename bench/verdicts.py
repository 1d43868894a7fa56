"""Issue 6's targets, judged on the medians of one run: MET / NOT MET, never an assertion.

Each check compares a Levelstream figure (in `sync` mode, as `make run` starts
it, and in `async` mode) with a peer's from the same run, or with an absolute
bar. A check whose figures are missing says NOT MEASURED, and one resting on
a void figure says VOID (lost deliveries, errors, a saturated load generator).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from bench.compare import Summary
from bench.measure import median

Summaries = dict[tuple[str, str, str], Summary]
# Issue 17 also asks sync's W4 p50 at 100 subs / 200 writes/s to be at most the seed's plus
# the measured fdatasync p50: reported in the table (W4 p50), not judged here (the suite does
# not measure fdatasync); async's half of that row is judged below.
MODES = (("ls-sync", "sync"), ("ls-async", "async"))


@dataclass(slots=True)
class Verdict:
    target: str  # what the issue asks, in words
    workload: str
    mode: str
    measured: float | None  # the WORST round (what the target is judged on)
    bar: float
    unit: str  # "x" (a ratio) or an absolute unit
    higher_is_better: bool
    status: str  # MET | NOT MET | NOT MEASURED | VOID
    note: str = ""
    issue: int = 6
    rounds: list[float | None] = field(default_factory=list)  # per round, None = void
    median: float | None = None
    param: str = ""  # the cell parameter ("64 conns", "1000 subs, 1 in flight", ...)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def margin(self) -> float | None:
        """>= 1 when met: measured/bar (higher is better) or bar/measured."""
        if self.measured is None or self.measured == 0:
            return None
        return self.measured / self.bar if self.higher_is_better else self.bar / self.measured


Pick = Callable[[Summary], dict[int, float]]


def by_round(s: Summary) -> dict[int, float]:
    return s.valid_by_round()


def extra_by_round(key: str) -> Pick:
    """A figure from the cells' extras (e.g. cpu_us_per_delivery), per valid round."""

    def pick(s: Summary) -> dict[int, float]:
        valid = s.valid_by_round()
        values = s.extra_rounds.get(key, [])
        return {r: v for r, v in zip(s.round_ids, values, strict=False) if r in valid and v}

    return pick


def p50_by_round(s: Summary) -> dict[int, float]:
    valid = s.valid_by_round()
    return {r: v for r, v in zip(s.round_ids, s.p50_rounds, strict=False) if r in valid and v}


def _judge_rounds(
    what: str,
    workload: str,
    mode: str,
    per_round: dict[int, float | None],
    bar: float,
    unit: str,
    higher: bool,
    used: list[Summary | None],
    issue: int,
    param: str = "",
    floors: dict[int, float] | None = None,
) -> Verdict:
    """MET only when every round is valid and the worst of them meets the bar.

    `floors` (more is better only): rounds void because the load generator saturated
    under our server, with the ratio measured there. That figure is a floor under the
    server's, so a floor at or above the bar meets it (as that round's figure); one below
    stays void, since the server might have met it with a faster generator."""
    per_round = dict(per_round)
    cleared = {
        r: f
        for r, f in (floors or {}).items()
        if higher and r in per_round and per_round[r] is None and f >= bar
    }
    per_round.update(cleared)
    ids = sorted(per_round)
    rounds = [per_round[r] for r in ids]
    valid = [v for v in rounds if v is not None]
    worst = (min(valid) if higher else max(valid)) if valid else None
    med = round(median(valid), 4) if valid else None
    void = [s for s in used if s is not None and s.void_rounds]
    if any(s is None for s in used) or not rounds:
        status, note = "NOT MEASURED", ""
    elif worst is None:
        status = "VOID"
        note = "; ".join(f"{s.target}/{s.param}: {s.void}" for s in void) or "no valid round"
    else:
        met = worst >= bar if higher else worst <= bar
        voids = sum(1 for v in rounds if v is None)
        if not met:
            status, note = "NOT MET", ""
        elif voids:
            status, note = "VOID", f"{voids} of {len(rounds)} rounds void, the others meet it"
        else:
            status, note = "MET", ""
        if voids and not met:
            note = f"{voids} of {len(rounds)} rounds void"
    if cleared and status in ("MET", "NOT MET"):
        names = ", ".join(f"round {r} ({cleared[r]:.2f})" for r in sorted(cleared))
        floor = f"a saturated load generator's floor, at or above the bar: {names}"
        note = "; ".join(filter(None, [note, floor]))
    noisy = [s for s in used if s is not None and s.noisy_rounds]
    if noisy and status in ("MET", "NOT MET"):
        names = ", ".join(f"{s.target}/{s.param}" for s in noisy)
        note = "; ".join(filter(None, [note, "noisy rounds: " + names]))
    rounded = [None if v is None else round(v, 4) for v in rounds]
    worst_r = None if worst is None else round(worst, 4)
    return Verdict(
        what, workload, mode, worst_r, bar, unit, higher, status, note, issue, rounded, med, param
    )


def _pair(
    mine: Summary | None, other: Summary | None, pick: Pick = by_round
) -> dict[int, float | None]:
    """mine/other per round (the two ran in the same round); None where either is void."""
    if mine is None or other is None:
        return {}
    a, b = pick(mine), pick(other)
    if mine.planned_rounds and other.planned_rounds:  # the rounds both were to run
        ids = set(mine.planned_rounds) & set(other.planned_rounds)
    else:
        ids = set(mine.round_ids) | set(other.round_ids)
    return {r: (a[r] / b[r] if r in a and r in b and b[r] else None) for r in ids}


def _vs(
    s: Summaries,
    workload: str,
    param: str,
    peer: str,
    bar: float,
    higher: bool,
    what: str,
    modes: tuple[tuple[str, str], ...] = MODES,
    issue: int = 6,
    peer_workload: str | None = None,
    pick: Pick = by_round,
) -> list[Verdict]:
    out = []
    other = s.get((peer_workload or workload, peer, param))
    for target, mode in modes:
        mine = s.get((workload, target, param))
        per = _pair(mine, other, pick)
        floors = _floors(mine, other, per) if higher and pick is by_round else None
        used = [mine, other]
        out.append(
            _judge_rounds(what, workload, mode, per, bar, "x", higher, used, issue, param, floors)
        )
    return out


def _floors(
    mine: Summary | None, other: Summary | None, per: dict[int, float | None]
) -> dict[int, float]:
    """mine/other for the paired rounds where only our figure is void, and only because
    the load generator saturated (`Summary.floor_by_round`); the peer's is valid."""
    if mine is None or other is None:
        return {}
    theirs = other.valid_by_round()
    return {
        r: v / theirs[r]
        for r, v in mine.floor_by_round().items()
        if r in per and per[r] is None and theirs.get(r)
    }


def _abs(
    s: Summaries,
    workload: str,
    param: str,
    bar: float,
    unit: str,
    what: str,
    pick: Pick = by_round,
    modes: tuple[tuple[str, str], ...] = MODES,
    issue: int = 6,
) -> list[Verdict]:
    out = []
    for target, mode in modes:
        mine = s.get((workload, target, param))
        per: dict[int, float | None] = {}
        if mine is not None:
            got = pick(mine)
            per = {r: got.get(r) for r in mine.judged_rounds()}
        out.append(_judge_rounds(what, workload, mode, per, bar, unit, False, [mine], issue, param))
    return out


# (target id, workload, param) -> whether the run was planned to measure it at all
Scope = Callable[[str, str, str], bool]


def judge(
    s: Summaries, idle_max: dict[str, Any] | None, big_docs: int, scope: Scope | None = None
) -> list[Verdict]:
    """Every verdict of issues 6 and 17; with `scope`, a mode the run was not planned to
    measure there (Levelstream async beyond the writes, say) is left out rather than shown
    as NOT MEASURED. A figure that was planned and is missing stays NOT MEASURED."""
    verdicts = issue6(s, idle_max, big_docs) + issue17(s)
    if scope is None:
        return verdicts
    target_of = {mode: target for target, mode in MODES}
    return [
        v
        for v in verdicts
        if v.status != "NOT MEASURED" or scope(target_of[v.mode], v.workload, v.param)
    ]


def issue6(s: Summaries, idle_max: dict[str, Any] | None, big_docs: int) -> list[Verdict]:
    v: list[Verdict] = []
    p64 = "64 conns"
    for verdict in _vs(s, "W1", p64, "seed", 1.0, True, "W1 PUT at least 1.0x the seed stack"):
        if verdict.mode == "sync":
            v.append(verdict)
    for verdict in _vs(s, "W1", p64, "seed", 1.5, True, "W1 PUT at least 1.5x the seed stack"):
        if verdict.mode == "async":
            v.append(verdict)
    v += _vs(s, "W2", p64, "seed", 1.5, True, "W2 GET at least 1.5x the seed stack")
    for n in (1, 100, 1000, 10_000):
        what = f"W4 p99 at most 0.8x the seed stack's, {n} subscribers"
        v += _vs(s, "W4", f"{n} subs", "seed", 0.8, False, what)
    for n in (1, 100):
        what = f"W4 p50 under 1 ms, {n} subscriber{'s' if n > 1 else ''}"
        v += _abs(s, "W4", f"{n} subs", 1.0, "ms", what, pick=p50_by_round)
    for n in (1000, 10_000):
        batched = f"{n} subs, 8 in flight"
        what = f"W5 at least 1.0x socket.io, {batched}"
        v += _vs(s, "W5", batched, "seed", 1.0, True, what)
        what = f"W5 at least 0.85x raw websockets broadcast, {batched}"
        v += _vs(s, "W5", batched, "raw-ws", 0.85, True, what)
        what = f"W5s at least 0.8x a plain Starlette stream, {batched}"
        v += _vs(s, "W5s", batched, "raw-sse", 0.8, True, what)
    sync_only = (("ls-sync", "sync"),)
    v += _abs(
        s, "W6", "ws", 15.0, "KiB", "W6 at most 15 KiB per idle WS connection", modes=sync_only
    )
    v += _abs(
        s, "W6", "sse", 20.0, "KiB", "W6 at most 20 KiB per idle SSE connection", modes=sync_only
    )
    what = "W6 100,000 idle WS connections held by one process"
    if idle_max:
        reached = float(idle_max["reached"])
        status = "MET" if reached >= 100_000 else "NOT MET"
        note = f"reached {reached:,.0f} of {idle_max['tried']:,}"
        if idle_max.get("server_fd_limit"):
            note += f"; the server's RLIMIT_NOFILE is {idle_max['server_fd_limit']:,}"
        v.append(Verdict(what, "W6", "sync", reached, 100_000, "conns", True, status, note))
    else:
        v.append(Verdict(what, "W6", "sync", None, 100_000, "conns", True, "NOT MEASURED"))
    for proto in ("ws", "sse"):
        what = f"W7 at least 75,000 changes/s to one resuming client ({proto.upper()})"
        for target, mode in MODES:
            mine = s.get(("W7", target, proto))
            per = {r: by_round(mine).get(r) for r in mine.round_ids} if mine else {}
            v.append(
                _judge_rounds(what, "W7", mode, per, 75_000, "changes/s", True, [mine], 6, proto)
            )
    v += _vs(s, "W8", "empty", "seed", 1.3, False, "W8 cold start at most 1.3x the seed stack's")
    if big_docs:
        big = f"{big_docs:,} docs"
        what = f"W8 cold start at most 1.3x the seed stack's, {big}"
        v += _vs(s, "W8", big, "seed", 1.3, False, what)
        what = f"W8 under 0.5 s extra with {big}"
        for target, mode in MODES:
            full, empty = s.get(("W8", target, big)), s.get(("W8", target, "empty"))
            a, b = (by_round(full), by_round(empty)) if full and empty else ({}, {})
            ids = sorted({*(full.round_ids if full else []), *(empty.round_ids if empty else [])})
            per = {r: (a[r] - b[r] if r in a and r in b else None) for r in ids}
            used = [full, empty]
            v.append(_judge_rounds(what, "W8", mode, per, 0.5, "s", False, used, 6, big))
    return v


def issue17(s: Summaries) -> list[Verdict]:
    """Issue 17's targets: PocketBase (pinned, GOMAXPROCS=1), the hard fan-out case, W2o,
    the accept rate and memory per connection; each on its worst round. Levelstream in its
    default durable `sync` mode, as the issue's table says, unless a row says otherwise."""
    v: list[Verdict] = []
    p64 = "64 conns"
    sync_only = (("ls-sync", "sync"),)

    def vs(*args: Any, **kw: Any) -> list[Verdict]:
        return _vs(s, *args, issue=17, **{"modes": sync_only, **kw})

    names = (("W1", "creates"), ("W1u", "updates"), ("W2", "GETs"), ("W3", "filtered lists"))
    for workload, name in names:
        v += vs(workload, p64, "pb", 1.0, True, f"{workload} {name} at least 1.0x PocketBase")
    for n in (1, 100, 1000):
        what = f"W4s p99 over SSE at most 1.0x PocketBase's, {n} subs"
        v += vs("W4s", f"{n} subs", "pb", 1.0, False, what)
    for n in (1000, 10_000):
        for window in (1, 8):
            param = f"{n} subs, {window} in flight"
            v += vs("W5s", param, "pb", 1.0, True, f"W5s at least 1.0x PocketBase, {param}")
        hard = f"{n} subs, 1 in flight"
        v += vs("W5", hard, "seed", 1.0, True, f"W5 at least 1.0x socket.io, {hard}")
        # On the paced cell: the closed loop's figure is void wherever the generator reaches
        # 90 % of its CPU, and the raw broadcast drives it there (docs/decisions.md).
        paced = f"{n} subs, 1 in flight, paced"
        what = f"W5 server CPU per delivery at most raw websockets', {paced}"
        v += vs("W5", paced, "raw-ws", 1.0, False, what, pick=extra_by_round("cpu_us_per_delivery"))
        what = f"W5s at least 0.8x a plain Starlette stream, {hard}"
        v += vs("W5s", hard, "raw-sse", 0.8, True, what)
    for target, mode in sync_only:  # the same server, W2o right after W2 in each round
        mine, plain = s.get(("W2o", target, p64)), s.get(("W2", target, p64))
        per = _pair(mine, plain)
        what = "W2o GET with an allowed Origin at least 0.9x W2"
        used = [mine, plain]
        v.append(_judge_rounds(what, "W2o", mode, per, 0.9, "x", True, used, 17, p64))
    what = "W4 p50 at most the seed's, 100 subs at 200 writes/s"
    async_only = (("ls-async", "async"),)
    v += vs("W4", "100 subs", "seed", 1.0, False, what, modes=async_only, pick=p50_by_round)
    what = "W6 WS connections accepted/s at least 1.0x the seed's"
    v += vs("W6a", "ws", "seed", 1.0, True, what)
    what = "W6 SSE connections accepted/s at least 1.0x PocketBase's"
    v += vs("W6a", "sse", "pb", 1.0, True, what)
    what = "W6 KiB per idle SSE connection at most PocketBase's"
    v += vs("W6", "sse", "pb", 1.0, False, what)
    v += _abs(
        s,
        "W6",
        "ws",
        12.0,
        "KiB",
        "W6 at most 12 KiB per idle WS connection",
        modes=sync_only,
        issue=17,
    )
    return v


class _Reads(dict[tuple[str, str, str], Summary]):
    """Empty summaries that note every cell a verdict asks for."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: set[tuple[str, str, str]] = set()

    def get(self, key: tuple[str, str, str], default: Any = None) -> Any:
        self.asked.add(key)
        return default


def judged_cells() -> frozenset[tuple[str, str, str]]:
    """The cells (workload, target, param) issue 17's targets are judged on: what the suite
    runs in every round (each target on its worst round). W6a comes with W6's ramp."""
    reads = _Reads()
    issue17(reads)
    judged = {("W6" if w == "W6a" else w, t, p) for w, t, p in reads.asked}
    return frozenset(judged | set(COMPARED_BY_HAND))


# The sync half of issue 17's W4 row (p50 at most the seed's plus the fdatasync p50) is read
# off the table, not judged here: its cells run every round like the judged ones.
COMPARED_BY_HAND = (("W4", "ls-sync", "100 subs"), ("W4", "seed", "100 subs"))
