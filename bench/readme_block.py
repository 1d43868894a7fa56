"""The README's headline figures, rendered from a results file of suite `peers`.

`python -m bench.readme_block [results.json] [--check]` rewrites the block
between the markers in README.md (`make bench-readme`); with `--check` it only
says whether the block is what the results render (a test runs that). The
figures are medians over the valid rounds with the worst round beside them,
and the block says what they were measured under: commit, writes in flight,
durability mode, profile and rounds.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from bench import report

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
RESULTS = ROOT / "bench" / "results" / "peers.json"
START = "<!-- bench-readme:start (make bench-readme writes this block from bench/results) -->"
END = "<!-- bench-readme:end -->"

# (workload, param, what it is); a param of a fan-out names the writes in flight when the
# results do (older files ran 8 in flight only and say "1000 subs").
ROWS = (
    ("W1", "64 conns", "creates/s (PUT of a new key), 64 connections"),
    ("W1u", "64 conns", "updates/s, 64 connections"),
    ("W2", "64 conns", "GETs/s, 64 connections"),
    ("W2o", "64 conns", "GETs/s with a browser's Origin, 64 connections"),
    ("W3", "64 conns", "100-document range reads/s"),
    ("W5", "1000 subs, 1 in flight", "WS deliveries/s, 1,000 subs, 1 write in flight"),
    ("W5", "10000 subs, 1 in flight", "WS deliveries/s, 10,000 subs, 1 write in flight"),
    ("W5", "1000 subs, 8 in flight", "WS deliveries/s, 1,000 subs, 8 writes in flight"),
    ("W5", "10000 subs, 8 in flight", "WS deliveries/s, 10,000 subs, 8 writes in flight"),
    ("W5", "1000 subs", "WS deliveries/s, 1,000 subs, 8 writes in flight"),
    ("W5", "10000 subs", "WS deliveries/s, 10,000 subs, 8 writes in flight"),
    ("W5s", "1000 subs, 1 in flight", "SSE deliveries/s, 1,000 subs, 1 write in flight"),
    ("W5s", "1000 subs, 8 in flight", "SSE deliveries/s, 1,000 subs, 8 writes in flight"),
    ("W6", "ws", "KiB per idle WebSocket connection"),
    ("W6", "sse", "KiB per idle SSE connection"),
    ("W6a", "ws", "WebSocket connections accepted/s"),
    ("W7", "ws", "changes/s to a resuming WebSocket client"),
)
PEERS = (("seed", "seed stack (express + level + socket.io)"), ("pb", "PocketBase, 1 CPU"))


def _num(workload: str, value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}" if workload == "W6" else report.rate(value)


def _worst(s: dict[str, Any], higher: bool) -> float | None:
    whys = s.get("round_void") or [""] * len(s["rounds"])
    valid = [r for r, why in zip(s["rounds"], whys, strict=False) if r is not None and not why]
    if not valid:
        return None
    return min(valid) if higher else max(valid)


def render(data: dict[str, Any]) -> str:
    by = {(s["workload"], s["target"], s["param"]): s for s in data["summaries"]}
    machine, plan, profile = data["machine"], data["plan"], data["profile"]
    heads = ["figure", "Levelstream sync: median (worst round)"]
    heads += [name for tid, name in PEERS if any(k[1] == tid for k in by)]
    peers = [tid for tid, _ in PEERS if any(k[1] == tid for k in by)]
    rows = []
    for workload, param, what in ROWS:
        mine = by.get((workload, "ls-sync", param))
        if mine is None or mine["value"] is None or mine["void"]:
            continue
        higher = workload != "W6"
        cell = f"{_num(workload, mine['value'])} ({_num(workload, _worst(mine, higher))})"
        row = [what, cell]
        for tid in peers:
            other = by.get((workload, tid, param))
            if other is None or other["void"] or not other["value"]:
                row.append("-")
            else:
                ratio = mine["value"] / other["value"]
                row.append(f"{_num(workload, other['value'])} ({ratio:.2f}x)")
        rows.append(row)
    windows = plan.get("fanout_windows") or [plan.get("fanout_window")]
    lines = [
        START,
        f"Measured by `make bench-peers` ({profile['name']} profile, {plan['rounds']} "
        f"interleaved rounds, {machine.get('when', '?')}) at {report.measured_code(machine)}. "
        f"Each server pinned to one CPU of {machine['cpus']}, the load generators "
        "on the other; Levelstream in its default durable `sync` mode (fsync before every "
        "acknowledgement); fan-out keeps "
        + " or ".join(str(w) for w in windows)
        + " writes in flight as the row says. A peer's cell: its median (Levelstream's "
        "median / its). Every round, the targets met or not and why: "
        "`bench/results/peers.md`, `docs/performance.md`.",
        "",
        report.table(heads, rows),
        "",
        targets_text(data.get("verdicts") or []),
        END,
    ]
    return "\n".join(lines)


def targets_text(verdicts: list[dict[str, Any]]) -> str:
    """Issue 17's targets in this run: how many met, and each one not met."""
    judged = [v for v in verdicts if v.get("issue") == 17]
    if not judged:
        return "Issue 17's targets: not judged in this run."
    missed = [v for v in judged if v["status"] != "MET"]
    met = len(judged) - len(missed)
    text = f"Issue 17's targets, each judged on its worst round: {met} of {len(judged)} met"
    if not missed:
        return text + "."
    shown = []
    for v in missed:
        worst = v["measured"]
        value = (
            "no valid round"
            if worst is None
            else f"{worst:.3g}{v['unit'] if v['unit'] == 'x' else ' ' + v['unit']}"
        )
        shown.append(f"{v['status']}: {v['target']} [{v['mode']}] (worst round {value})")
    return text + "; " + "; ".join(shown) + " (why: `docs/performance.md`)."


def splice(readme: str, block: str) -> str:
    start, end = readme.find(START), readme.find(END)
    if start < 0 or end < start:
        raise SystemExit(f"README.md has no block between {START!r} and {END!r}")
    return readme[:start] + block + readme[end + len(END) :]


def current(readme: str) -> str:
    start, end = readme.find(START), readme.find(END)
    return readme[start : end + len(END)] if 0 <= start < end else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.readme_block", description=__doc__)
    parser.add_argument("results", nargs="?", type=Path, default=RESULTS)
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 on a diff")
    args = parser.parse_args(argv)
    block = render(json.loads(args.results.read_text()))
    readme = README.read_text()
    if args.check:
        if current(readme) != block:
            print("README.md's figures differ from the results: run `make bench-readme`")
            return 1
        return 0
    README.write_text(splice(readme, block))
    print(f"README.md: block rewritten from {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
