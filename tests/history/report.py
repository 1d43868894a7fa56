"""The reliability report: figures and pictures from recorded fault histories.

    python -m tests.history.report docs/reliability   (`make reliability-report`)

Reads `<dir>/data/*.json.gz` (kept by the fault tests when FAULT_HISTORY_DIR
is set, `Campaign.save`; `data/commit.txt` names the commit they ran on), draws
one PNG per fault (acknowledged writes and 503 answers per second, and write
latency, over time, the faults shaded) and rewrites the table between the
markers in `docs/reliability.md`.
"""

from __future__ import annotations

import gzip
import json
import statistics
import sys
from pathlib import Path
from typing import Any

from tests.history.campaign import slug

BUCKET_S = 0.5
BEGIN, END = "<!-- reliability-table -->", "<!-- /reliability-table -->"


# Table order: embedded faults, then cluster ones.
ORDER = ("kill -9", "power loss sync", "power loss async", "disk full", "stall")


def load(folder: Path) -> list[dict[str, Any]]:
    runs = [json.loads(gzip.decompress(p.read_bytes())) for p in folder.glob("*.json.gz")]

    def place(run: dict[str, Any]) -> tuple[int, str]:
        fault = run["fault"]
        return (ORDER.index(fault) if fault in ORDER else len(ORDER), fault)

    return sorted(runs, key=place)


def picture(run: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # Each write: invoked and completed (ms since the first write), outcome, status.
    writes = [(w[0] / 1000, w[1] / 1000, w[2], w[3]) for w in run["writes"]]
    acked = [(done, done - invoked) for invoked, done, outcome, _ in writes if outcome == "ok"]
    answered_503 = [
        (done, (done - invoked) * 1000)
        for invoked, done, outcome, status in writes
        if outcome != "ok" and status == 503
    ]
    end = max((w[1] for w in writes), default=1.0)
    buckets = int(end / BUCKET_S) + 1
    rate = [0.0] * buckets
    for done, _ in acked:
        rate[int(done / BUCKET_S)] += 1 / BUCKET_S
    refusals = [0.0] * buckets
    for done, _ in answered_503:
        refusals[int(done / BUCKET_S)] += 1 / BUCKET_S
    times = [i * BUCKET_S for i in range(buckets)]
    fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(9, 5), dpi=100)
    top.plot(times, rate, label="acknowledged writes/s", color="tab:blue")
    top.plot(times, refusals, label="503 unavailable/s", color="tab:red", alpha=0.6)
    top.set_ylabel("per second")
    top.legend(loc="upper right", fontsize=8)
    acked_ms = [lat * 1000 for _, lat in acked]
    bottom.scatter([d for d, _ in acked], acked_ms, s=2, color="tab:green", label="acked")
    bottom.scatter(
        [d for d, _ in answered_503],
        [lat for _, lat in answered_503],
        s=4,
        color="tab:red",
        label="503",
    )
    bottom.set_yscale("log")
    bottom.set_ylabel("write latency (ms)")
    bottom.legend(loc="upper right", fontsize=8)
    bottom.set_xlabel("seconds since the first write")
    marks = run["marks"]
    for (what, start), (_, stop) in zip(marks[::2], marks[1::2], strict=False):
        assert what == "fault"
        for axis in (top, bottom):
            axis.axvspan(start / 1000, stop / 1000, color="grey", alpha=0.25)
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
    if run.get("expect_loss"):  # `async` durability: losses are what it trades away
        verdict = "loses writes, as `async` may" if counts["lost"] else "no loss seen"
    return (
        f"| {run['fault']} | {verdict} | {run['rounds']} | {ops} ({writes.get('ok', 0)} acked, "
        f"{run['statuses'].get('503', 0) + run['statuses'].get('507', 0)} 503/507s to reads "
        f"and writes, {writes.get('unknown', 0)} unknown) | "
        f"{counts['deliveries']} | {counts['lost']} | {counts['duplicated']} | "
        f"{counts['reordered'] + counts['missed']} | "
        f"{statistics.median(recovered):.2f} / {max(recovered):.2f} s | "
        f"{run['slowest_s']:.2f} s |"
    )


def table(runs: list[dict[str, Any]], commit: str) -> str:
    lines = [
        f"Measured on commit `{commit}`.",
        "",
        "| fault | checker | rounds | writes | deliveries | lost | duplicated | "
        "reordered or missed | recovery (median / max) | slowest write |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *(row(run) for run in runs),
    ]
    return "\n".join(lines)


def main(folder: Path) -> None:
    data = folder / "data"
    runs = load(data)
    commit_file = data / "commit.txt"
    commit = commit_file.read_text().strip() if commit_file.exists() else "unknown"
    for run in runs:
        picture(run, folder / f"{slug(run['fault'])}.png")
    doc = folder.parent / "reliability.md"
    text = doc.read_text()
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    doc.write_text(f"{head}{BEGIN}\n{table(runs, commit)}\n{END}{tail}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/reliability"))
