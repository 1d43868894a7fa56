"""Suite `peers` as markdown: the side-by-side table, the targets, the details."""

from __future__ import annotations

from typing import Any

from bench import report
from bench.compare import NOISY_OTHER_PCT, SATURATED_PCT, UNITS

COLUMNS = ("ls-sync", "ls-async", "seed", "pb", "pb-2core")
CEILING = {
    "W1": "raw-asgi",
    "W2": "raw-asgi",
    "W3": "raw-asgi",
    "W4": "raw-ws",
    "W4s": "raw-sse",
    "W5": "raw-ws",
    "W5s": "raw-sse",
    "W6:ws": "raw-ws",
    "W6:sse": "raw-sse",
    "W6a:ws": "raw-ws",
    "W6a:sse": "raw-sse",
}
TITLES = {
    "W1": "W1 create",
    "W1u": "W1 update",
    "W2": "W2 GET",
    "W2o": "W2o GET with Origin",
    "W3": "W3 range (100 docs)",
    "W4": "W4 write-to-delivery, p50 / p99",
    "W4s": "W4s write-to-delivery over SSE, p50 / p99",
    "W5": "W5 fan-out, WS",
    "W5s": "W5s fan-out, SSE",
    "W6": "W6 memory per idle conn",
    "W6a": "W6 connections accepted",
    "W7": "W7 catch-up of a resume",
    "W8": "W8 cold start to first 200",
}


def _one(value: float, workload: str) -> str:
    if workload == "W8":
        return f"{value:.3f} s"
    if workload == "W6":
        return f"{value:.1f} KiB"
    if workload in ("W4", "W4s"):
        return report.ms(value)
    return report.rate(value)


def _fmt(summary: dict[str, Any] | None, workload: str) -> str:
    """The median, then [min-max] over the valid rounds and how many rounds were void."""
    if summary is None:
        return "-"
    value = summary["value"]
    if summary["void"]:
        return "VOID"
    if value is None:
        return "-"
    if workload in ("W4", "W4s"):
        text = f"{report.ms(summary['p50_ms'])} / {report.ms(summary['p99_ms'])} ms"
    else:
        text = _one(value, workload)
    lo, hi = summary.get("min"), summary.get("max")
    if lo is not None and hi is not None and len(summary["rounds"]) > 1:
        text += f" [{_one(lo, workload)}-{_one(hi, workload)}]"
    voids = sum(1 for why in summary.get("round_void", []) if why)
    if voids:
        text += f" ({voids} void)"
    return text + ("*" if summary["noisy_rounds"] else "")


def _ratio(a: dict[str, Any] | None, b: dict[str, Any] | None) -> str:
    if not a or not b or a["void"] or b["void"] or not a["value"] or not b["value"]:
        return "-"
    return report.ratio(a["value"] / b["value"])


def paced_text(plan: dict[str, Any]) -> str:
    """W5's paced cell, where the server's CPU per delivery is judged (older files: none)."""
    paced = plan.get("fanout_paced") or {}
    if not paced:
        return ""
    rates = ", ".join(f"{float(r):g}/s at {int(n):,} subs" for n, r in paced.items())
    return (
        f"; W5 paced: 1 in flight at most {rates}, the generator well under its limit "
        "(server CPU per delivery is judged there)"
    )


def accept_window_text(plan: dict[str, Any]) -> str:
    """W6's accept-rate window where it is judged (older files: none)."""
    window = plan.get("accept_window_s")
    if not window:
        return ""
    return (
        f"; W6 accepts/s where judged: the 9,000 connects made again (the previous ones "
        f"aborted) until the ramps took at least {float(window):g} s together, the rate "
        "over all of them"
    )


def side_by_side(data: dict[str, Any]) -> str:
    by_key = {(s["workload"], s["target"], s["param"]): s for s in data["summaries"]}
    rows = []
    seen: list[tuple[str, str]] = []
    for s in data["summaries"]:
        if (s["workload"], s["param"]) not in seen:
            seen.append((s["workload"], s["param"]))
    order = list(UNITS)
    seen.sort(key=lambda wp: (order.index(wp[0]), _param_order(wp[1])))
    for workload, param in seen:
        ceiling_id = CEILING.get(f"{workload}:{param}", CEILING.get(workload, ""))
        cells = {t: by_key.get((workload, t, param)) for t in (*COLUMNS, ceiling_id, "plyvel")}
        unit = UNITS[workload][0]
        rows.append(
            [
                f"{TITLES[workload]}, {param}",
                unit,
                *[_fmt(cells[t], workload) for t in COLUMNS],
                _fmt(cells[ceiling_id], workload)
                + (f" ({ceiling_id})" if cells[ceiling_id] else ""),
                _fmt(cells["plyvel"], workload),
                _ratio(cells["ls-sync"], cells["seed"]),
                _ratio(cells["ls-async"], cells["seed"]),
                _ratio(cells["ls-sync"], cells["pb"]),
                _ratio(cells["ls-sync"], cells[ceiling_id]),
            ]
        )
    heads = [
        "workload",
        "unit",
        "Levelstream sync",
        "Levelstream async",
        "seed stack",
        "PocketBase, 1 CPU (GOMAXPROCS=1)",
        "PocketBase, both CPUs (unpinned; shares the generator's)",
        "ceiling",
        "raw plyvel",
        "sync / seed",
        "async / seed",
        "sync / PocketBase 1 CPU",
        "sync / ceiling",
    ]
    return report.table(heads, rows, "llrrrrrrrrrrr")


