"""What suite `peers` runs in which round (issue 17: the full run within 20 minutes).

Every cell an issue 17 target is judged on must run in every round (the target is
judged on its worst round); the rest runs in round 1 only. A round that was planned
for a cell but produced none (its phase failed) must count as void, never vanish.
No benchmark runs here: this checks the plan and the verdicts on made-up cells.
"""

from __future__ import annotations

from bench.compare import Cell, summarize
from bench.config import profile_from_env
from bench.peers.targets import TARGETS, by_id
from bench.plan import Plan, plan_for
from bench.verdicts import Summaries, Verdict, issue17, judged_cells
from bench.workloads import fanout

W5_HARD = "1000 subs, 1 in flight"  # issue 17's W5 cell with one write in flight


def _full_plan(**env: str) -> Plan:
    return plan_for(profile_from_env({}), env)


def test_every_judged_cell_runs_in_every_round() -> None:
    plan = _full_plan()
    judged = judged_cells()
    assert ("W5", "ls-sync", "1000 subs, 1 in flight") in judged
    assert ("W5s", "pb", "10000 subs, 8 in flight") in judged
    for workload, target_id, param in judged:
        target = by_id(target_id)
        subs = int(param.split()[0]) if "subs" in param else None
        for rnd in (1, 2, 3):
            assert plan.scheduled(target, workload, rnd, param, subs), (
                workload,
                target_id,
                param,
                rnd,
            )


def test_what_no_target_judges_runs_in_round_one_only() -> None:
    plan = _full_plan()
    seed, pb2 = by_id("seed"), by_id("pb-2core")
    batched = "1000 subs, 8 in flight"
    assert plan.scheduled(seed, "W5", 1, batched, 1000)
    assert not plan.scheduled(seed, "W5", 2, batched, 1000)
    assert plan.scheduled(pb2, "W2", 1, "64 conns")
    assert not plan.scheduled(pb2, "W2", 3, "64 conns")
    assert not plan.scheduled(by_id("ls-sync"), "W8", 2, "empty")


def test_the_rules_pair_runs_in_every_round_when_named() -> None:
    plan = _full_plan()
    for target_id in ("ls-rules", "ls-norules"):
        assert plan.scheduled(by_id(target_id), "W1", 3, "64 conns")


def test_async_runs_only_what_durability_changes() -> None:
    plan = _full_plan()
    ls_async = by_id("ls-async")
    assert plan.scheduled(ls_async, "W1", 1, "64 conns")
    assert not plan.scheduled(ls_async, "W2", 1, "64 conns")
    assert plan.scheduled(ls_async, "W4", 2, "100 subs", 100)
    assert not plan.scheduled(ls_async, "W4", 1, "1000 subs", 1000)
    # beside PocketBase's W4s, whose SQLite does not fsync each commit either
    assert plan.scheduled(ls_async, "W4s", 1, "1 subs", 1)
    assert not plan.scheduled(ls_async, "W5s", 1, "1000 subs, 1 in flight", 1000)


def test_every_round_runs_everything_when_asked() -> None:
    plan = _full_plan(BENCH_EVERY_ROUND="1")
    for target in TARGETS:
        if target.runs("W5s") and target.sse:
            assert plan.scheduled(target, "W5s", 3, "1000 subs, 8 in flight", 1000)


def _w5_hard_verdict(summaries: Summaries) -> Verdict:
    """Issue 17's W5 row at 1,000 subscribers, one write in flight (socket.io's bar)."""
    return next(
        v
        for v in issue17(summaries)
        if v.workload == "W5" and "socket.io" in v.target and v.param == W5_HARD
    )


def test_a_planned_round_without_a_cell_is_void_not_dropped() -> None:
    cells = [Cell("W5", "ls-sync", W5_HARD, r, 50_000.0) for r in (1, 2, 3)]
    cells += [Cell("W5", "seed", W5_HARD, r, 40_000.0) for r in (1, 3)]  # round 2 failed
    summaries = summarize(cells)
    for summary in summaries.values():
        summary.planned_rounds = [1, 2, 3]
    verdict = _w5_hard_verdict(summaries)
    assert verdict.rounds == [1.25, None, 1.25]
    assert verdict.status == "VOID"


def _w5_hard(ours: list[tuple[float, float]], seed_loadgen_pct: float = 50.0) -> Verdict:
    """`_w5_hard_verdict` of our (deliveries/s, generator CPU %) per round against the
    seed's 50,000/s."""
    cells = [
        Cell("W5", "ls-sync", W5_HARD, r, value, extra={"cpu_loadgen_pct": pct})
        for r, (value, pct) in enumerate(ours, 1)
    ]
    cells += [
        Cell("W5", "seed", W5_HARD, r, 50_000.0, extra={"cpu_loadgen_pct": seed_loadgen_pct})
        for r in range(1, len(ours) + 1)
    ]
    return _w5_hard_verdict(summarize(cells))


