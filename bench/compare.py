"""Side-by-side results: one `Cell` per (workload, target, parameter, round), and medians.

A cell's `value` is its headline figure (operations or deliveries per second,
milliseconds, KiB per connection, ...; `UNITS` says which). A cell is void
when anything failed or was lost, or when the load generator was saturated
(then the figure is the generator's, not the server's); it is noisy when
other processes used a noticeable share of the machine during its window.
Medians, minimums and maximums are over the valid rounds (the median over all
rounds, and void, when none is); every round's figure and why a round was void
stay in the summary, so the report shows each one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from bench.measure import median

SATURATED_PCT = 90.0
SATURATED = "load generator saturated"  # a cell's void reason (Cell.void)
# kept per round: targets are judged on cpu_us_per_delivery; the slow commits (Levelstream's
# writer, `bench.rtgen.commits`) say which round's latency a disk flush held up
ROUND_EXTRAS = ("cpu_us_per_delivery", "commits_over_100ms")
NOISY_OTHER_PCT = 25.0

# workload -> (what `value` is, True when more is better)
UNITS: dict[str, tuple[str, bool]] = {
    "W1": ("creates/s", True),
    "W1u": ("updates/s", True),
    "W2": ("GET/s", True),
    "W2o": ("GET/s", True),
    "W3": ("range reads/s", True),
    "W4": ("p99 ms", False),
    "W4s": ("p99 ms", False),
    "W5": ("deliveries/s", True),
    "W5s": ("deliveries/s", True),
    "W6": ("KiB per connection", False),
    "W6a": ("connections accepted/s", True),
    "W7": ("changes/s", True),
    "W8": ("s to first 200", False),
}


@dataclass(slots=True)
class Cell:
    workload: str
    target: str
    param: str  # "64 conns", "1000 subs", "ws", "empty", ...
    round: int
    value: float | None
    p50_ms: float | None = None
    p99_ms: float | None = None
    errors: int = 0
    lost: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def void(self) -> str:
        """Why this cell's figure does not count ("" when it does)."""
        reasons = []
        if self.errors or self.lost:
            reasons.append(f"{self.errors} errors, {self.lost} lost")
        if float(self.extra.get("cpu_loadgen_pct") or 0) >= SATURATED_PCT:
            reasons.append(SATURATED)
        if self.value is None:
            reasons.append(str(self.extra.get("failure", "no figure")))
        return "; ".join(reasons)

    @property
    def noisy(self) -> bool:
        return float(self.extra.get("cpu_other_pct") or 0) > NOISY_OTHER_PCT

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "void": self.void, "noisy": self.noisy}


@dataclass(slots=True)
class Summary:
    """The median of one (workload, target, param) over its rounds."""

    workload: str
    target: str
    param: str
    value: float | None
    p50_ms: float | None
    p99_ms: float | None
    rounds: list[float | None]
    void: str
    noisy_rounds: int
    extra: dict[str, float]
    round_ids: list[int] = field(default_factory=list)
    round_void: list[str] = field(default_factory=list)  # per round: why void ("" = valid)
    min: float | None = None  # over the valid rounds
    max: float | None = None
    # per round, aligned with round_ids: p50 and the extras verdicts judge on
    p50_rounds: list[float | None] = field(default_factory=list)
    extra_rounds: dict[str, list[float | None]] = field(default_factory=dict)
    # the rounds the run was planned to measure this in (empty: every round it has); a
    # planned round without a cell (its phase failed) counts as void where it is judged
    planned_rounds: list[int] = field(default_factory=list)

    def judged_rounds(self) -> list[int]:
        return self.planned_rounds or self.round_ids

    @property
    def void_rounds(self) -> int:
        return sum(1 for v in self.round_void if v)

    def valid_by_round(self) -> dict[int, float]:
        return {
            r: v
            for r, v, why in zip(self.round_ids, self.rounds, self.round_void, strict=True)
            if not why and v is not None
        }

    def floor_by_round(self) -> dict[int, float]:
        """The rounds void only because the load generator saturated, with their figure:
        for a rate (more is better) what the generator could take, a floor under what the
        server can do. Never a round with errors or losses."""
        return {
            r: v
            for r, v, why in zip(self.round_ids, self.rounds, self.round_void, strict=True)
            if why == SATURATED and v is not None
        }

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _median_or_none(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(median(present), 4) if present else None


def summarize(cells: Sequence[Cell]) -> dict[tuple[str, str, str], Summary]:
    groups: dict[tuple[str, str, str], list[Cell]] = {}
    for cell in cells:
        groups.setdefault((cell.workload, cell.target, cell.param), []).append(cell)
    out = {}
    for key, group in groups.items():
        valid = [c for c in group if not c.void]
        use = valid or group
        numeric = sorted({k for c in use for k, v in c.extra.items() if isinstance(v, int | float)})
        good = [c.value for c in valid if c.value is not None]
        out[key] = Summary(
            workload=key[0],
            target=key[1],
            param=key[2],
            value=_median_or_none(c.value for c in use),
            p50_ms=_median_or_none(c.p50_ms for c in use),
            p99_ms=_median_or_none(c.p99_ms for c in use),
            rounds=[c.value for c in group],
            void="" if valid else (group[0].void or "void"),
            noisy_rounds=sum(1 for c in group if c.noisy),
            extra={
                k: round(median([float(c.extra[k]) for c in use if k in c.extra]), 2)
                for k in numeric
            },
            round_ids=[c.round for c in group],
            round_void=[c.void for c in group],
            min=min(good) if good else None,
            max=max(good) if good else None,
            p50_rounds=[c.p50_ms for c in group],
            extra_rounds={k: [c.extra.get(k) for c in group] for k in ROUND_EXTRAS if k in numeric},
        )
    return out


def get(
    summaries: dict[tuple[str, str, str], Summary], workload: str, target: str, param: str
) -> Summary | None:
    return summaries.get((workload, target, param))


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None