def _param_order(param: str) -> tuple[int, str]:
    digits = "".join(ch for ch in param.split()[0] if ch.isdigit())
    return (int(digits) if digits else -1, param)


def verdict_list(data: dict[str, Any], issue: int = 6) -> str:
    lines = []
    for v in data["verdicts"]:
        if v.get("issue", 6) != issue:
            continue
        measured = v["measured"]
        if measured is None:
            shown = "-"
        elif v["unit"] == "x":
            shown = report.ratio(measured)
        elif v["unit"] in ("ms", "s", "KiB"):
            shown = f"{measured:.3g} {v['unit']}"
        else:
            shown = f"{measured:,.0f} {v['unit']}"
        op = ">=" if v["higher_is_better"] else "<="
        bar = f"{v['bar']:g}{'x' if v['unit'] == 'x' else ' ' + v['unit']}"
        note = f" ({v['note']})" if v["note"] else ""
        rounds = v.get("rounds") or []
        per = (
            " over rounds " + ", ".join("void" if r is None else f"{r:.3g}" for r in rounds)
            if len(rounds) > 1
            else ""
        )
        lines.append(
            f"- **{v['status']}** {v['target']} [{v['mode']}]: worst round {shown}{per} "
            f"(bar {op} {bar}){note}"
        )
    return "\n".join(lines)


def details(data: dict[str, Any]) -> str:
    rows = []
    for s in data["summaries"]:
        e = s["extra"]
        cpu = " / ".join(
            f"{name} {e[key]:.0f}"
            for name, key in (
                ("server", "cpu_server_pct"),
                ("loadgen", "cpu_loadgen_pct"),
                ("other", "cpu_other_pct"),
            )
            if key in e
        )
        whys = s.get("round_void") or [""] * len(s["rounds"])
        rounds = ", ".join(
            ("-" if r is None else report.rate(r)) + (" VOID" if why else "")
            for r, why in zip(s["rounds"], whys, strict=False)
        )
        per_delivery = e.get("cpu_us_per_delivery")
        notes = []
        if s["void"]:
            notes.append(f"VOID: {s['void']}")
        if s["noisy_rounds"]:
            notes.append(f"noisy in {s['noisy_rounds']} round(s)")
        slow = (s.get("extra_rounds") or {}).get("commits_over_100ms") or []
        if any(slow):
            per_round = ", ".join("-" if n is None else f"{n:.0f}" for n in slow)
            notes.append(f"commits over 100 ms by round: {per_round}")
        rows.append(
            [
                s["workload"],
                s["target"],
                s["param"],
                rounds,
                report.ms(s["p50_ms"]),
                report.ms(s["p99_ms"]),
                cpu or "-",
                "-" if per_delivery is None else f"{per_delivery:.2f}",
                "; ".join(notes) or "ok",
            ]
        )
    heads = [
        "workload",
        "target",
        "param",
        "rounds",
        "p50 ms",
        "p99 ms",
        "CPU %",
        "server CPU µs / delivery",
        "check",
    ]
    return report.table(heads, rows, "llllrrlrl")


def idle_max_text(data: dict[str, Any]) -> list[str]:
    m = data.get("idle_max")
    if not m:
        return []
    text = (
        f"Idle WebSocket connections held by one Levelstream process (`{m['target']}`): "
        f"**{m['reached']:,} of {m['tried']:,} tried**, from {m['generator_processes']} "
        f"generator processes on 127.0.0.2-{1 + m['generator_processes']}, in {m['seconds']} s; "
        f"server RSS {m['server_rss_mib']} MiB ({m['kib_per_conn']} KiB per connection); "
        f"server RLIMIT_NOFILE {m['server_fd_limit']}"
        + (" (its log shows it ran out of file descriptors)" if m.get("server_out_of_fds") else "")
        + f"; the server still answered `/readyz` while holding them: "
        f"{m['server_answered_after']} (with every descriptor taken it cannot accept "
        "another connection, not even a health check)."
    )
    if m.get("first_error"):
        text += f" First refusal: `{m['first_error'][:160]}`."
    return ["## W6: how many idle connections", "", text, ""]


