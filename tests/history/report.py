"""The reliability report: figures and pictures from recorded fault histories.

    python -m tests.history.report docs/reliability   (`make reliability-report`)

Reads `<dir>/data/*.json` (kept by the fault tests when FAULT_HISTORY_DIR is
set; `data/commit.txt` names the commit they ran on), draws one PNG per fault
(acknowledged writes per second and write latency over time, the faults
shaded) and rewrites the table between the markers in `docs/reliability.md`.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path
from typing import Any

BUCKET_S = 0.5
BEGIN, END = "<!-- reliability-table -->", "<!-- /reliability-table -->"


def load(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]


def picture(run: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    acked = [(w[2], w[2] - w[1]) for w in run["writes"] if w[3] == "ok"]
    refused = [w[2] for w in run["writes"] if w[3] != "ok" and w[4] == 503]
    end = max((w[2] for w in run["writes"]), default=1.0)
    buckets = int(end / BUCKET_S) + 1
    rate = [0.0] * buckets
    for done, _ in acked:
        rate[int(done / BUCKET_S)] += 1 / BUCKET_S
    refusals = [0.0] * buckets
    for done in refused:
        refusals[int(done / BUCKET_S)] += 1 / BUCKET_S
    times = [i * BUCKET_S for i in range(buckets)]
    fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(9, 5), dpi=100)
    top.plot(times, rate, label="acknowledged writes/s", color="tab:blue")
    top.plot(times, refusals, label="503 unavailable/s", color="tab:red", alpha=0.6)
    top.set_ylabel("per second")
    top.legend(loc="upper right", fontsize=8)
    bottom.scatter([d for d, _ in acked], [lat * 1000 for _, lat in acked], s=2, color="tab:green")
    bottom.set_yscale("log")
    bottom.set_ylabel("write latency (ms)")
    bottom.set_xlabel("seconds since the first write")
    marks = run["marks"]
    for (what, start), (_, stop) in zip(marks[::2], marks[1::2], strict=False):
        assert what == "fault"
        for axis in (top, bottom):
            axis.axvspan(start, stop, color="grey", alpha=0.25)
    fig.suptitle(f"{run['fault']} ({run['rounds']} rounds; fault shaded)")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def row(run: dict[str, Any]) -> str:
    counts = run["counts"]
    writes = counts["writes"]
    ops = sum(writes.values())
    recovered = run["recovered_s"]
    verdict = "ok" if counts["ok"] else "VIOLATED"
    return (
        f"| {run['fault']} | {verdict} | {run['rounds']} | {ops} ({writes.get('ok', 0)} acked, "
        f"{run['statuses'].get('503', 0)} 503s to reads and writes, "
        f"{writes.get('unknown', 0)} unknown) | "
        f"{counts['deliveries']} | {counts['lost']} | {counts['duplicated']} | "
        f"{counts['reordered'] + counts['missed']} | "
        f"{statistics.median(recovered):.2f} / {max(recovered):.2f} s |"
    )


def table(runs: list[dict[str, Any]], commit: str) -> str:
    lines = [
        f"Measured on commit `{commit}`.",
        "",
        "| fault | checker | rounds | writes | deliveries | lost | duplicated | "
        "reordered or missed | recovery (median / max) |",
        "|---|---|---|---|---|---|---|---|---|",
        *(row(run) for run in runs),
    ]
    return "\n".join(lines)


def main(folder: Path) -> None:
    data = folder / "data"
    runs = load(data)
    commit_file = data / "commit.txt"
    commit = commit_file.read_text().strip() if commit_file.exists() else "unknown"
    for run in runs:
        picture(run, folder / f"{run['fault'].replace(' ', '-')}.png")
    doc = folder.parent / "reliability.md"
    text = doc.read_text()
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    doc.write_text(f"{head}{BEGIN}\n{table(runs, commit)}\n{END}{tail}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/reliability"))
