"""Suite `peers`: Levelstream (sync and async) side by side with the seed's stack and the ceilings.

Per round, every target in turn (the order rotates each round), in phases that
each start a fresh server pinned to one CPU, the load generator on the other:

- http:  seed `plan.docs` documents; W1 PUT, W2 GET, W3 range (wrk); W7 catch-up
         on Levelstream;
- ws:    one generator process ramps WebSocket subscribers 1 -> 100 -> 1000 ->
         10,000: W4 latency at each count, W5 fan-out at 1000 and 10,000, W6
         memory per idle connection and accept rate on the last step;
- sse:   the same ramp over SSE for W5s (and W6 for SSE);
- cold:  W8 cold start, empty and with the big database.

After the rounds, W6's attempt at `plan.idle_max` idle connections (once).
Figures are medians over rounds; `bench.verdicts` judges issue 6's targets.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, NamedTuple

from bench import chart, cpus, grid, httpload, report, rtgen
from bench.compare import Cell, summarize
from bench.config import Profile
from bench.cpus import pinned
from bench.peers import pocketbase, rules
from bench.peers.targets import TARGETS, Target, raise_nofile, seed_problem
from bench.peers_report import render
from bench.plan import Plan, plan_for
from bench.report import Report
from bench.scratch import Scratch, scratch
from bench.verdicts import judge
from bench.workloads import (
    catchup,
    coldstart,
    fanout,
    gets,
    idle,
    latency,
    plyvel_ceiling,
    puts,
    ranges,
)

WRK = ("W1", "W1u", "W2", "W2o", "W3")


class Ramp(NamedTuple):
    counts: list[int]  # connect steps, in order
    latency_at: set[int]  # W4/W4s at these counts
    windows: dict[int, set[str]]  # W5/W5s: subscribers -> the fan-out cells (params) run there
    w6: bool  # W6 and W6a from the last connect step


class Run:
    def __init__(
        self,
        profile: Profile,
        plan: Plan,
        area: Scratch,
        cpu_plan: tuple[set[int] | None, set[int] | None],
    ) -> None:
        self.profile = profile
        self.plan = plan
        self.area = area
        # Planned before this process pins itself to the load generator's CPU.
        self.target_cpus, self.loadgen_cpus = cpu_plan
        self.cells: list[Cell] = []
        self.failures: dict[str, dict[str, str]] = {}
        self.wrk_ok = True  # False: W1-W3 skipped (wrk missing), W7 still runs
        self.idle_max_result: dict[str, Any] | None = None
        # Wall seconds of each phase ("<target>/<phase>", per round in order): where the
        # run's time goes (issue 17: the full run within 20 minutes).
        self.phase_seconds: dict[str, list[float]] = {}

    def add(self, new: list[Cell]) -> None:
        for cell in new:
            self.cells.append(cell)
            progress(cell)

    def attempt(self, key: str, where: str, work: Callable[..., Any], *args: Any) -> None:
        """Run one phase of one target; a failure skips that phase of that target from then on."""
        if key in self.failures:
            return
        started = time.perf_counter()
        try:
            work(*args)
        except Exception as exc:  # one broken target must not sink the run
            self.failures[key] = grid.failure(exc, where)
            print(f"  {key} FAILED: {self.failures[key]['summary']}", file=sys.stderr, flush=True)
        finally:
            took = round(time.perf_counter() - started, 1)
            self.phase_seconds.setdefault(key, []).append(took)
            print(
                f"  {time.perf_counter() - STARTED:5.0f}s phase {key} ({where}) took {took:.1f}s",
                file=sys.stderr,
                flush=True,
            )

    def server(self, target: Target, phase: str) -> Any:
        if self.profile.quiet_wait_s > 0:  # BENCH_QUIET_WAIT: let other processes settle
            grid.wait_for_quiet(self.profile.quiet_wait_s)
        return target.server(self.area.fresh(f"{phase}-{target.id}"), self.target_cpus)

    # --- phases ----------------------------------------------------------------------

    def http_wants(self, target: Target, rnd: int) -> tuple[set[str], bool]:
        """The wrk workloads of `target` in round `rnd`, and whether W7 runs."""
        plan = self.plan
        if not target.http:
            return set(), False
        conns = f"{plan.http_connections} conns"
        wants = {w for w in WRK if plan.scheduled(target, w, rnd, conns) and self.wrk_ok}
        if target.kind != "levelstream":
            wants.discard("W2o")  # the browser path is Levelstream's target (issue 17)
        catch_up = target.kind == "levelstream" and any(
            plan.scheduled(target, "W7", rnd, proto) for proto in ("ws", "sse")
        )
        return wants, catch_up

    def http(self, target: Target, rnd: int) -> None:
        plan = self.plan
        wants, catch_up = self.http_wants(target, rnd)
        if not wants and not catch_up:
            return
        server = self.server(target, "http")
        with server:
            if target.principal == "jwt":  # a user's JWT, the example rule saved or not
                target = rules.as_user(target, server.port)
            args = (target, server, rnd, plan, self.loadgen_cpus)
            if wants & {"W1u", "W2", "W2o", "W3"} and isinstance(server, pocketbase.PocketBase):
                pocketbase.seed(server.port, plan.docs, target.value[len(b'{"doc":') : -1])
            elif wants & {"W1u", "W2", "W2o", "W3"}:
                httpload.seed_docs(
                    server.port,
                    plan.docs,
                    target.headers,
                    batch=target.kind == "levelstream",
                    value=target.value,
                )
            if "W1" in wants:
                self.add([puts.run(*args)])
            if "W1u" in wants:
                self.add([puts.run(*args, "W1u")])
            if "W2" in wants:
                self.add([gets.run(*args)])
            if "W2o" in wants:
                self.add([gets.run(*args, "W2o")])
            if "W3" in wants:
                self.add([ranges.run(*args)])
            if catch_up:
                self.add(catchup.run(*args))
        self.area.discard(server.workdir)

    def ramp(self, target: Target, rnd: int, proto: str) -> Ramp:
        """The subscriber counts of a real-time phase and what runs at each."""
        plan = self.plan
        workload = "W5" if proto == "ws" else "W5s"
        lat = "W4" if proto == "ws" else "W4s"
        if (target.ws if proto == "ws" else target.sse) is None:
            return Ramp([], set(), {}, False)
        lat_counts = latency.SSE_COUNTS if lat == "W4s" else tuple(plan.latency)
        lat_at = {n for n in lat_counts if plan.scheduled(target, lat, rnd, f"{n} subs", n)} & set(
            plan.latency
        )
        windows = {  # subscribers -> the fan-out cells run there
            n: {
                param
                for step in fanout.steps(plan, n, workload)
                if plan.scheduled(target, workload, rnd, param := fanout.step_param(n, step), n)
            }
            for n in plan.fanout_subs
        }
        counts = sorted(lat_at | {n for n, ws in windows.items() if ws})
        w6 = plan.scheduled(target, "W6", rnd, proto)
        if w6:
            counts = counts or [plan.idle_conns]
            if counts[0] > idle.WARM:
                counts.insert(0, idle.WARM)  # W6 is measured on the last step, never the first
        return Ramp(counts, lat_at, windows, w6)

    def realtime(self, target: Target, rnd: int, proto: str) -> None:
        plan = self.plan
        workload = "W5" if proto == "ws" else "W5s"
        lat = "W4" if proto == "ws" else "W4s"
        counts, lat_at, windows, w6 = self.ramp(target, rnd, proto)
        if not counts:
            return
        server = self.server(target, proto)
        with server:
            spec = rtgen.base_spec(target, server, proto)
            wanted_at: list[int] = []
            for n in counts:
                # The settle before the RSS read matters only where W6 reads it: the last step.
                settle = {} if n == counts[-1] else {"settle_s": 0.0}
                if w6 and n == counts[-1]:
                    settle["min_window_s"] = plan.accept_window(target.id, proto)
                spec["steps"].append({"op": "connect", "total": n, **settle})
                wanted_at.append(n)
                for step in latency.steps(plan, n, lat) if n in lat_at else []:
                    spec["steps"].append(step)
                    wanted_at.append(n)
                for step in fanout.steps(plan, n, workload):
                    if fanout.step_param(n, step) not in windows.get(n, ()):
                        continue
                    spec["steps"].append(step)
                    wanted_at.append(n)
            try:
                results = rtgen.run(spec, self.loadgen_cpus)
            finally:
                server.kill()
        self.area.discard(server.workdir)
        connects = [r for r in results if r["op"] == "connect"]
        if w6 and len(connects) >= 2:
            self.add(idle.ramp_cells(target.id, proto, rnd, counts[-1], connects[-1]))
        for result in results:
            n = wanted_at[result["step"]]
            if result["op"] == "latency":
                self.add([latency.cell(target.id, rnd, n, result, lat)])
            elif result["op"] == "fanout":
                self.add([fanout.cell(workload, target.id, rnd, n, result)])

    def plyvel(self, rnd: int) -> None:
        path = self.area.fresh("plyvel")
        try:
            self.add(plyvel_ceiling.run(path / "db", rnd, self.plan, self.target_cpus))
        finally:
            self.area.discard(path)

    def cold(self, target: Target, rnd: int) -> None:
        self.add(coldstart.run(target, self.area, rnd, self.plan, self.target_cpus))

    def idle_max(self, target: Target) -> None:
        server = self.server(target, "idle-max")
        with server:
            result = idle.hold_max(target, server, self.plan, self.loadgen_cpus)
        self.area.discard(server.workdir)
        print(f"  W6 max idle WS ({target.id}): {result}", file=sys.stderr, flush=True)
        self.idle_max_result = result

    def round(self, order: list[Target], rnd: int) -> None:
        plan, where = self.plan, f"round {rnd}"
        for t in order:
            if any(self.http_wants(t, rnd)):
                self.attempt(f"{t.id}/http", where, self.http, t, rnd)
        # The storage ceiling, W8 and the rest no issue 17 target is judged on: round 1 only.
        first = rnd == 1 or plan.every_round
        plyvel = any(plan.wants(w) for w in ("W1", "W2", "W3")) and self.profile.wants("plyvel")
        if plyvel and first:
            self.attempt("plyvel", where, self.plyvel, rnd)
        for proto in ("ws", "sse"):
            for t in order:
                if self.ramp(t, rnd, proto).counts:
                    self.attempt(f"{t.id}/{proto}", where, self.realtime, t, rnd, proto)
        for t in order:
            if t.kind in ("levelstream", "seed", "pocketbase") and plan.scheduled(t, "W8", rnd):
                self.attempt(f"{t.id}/cold", where, self.cold, t, rnd)


STARTED = time.perf_counter()


def progress(cell: Cell) -> None:
    e = cell.extra
    cpu = ", ".join(
        f"{k[4:-4]} {e[k]:.0f}%"
        for k in ("cpu_server_pct", "cpu_loadgen_pct", "cpu_other_pct")
        if k in e
    )
    value = "-" if cell.value is None else f"{cell.value:,.2f}"
    flags = f"  VOID ({cell.void})" if cell.void else ""
    print(
        f"  {time.perf_counter() - STARTED:5.0f}s r{cell.round} {cell.workload:<4} "
        f"{cell.target:<9} {cell.param:<16} {value:>14}"
        f"  cpu {cpu}{flags}",
        file=sys.stderr,
        flush=True,
    )


def _rotate(items: list[Target], rnd: int) -> list[Target]:
    k = (rnd - 1) % len(items) if items else 0
    return items[k:] + items[:k]


def run(profile: Profile) -> Report:
    started = time.perf_counter()
    plan = plan_for(profile)
    raise_nofile()
    targets = [t for t in TARGETS if profile.wants(t.id) and (not t.opt_in or t.id in profile.only)]
    skipped: dict[str, str] = {}
    if any(t.kind == "pocketbase" for t in targets) and (why := pocketbase.problem()):
        skipped["pocketbase"] = why
        targets = [t for t in targets if t.kind != "pocketbase"]
    if any(t.kind == "seed" for t in targets) and (why := seed_problem()):
        skipped["seed"] = why
        targets = [t for t in targets if t.kind != "seed"]
    wrk_missing = None
    if any(plan.wants(w) for w in ("W1", "W2", "W3")):
        wrk_missing = httpload.wrk_problem()
        if wrk_missing:
            skipped["W1-W3"] = wrk_missing
    print(
        f"peers suite: {profile.name} profile, {plan.rounds} round(s), targets "
        f"{', '.join(t.id for t in targets)}; workloads {', '.join(sorted(plan.workloads))}",
        file=sys.stderr,
        flush=True,
    )
    cpu_plan = cpus.plan(profile.pin)
    with scratch(profile.tmp_root) as area, pinned(cpu_plan[1]):
        r = Run(profile, plan, area, cpu_plan)
        r.wrk_ok = wrk_missing is None
        for rnd in range(1, plan.rounds + 1):
            r.round(_rotate(targets, rnd), rnd)
        ls = next((t for t in targets if t.id == "ls-sync"), None)
        if plan.wants("W6") and plan.idle_max and ls is not None:
            r.attempt("ls-sync/idle-max", "after the rounds", r.idle_max, ls)
        idle_max = r.idle_max_result
    summaries = summarize(r.cells)
    by_id = {t.id: t for t in targets}

    def planned(target_id: str, workload: str, param: str, rnd: int = 1) -> bool:
        """Whether round `rnd` was planned to measure this (round 1 runs the most)."""
        target = by_id.get(target_id)
        if target is None:
            return True  # a target left out of this run: its verdicts say NOT MEASURED
        subs = int(param.split()[0]) if param.endswith("subs") or " subs," in param else None
        return plan.scheduled(target, "W6" if workload == "W6a" else workload, rnd, param, subs)

    for (workload, target_id, param), summary in summaries.items():
        if target_id in by_id:
            summary.planned_rounds = [
                rnd for rnd in range(1, plan.rounds + 1) if planned(target_id, workload, param, rnd)
            ]
    big = plan.big_docs if plan.wants("W8") else 0
    verdicts = judge(summaries, idle_max, big, planned)
    chart_path = chart.draw(
        verdicts,
        profile.results_dir / "peers.png",
        f"Levelstream vs issue 6 targets ({profile.name} profile, medians of {plan.rounds})",
    )
    data: dict[str, Any] = {
        "suite": "peers",
        "machine": report.machine(),
        "profile": profile.as_dict(),
        "plan": plan.as_dict(),
        "targets": [
            {
                "id": t.id,
                "label": t.label,
                "kind": t.kind,
                "workloads": sorted(t.workloads) if t.workloads is not None else None,
                "max_subs": t.max_subs,
                "min_latency_subs": t.min_latency_subs,
            }
            for t in targets
        ],
        "cpus": {
            "server": sorted(cpu_plan[0]) if cpu_plan[0] else None,
            "loadgen": sorted(cpu_plan[1]) if cpu_plan[1] else None,
        },
        "skipped": skipped,
        "summaries": [s.as_dict() for s in summaries.values()],
        "verdicts": [v.as_dict() for v in verdicts],
        "idle_max": idle_max,
        "failures": r.failures,
        "cells": [c.as_dict() for c in r.cells],
        "chart": chart_path.name if chart_path else None,  # beside this file: no machine path
        "seconds": round(time.perf_counter() - started, 1),
        "phase_seconds": r.phase_seconds,
    }
    return Report("peers", render(data), data)