RULES_BAR = 0.90  # issue 15: rules on within 10 % of rules off


def rules_text(data: dict[str, Any]) -> list[str]:
    """Issue 15, rules on vs off: W1/W2 of `ls-rules` over `ls-norules`, per round and worst.

    Rounds pair the two targets of one round (they run back to back on the same
    machine state); the target is met only if the worst valid round meets it.
    """
    by: dict[tuple[str, str, int], dict[str, Any]] = {
        (c["workload"], c["target"], c["round"]): c
        for c in data["cells"]
        if c["target"] in ("ls-rules", "ls-norules")
    }
    rows, verdicts = [], []
    for workload in ("W1", "W2"):
        ratios: list[float] = []
        for rnd in sorted({k[2] for k in by if k[0] == workload}):
            on, off = by.get((workload, "ls-rules", rnd)), by.get((workload, "ls-norules", rnd))
            if not on or not off:
                continue
            valid = not on["void"] and not off["void"] and on["value"] and off["value"]
            ratio = on["value"] / off["value"] if valid else None
            if ratio is not None:
                ratios.append(ratio)
            noisy = "*" if on["noisy"] or off["noisy"] else ""
            rows.append(
                [
                    f"{TITLES[workload]}, round {rnd}",
                    report.rate(off["value"]) if off["value"] else "-",
                    report.rate(on["value"]) if on["value"] else "-",
                    (f"{ratio:.3f}" if ratio is not None else "VOID") + noisy,
                    f"{report.ms(off['p99_ms'])} / {report.ms(on['p99_ms'])}",
                ]
            )
        if ratios:
            worst = min(ratios)
            status = "MET" if worst >= RULES_BAR else "NOT MET"
            verdicts.append(
                f"- **{status}** {TITLES[workload]}: rules on / off worst round {worst:.3f}, "
                f"median {sorted(ratios)[len(ratios) // 2]:.3f} over {len(ratios)} round(s) "
                f"(bar >= {RULES_BAR:.2f})"
            )
    if not rows:
        return []
    heads = ["workload", "rules off /s", "rules on /s", "on / off", "p99 ms off / on"]
    return [
        "## Issue 15: rules on vs rules off",
        "",
        f"Commit {data['machine'].get('commit', 'not recorded')}. "
        "Both targets are `ls-sync`'s server driven by a non-admin user's JWT (minted by an "
        "API key with read/write/delete on the collection; rules never apply to admin); "
        "`ls-rules` has the contract's example rule saved on the collection, `ls-norules` "
        "none. Every document carries `owner` = the JWT's `sub`, so every request is "
        "allowed. `*`: noisy round.",
        "",
        report.table(heads, rows, "lrrrr"),
        "",
        *verdicts,
        "",
    ]


def schedule_text(data: dict[str, Any]) -> str:
    """What ran in every round and what in the first only (issue 17's 20-minute budget)."""
    plan = data["plan"]
    if plan.get("every_round") or plan["rounds"] < 2 or "every_round_cells" not in plan:
        return "Every figure ran in every round."
    scopes = []
    for t in data["targets"]:
        if t.get("workloads") is not None:
            upto = f" (up to {t['max_subs']:,} subscribers)" if t.get("max_subs") else ""
            scopes.append(f"`{t['id']}` runs {', '.join(t['workloads'])}{upto}")
        if (t.get("min_latency_subs") or 1) > 1:
            scopes.append(f"`{t['id']}` runs W4/W4s from {t['min_latency_subs']:,} subscribers")
    return (
        "Every round runs the cells issue 17's targets are judged on (plus W4 at 100 "
        "subscribers for sync and the seed, the sync half of its W4 row); every other figure "
        "(issue 6's targets, the ceilings, PocketBase on both CPUs, raw plyvel, W4 over "
        "WebSocket beyond 100 subscribers, WebSocket fan-out with 8 in flight, W7, W8) runs "
        "in round 1 only, so its figure and its verdict are that one round's. "
        + ("; ".join(scopes) + ". " if scopes else "")
        + "`BENCH_EVERY_ROUND=1` runs everything in every round."
    )