def test_a_saturated_generator_under_our_server_is_a_floor_that_can_meet_a_rate() -> None:
    """Round 3's generator saturated while our server delivered 2x the seed: what it
    took is a floor under the server's rate, so the round meets a 1.0x bar, and says so."""
    verdict = _w5_hard([(80_000.0, 70.0), (85_000.0, 75.0), (100_000.0, 93.0)])
    assert verdict.status == "MET"
    assert verdict.rounds == [1.6, 1.7, 2.0]
    assert "floor" in verdict.note and "round 3" in verdict.note


def test_a_floor_below_the_bar_stays_void() -> None:
    verdict = _w5_hard([(80_000.0, 70.0), (45_000.0, 95.0)])
    assert verdict.status == "VOID"
    assert verdict.rounds == [1.6, None]


def test_a_saturated_generator_under_the_peer_is_never_a_floor_for_us() -> None:
    """The peer's figure under a saturated generator may be below its real rate, so a
    ratio over it proves nothing: void, however far ahead we seem."""
    verdict = _w5_hard([(80_000.0, 70.0)], seed_loadgen_pct=95.0)
    assert verdict.status == "VOID"


def test_a_round_with_losses_is_never_a_floor() -> None:
    cells = [
        Cell("W5", "ls-sync", W5_HARD, 1, 100_000.0, lost=1, extra={"cpu_loadgen_pct": 95.0}),
        Cell("W5", "seed", W5_HARD, 1, 50_000.0, extra={"cpu_loadgen_pct": 50.0}),
    ]
    assert _w5_hard_verdict(summarize(cells)).status == "VOID"


def test_a_round_one_only_peer_pairs_round_one_only() -> None:
    param = "64 conns"
    cells = [Cell("W1", "ls-sync", param, r, 6_000.0) for r in (1, 2, 3)]
    cells.append(Cell("W1", "pb", param, 1, 3_000.0))
    summaries = summarize(cells)
    summaries[("W1", "ls-sync", param)].planned_rounds = [1, 2, 3]
    summaries[("W1", "pb", param)].planned_rounds = [1]
    verdict = next(v for v in issue17(summaries) if v.workload == "W1")
    assert verdict.rounds == [2.0]
    assert verdict.status == "MET"


def test_server_cpu_per_delivery_is_judged_on_the_paced_cell() -> None:
    """The closed loop saturates the one-CPU generator on the raw broadcast (void), so the
    per-delivery CPU target reads W5's paced cell, which each round runs for both sides."""
    plan = _full_plan()
    judged = judged_cells()
    for n in (1000, 10_000):
        paced = f"{n} subs, 1 in flight, paced"
        assert ("W5", "ls-sync", paced) in judged
        assert ("W5", "raw-ws", paced) in judged
        steps = fanout.steps(plan, n, "W5")
        assert [fanout.step_param(n, s) for s in steps].count(paced) == 1
        assert not any(
            fanout.step_param(n, s).endswith("paced") for s in fanout.steps(plan, n, "W5s")
        )
    rounds = [1, 2, 3]
    cells = [
        Cell(
            "W5",
            target,
            "1000 subs, 1 in flight, paced",
            r,
            100_000.0,
            extra={"cpu_us_per_delivery": cpu, "cpu_loadgen_pct": 45.0},
        )
        for r in rounds
        for target, cpu in (("ls-sync", 4.0), ("raw-ws", 5.0))
    ]
    what = "W5 server CPU per delivery at most raw websockets', 1000 subs, 1 in flight, paced"
    (verdict,) = [v for v in issue17(summarize(cells)) if v.target == what]
    assert verdict.status == "MET"
    assert verdict.measured == 0.8


def test_a_judged_accept_rate_is_measured_over_at_least_five_seconds() -> None:
    # Issue 17's windows: W6's ramps repeat to 5 s where an accept rate is judged, and the
    # quick profile (seconds-long windows everywhere) does not repeat them.
    plan = _full_plan()
    assert plan.accept_window("ls-sync", "ws") == plan.accept_window("seed", "ws") == 5.0
    assert plan.accept_window("ls-sync", "sse") == plan.accept_window("pb", "sse") == 5.0
    assert plan.accept_window("raw-ws", "ws") == 0.0  # a ceiling: reported, not judged
    assert _full_plan(BENCH_EVERY_ROUND="1").accept_window("raw-ws", "ws") == 5.0
    quick = plan_for(profile_from_env({"BENCH_QUICK": "1"}), {})
    assert quick.accept_window("ls-sync", "ws") == 0.0


def test_the_ceilings_measure_latency_from_100_subscribers() -> None:
    """One subscriber's latency (2,000 writes at 100/s, 20 s) is no target of the ceilings:
    they skip it (the 20-minute budget), and measure it from 100 subscribers on."""
    plan = _full_plan()
    for target_id, workload in (("raw-ws", "W4"), ("raw-sse", "W4s")):
        ceiling = by_id(target_id)
        assert not plan.scheduled(ceiling, workload, 1, "1 subs", 1)
        assert plan.scheduled(ceiling, workload, 1, "100 subs", 100)
        assert plan.scheduled(ceiling, "W5" if workload == "W4" else "W5s", 1, "", 1000)
    for target_id, workload in (("ls-sync", "W4"), ("ls-sync", "W4s"), ("pb", "W4s")):
        assert plan.scheduled(by_id(target_id), workload, 1, "1 subs", 1)
