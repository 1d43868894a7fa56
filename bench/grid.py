"""The shape every throughput suite shares: variants x client counts x rounds.

`run_grid` runs the cells round by round (so slow drift of the machine hits
every variant alike), keeps going when one variant breaks (its later cells
are skipped and the failure is reported), and `aggregate` reduces the rounds
to medians. Suites only say what a variant is and how to run one cell.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bench import report
from bench.config import Profile
from bench.measure import Sample, machine_busy_seconds, median

SATURATED_PCT = 90.0
# Other processes using more than this (% of one core) during a window make it "noisy".
NOISY_OTHER_PCT = 25.0


@dataclass(frozen=True, slots=True)
class Variant:
    id: str
    label: str
    kind: str
    params: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "label": self.label, "kind": self.kind, **self.params}


@dataclass(frozen=True, slots=True)
class RatioSpec:
    key: str
    label: str
    numerator: str  # variant id
    denominator: str


RunCell = Callable[[Variant, int, int], Sample]  # (variant, clients, round) -> sample


def wait_for_quiet(max_wait_s: float, step_s: float = 0.5) -> float:
    """Wait (up to `max_wait_s`) until the machine is nearly idle; returns the seconds waited."""
    waited = 0.0
    while waited < max_wait_s:
        busy = machine_busy_seconds()
        time.sleep(step_s)
        waited += step_s
        if 100 * (machine_busy_seconds() - busy) / step_s <= NOISY_OTHER_PCT:
            break
    return waited


def run_grid(
    profile: Profile, variants: Sequence[Variant], run_cell: RunCell
) -> tuple[list[Sample], dict[str, dict[str, str]]]:
    samples: list[Sample] = []
    failures: dict[str, dict[str, str]] = {}  # variant id -> what went wrong
    for rnd in range(1, profile.rounds + 1):
        for variant in variants:
            for n in profile.clients:
                if variant.id in failures:
                    break
                if profile.quiet_wait_s > 0:
                    wait_for_quiet(profile.quiet_wait_s)
                try:
                    sample = run_cell(variant, n, rnd)
                except Exception as exc:  # one broken target must not sink the others
                    failures[variant.id] = failure(exc, f"{n} clients, round {rnd}")
                    print(f"  {variant.id} FAILED: {exc}", file=sys.stderr, flush=True)
                    continue
                progress(sample)
                samples.append(sample)
    return samples, failures


def failure(exc: Exception, cell: str) -> dict[str, str]:
    text = str(exc) or repr(exc)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    summary = f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
    if len(lines) > 1:  # a server's log tail: its last line is the error
        summary += f" ... {lines[-1]}"
    return {"cell": cell, "summary": summary[:300], "error": text[-4000:]}


def progress(sample: Sample) -> None:
    cpu = ", ".join(f"{k[4:-4]} {v:.0f}%" for k, v in sample.extra.items() if k.startswith("cpu_"))
    group = f", group {sample.extra['mean_group']:.1f}" if "mean_group" in sample.extra else ""
    flags = f"  ERRORS {sample.errors} LOST {sample.lost}" if sample.errors or sample.lost else ""
    print(
        f"  r{sample.round} {sample.variant:<13} {sample.clients:>3} clients: "
        f"{sample.rate:>10,.0f}/s  p50 {report.ms(sample.p50_ms)} ms  "
        f"p99 {report.ms(sample.p99_ms)} ms  cpu {cpu}{group}{flags}",
        file=sys.stderr,
        flush=True,
    )


def aggregate(
    samples: Sequence[Sample], variants: Sequence[Variant], clients: Sequence[int]
) -> dict[str, dict[int, Any]]:
    """Per variant and client count: the median rate over rounds, and medians of the rest."""
    out: dict[str, dict[int, Any]] = {}
    for variant in variants:
        out[variant.id] = {}
        for n in clients:
            cell = [s for s in samples if s.variant == variant.id and s.clients == n]
            if not cell:
                continue
            extras = sorted({k for s in cell for k in s.extra})
            out[variant.id][n] = {
                "ops_per_s": round(median([s.rate for s in cell]), 1),
                "rounds": [round(s.rate, 1) for s in cell],
                "p50_ms": _median_of(cell, "p50_ms"),
                "p99_ms": _median_of(cell, "p99_ms"),
                "errors": sum(s.errors for s in cell),
                "lost": None if cell[0].lost is None else sum(s.lost or 0 for s in cell),
                **{k: round(median([s.extra[k] for s in cell if k in s.extra]), 2) for k in extras},
            }
    return out


def _median_of(cell: Sequence[Sample], attr: str) -> float | None:
    values = [getattr(s, attr) for s in cell if getattr(s, attr) is not None]
    return round(median(values), 3) if values else None


def ratios(
    results: dict[str, dict[int, Any]], specs: Sequence[RatioSpec], clients: Sequence[int]
) -> dict[str, dict[int, float | None]]:
    out: dict[str, dict[int, float | None]] = {}
    for spec in specs:
        out[spec.key] = {}
        for n in clients:
            a = results.get(spec.numerator, {}).get(n, {}).get("ops_per_s")
            b = results.get(spec.denominator, {}).get(n, {}).get("ops_per_s")
            out[spec.key][n] = round(a / b, 3) if a and b else None
    return out


# --- markdown ---------------------------------------------------------------


def rate_table(data: dict[str, Any], unit: str = "") -> str:
    clients = data["profile"]["clients"]
    heads = ["variant", *[f"{n} client{'s' if n > 1 else ''}" for n in clients]]
    rows = []
    for v in data["variants"]:
        cells = []
        for n in clients:
            cell = data["results"].get(v["id"], {}).get(n)
            if cell is not None:
                cells.append(report.rate(cell["ops_per_s"]))
            else:
                cells.append("failed" if v["id"] in data["failures"] else "-")
        rows.append([f"{v['label']} (`{v['id']}`)", *cells])
    lines = [report.table(heads, rows)]
    for variant_id, what in data["failures"].items():
        lines.append(
            f"\n- `{variant_id}` failed at {what['cell']}: {what['summary']} "
            "(its remaining cells were skipped; the full error is in the JSON)"
        )
    return "\n".join(lines)


def ratio_table(data: dict[str, Any], specs: Sequence[RatioSpec]) -> str:
    clients = data["profile"]["clients"]
    heads = ["ratio", *[f"{n} client{'s' if n > 1 else ''}" for n in clients]]
    rows = [
        [spec.label, *[report.ratio(data["ratios"][spec.key].get(n)) for n in clients]]
        for spec in specs
    ]
    return report.table(heads, rows)


def details_table(data: dict[str, Any], rate_head: str = "ops/s") -> str:
    """Every cell's medians: rate, latency, group size, CPU, and whether it is valid."""
    rows = []
    for v in data["variants"]:
        for n in data["profile"]["clients"]:
            cell = data["results"].get(v["id"], {}).get(n)
            if not cell:
                continue
            names = sorted(k for k in cell if k.startswith("cpu_") and k != "cpu_other_pct")
            if "cpu_other_pct" in cell:
                names.append("cpu_other_pct")
            cpu = " / ".join(f"{k[4:-4]} {cell[k]:.0f}" for k in names)
            notes = []
            if cell["errors"] or cell["lost"]:
                notes.append(f"VOID: {cell['errors']} errors, {cell['lost']} lost")
            if cell.get("cpu_loadgen_pct", 0) >= SATURATED_PCT:
                notes.append("load generator saturated")
            if cell.get("cpu_other_pct", 0) > NOISY_OTHER_PCT:
                notes.append("noisy")
            rows.append(
                [
                    v["id"],
                    str(n),
                    report.rate(cell["ops_per_s"]),
                    report.ms(cell["p50_ms"]),
                    report.ms(cell["p99_ms"]),
                    report.rate(cell["mean_group"]) if "mean_group" in cell else "-",
                    cpu,
                    "; ".join(notes) or "ok",
                ]
            )
    heads = ["variant", "clients", rate_head, "p50 ms", "p99 ms", "txs/group", "CPU %", "check"]
    return report.table(heads, rows, "lrrrrrll")


def noisy_cells(data: dict[str, Any]) -> list[str]:
    """Cells during which other processes used a noticeable share of the machine."""
    out = []
    for variant_id, cells in data["results"].items():
        for n, cell in cells.items():
            if cell.get("cpu_other_pct", 0) > NOISY_OTHER_PCT:
                out.append(f"{variant_id}/{n}")
    return out
