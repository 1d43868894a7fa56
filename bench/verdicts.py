"""Issue 6's targets, judged on the medians of one run: MET / NOT MET, never an assertion.

Each check compares a Levelstream figure (in `sync` mode, as `make run` starts
it, and in `async` mode) with a peer's from the same run, or with an absolute
bar. A check whose figures are missing says NOT MEASURED, and one resting on
a void figure says VOID (lost deliveries, errors, a saturated load generator).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from bench.compare import Summary, ratio

Summaries = dict[tuple[str, str, str], Summary]
MODES = (("ls-sync", "sync"), ("ls-async", "async"))


@dataclass(slots=True)
class Verdict:
    target: str  # what the issue asks, in words
    workload: str
    mode: str
    measured: float | None
    bar: float
    unit: str  # "x" (a ratio) or an absolute unit
    higher_is_better: bool
    status: str  # MET | NOT MET | NOT MEASURED | VOID
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def margin(self) -> float | None:
        """>= 1 when met: measured/bar (higher is better) or bar/measured."""
        if self.measured is None or self.measured == 0:
            return None
        return self.measured / self.bar if self.higher_is_better else self.bar / self.measured


def _judge(
    target: str,
    workload: str,
    mode: str,
    measured: float | None,
    bar: float,
    unit: str,
    higher: bool,
    used: list[Summary | None],
) -> Verdict:
    void = [s for s in used if s is not None and s.void]
    if measured is None or any(s is None for s in used):
        status, note = "NOT MEASURED", ""
    elif void:
        status, note = "VOID", "; ".join(f"{s.target}/{s.param}: {s.void}" for s in void)
    else:
        met = measured >= bar if higher else measured <= bar
        status, note = ("MET" if met else "NOT MET"), ""
    noisy = [s for s in used if s is not None and s.noisy_rounds]
    if noisy and status in ("MET", "NOT MET"):
        note = "noisy rounds: " + ", ".join(f"{s.target}/{s.param}" for s in noisy)
    return Verdict(target, workload, mode, measured, bar, unit, higher, status, note)


def _vs(
    s: Summaries, workload: str, param: str, peer: str, bar: float, higher: bool, what: str
) -> list[Verdict]:
    out = []
    other = s.get((workload, peer, param))
    for target, mode in MODES:
        mine = s.get((workload, target, param))
        value = ratio(mine.value if mine else None, other.value if other else None)
        out.append(_judge(what, workload, mode, value, bar, "x", higher, [mine, other]))
    return out


def _abs(
    s: Summaries,
    workload: str,
    param: str,
    bar: float,
    unit: str,
    what: str,
    pick: Callable[[Summary], float | None] = lambda x: x.value,
    modes: tuple[tuple[str, str], ...] = MODES,
) -> list[Verdict]:
    out = []
    for target, mode in modes:
        mine = s.get((workload, target, param))
        value = pick(mine) if mine else None
        out.append(_judge(what, workload, mode, value, bar, unit, False, [mine]))
    return out


def judge(s: Summaries, idle_max: dict[str, Any] | None, big_docs: int) -> list[Verdict]:
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
        v += _abs(s, "W4", f"{n} subs", 1.0, "ms", what, pick=lambda x: x.p50_ms)
    for n in (1000, 10_000):
        v += _vs(s, "W5", f"{n} subs", "seed", 1.0, True, f"W5 at least 1.0x socket.io, {n} subs")
        what = f"W5 at least 0.85x raw websockets broadcast, {n} subs"
        v += _vs(s, "W5", f"{n} subs", "raw-ws", 0.85, True, what)
        what = f"W5s at least 0.8x a plain Starlette stream, {n} subs"
        v += _vs(s, "W5s", f"{n} subs", "raw-sse", 0.8, True, what)
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
            value = mine.value if mine else None
            v.append(_judge(what, "W7", mode, value, 75_000, "changes/s", True, [mine]))
    v += _vs(s, "W8", "empty", "seed", 1.3, False, "W8 cold start at most 1.3x the seed stack's")
    if big_docs:
        big = f"{big_docs:,} docs"
        what = f"W8 cold start at most 1.3x the seed stack's, {big}"
        v += _vs(s, "W8", big, "seed", 1.3, False, what)
        what = f"W8 under 0.5 s extra with {big}"
        for target, mode in MODES:
            full, empty = s.get(("W8", target, big)), s.get(("W8", target, "empty"))
            extra = (
                round(full.value - empty.value, 4)
                if full and empty and full.value is not None and empty.value is not None
                else None
            )
            v.append(_judge(what, "W8", mode, extra, 0.5, "s", False, [full, empty]))
    return v
