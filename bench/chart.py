"""The PNG chart of suite `peers`: every issue-6 target as its margin (1.0 = the bar).

A margin is measured/bar when more is better, bar/measured when less is
better, so right of the line is MET whatever the unit. Needs matplotlib (the
`bench` extra): without it the chart is skipped, never the run.
"""

from __future__ import annotations

from pathlib import Path

from bench.verdicts import Verdict

COLORS = {"MET": "#2e7d32", "NOT MET": "#c62828", "VOID": "#9e9e9e"}


def _shown(v: Verdict) -> str:
    m = v.measured or 0.0
    if v.unit == "x":
        return f"{m:.2f}x"
    if abs(m) >= 1000:
        return f"{m:,.0f} {v.unit}"
    return f"{m:.3g} {v.unit}"


def draw(verdicts: list[Verdict], path: Path, title: str) -> Path | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import matplotlib.ticker
    except ImportError:
        return None
    rows = [v for v in verdicts if v.margin is not None]
    if not rows:
        return None
    height = 0.32 * len(rows) + 1.6
    fig, ax = plt.subplots(figsize=(11, height))
    labels = [f"{v.target} [{v.mode}]" for v in rows]
    margins = [max(v.margin or 0.0, 1e-3) for v in rows]
    ys = list(range(len(rows)))[::-1]
    ax.barh(ys, margins, color=[COLORS.get(v.status, "#9e9e9e") for v in rows], height=0.7)
    ax.axvline(1.0, color="black", linewidth=1)
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda x, _p: f"{x:g}"))
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_yticks(ys)
    ax.set_yticklabels(labels, fontsize=7)
    for y, v, m in zip(ys, rows, margins, strict=True):
        shown = _shown(v)
        ax.text(m * 1.03, y, f"{shown} ({v.status})", va="center", fontsize=6.5)
    lo, hi = min(margins), max(margins)
    ax.set_xlim(min(0.5, lo / 1.5), max(2.0, hi * 3))
    ax.set_xlabel("margin against the target (right of 1.0: met; log scale)")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path