def phases_text(data: dict[str, Any]) -> list[str]:
    """Wall seconds per phase and target, summed over the rounds: where the run's time went."""
    phases = data.get("phase_seconds") or {}
    if not phases:
        return []
    rows = [
        [key, ", ".join(f"{t:.0f}" for t in took), f"{sum(took):.0f}"]
        for key, took in sorted(phases.items(), key=lambda kv: -sum(kv[1]))
    ]
    return [
        "## Where the time went",
        "",
        f"Run total {data['seconds']:.0f} s; wall seconds per phase (server start, seeding, "
        "connecting, every window, draining), per round in order:",
        "",
        report.table(["phase", "seconds per round", "total"], rows, "llr"),
        "",
    ]


def render(data: dict[str, Any]) -> str:
    profile, plan, machine = data["profile"], data["plan"], data["machine"]
    problems = [f"- {k}: {v}" for k, v in data["skipped"].items()]
    failures = [
        f"- `{k}` failed at {v['cell']}: {v['summary']}" for k, v in data["failures"].items()
    ]
    noisy = sum(1 for c in data["cells"] if c["noisy"])
    where = data.get("cpus") or {}
    pin = (
        f"servers pinned to CPU {where['server']}, load generators to CPU {where['loadgen']}"
        if where.get("server")
        else "no pinning"
    )
    return "\n".join(
        [
            "# Levelstream side by side (suite `peers`)",
            "",
            f"{profile['name']} profile, {plan['rounds']} interleaved round(s), medians; "
            f"{machine['cpus']} CPUs, {pin}; 100-byte JSON values, compression off; "
            f"wrk for HTTP ({plan['http_connections']} connections, {plan['wrk_seconds']} s "
            f"per window, W1 after a {plan['wrk_warmup_s']} s warm-up), picows + uvloop for "
            f"WebSocket/SSE in its own process; run took {data['seconds']:.0f} s "
            f"({machine['when']}).",
            "",
            f"Measured on {report.measured_code(machine)}.",
            "",
            "## Side by side",
            "",
            side_by_side(data),
            "",
            "`*`: at least one round ran while other processes used more than "
            f"{NOISY_OTHER_PCT:.0f} % of a core. VOID: errors, losses or a load generator at "
            f"{SATURATED_PCT:.0f} % CPU or more in every round. Raw plyvel: one thread "
            "in-process on the server's CPU (no HTTP), the storage ceiling. "
            "W4 rates (writes/s, writes): "
            + ", ".join(f"{n} subs {r[0]:g}/s x {r[1]}" for n, r in plan["latency"].items())
            + "; W5/W5s keep "
            + " or ".join(str(w) for w in plan.get("fanout_windows", [plan.get("fanout_window")]))
            + " writes in flight"
            + paced_text(plan)
            + accept_window_text(plan)
            + ". "
            + schedule_text(data),
            "",
            "## Issue 6 targets",
            "",
            verdict_list(data, 6),
            "",
            "## Issue 17 targets",
            "",
            "Each judged on its worst round (a ratio: the two targets' figures of the same "
            "round); MET only when every round is valid and the worst meets the bar. "
            "PocketBase is judged pinned (GOMAXPROCS=1); its both-CPUs column is what a user "
            "gets on this 2-CPU box, with the load generator on the same CPUs.",
            "",
            verdict_list(data, 17) or "- (no issue 17 workload in this run)",
            "",
            *rules_text(data),
            *idle_max_text(data),
            *(["## Skipped", "", *problems, ""] if problems else []),
            *phases_text(data),
            *(["## Failures", "", *failures, ""] if failures else []),
            "## Details (medians over valid rounds)",
            "",
            details(data),
            "",
            f"Noise: {noisy} of {len(data['cells'])} cells ran with other processes above "
            f"{NOISY_OTHER_PCT:.0f} % of a core (`other` in the CPU column).",
            "",
            f"Chart: `{data['chart'] or 'not drawn (matplotlib missing: make bench-deps)'}`.",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    """Re-render `peers.md` and `peers.png` from a `peers.json` (after a report change)."""
    import json
    import sys
    from pathlib import Path

    from bench import chart
    from bench.verdicts import Verdict

    path = Path((argv or sys.argv[1:] or ["bench/results/peers.json"])[0])
    data = json.loads(path.read_text())
    verdicts = [Verdict(**v) for v in data["verdicts"]]
    png = chart.draw(
        verdicts,
        path.with_suffix(".png"),
        f"Levelstream vs issue 6 targets ({data['profile']['name']} profile, "
        f"medians of {data['plan']['rounds']})",
    )
    data["chart"] = str(png) if png else None
    path.with_suffix(".md").write_text(render(data) + "\n")
    print(path.with_suffix(".md"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
