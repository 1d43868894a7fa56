"""Suite `store`: write throughput with 1, 8 and 64 concurrent clients.

Group commit (sync) against a naive fsync per write, async durability, raw
plyvel (the ceiling, with and without sync) and HTTP PUT through a real
server in sync mode. Every cell runs on a fresh data directory; rounds are
interleaved across variants and each figure is the median over rounds.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from bench import cpus, grid, report
from bench.config import Profile
from bench.cpus import pinned
from bench.grid import RatioSpec, Variant
from bench.measure import Sample
from bench.report import Report
from bench.scratch import Scratch, scratch
from bench.workloads import writes

TARGET_GAIN = 10.0  # issue 2: group commit at least 10x fsync per write at 64 clients

VARIANTS = (
    Variant("sync-group", "store, sync, group commit", "store", {"sync": True, "max_group": 1024}),
    Variant("sync-naive", "store, sync, fsync per write", "store", {"sync": True, "max_group": 1}),
    Variant(
        "async-group", "store, async, group commit", "store", {"sync": False, "max_group": 1024}
    ),
    Variant("plyvel-async", "raw plyvel put, sync=False", "plyvel", {"sync": False}),
    Variant("plyvel-sync", "raw plyvel put, sync=True", "plyvel", {"sync": True}),
    Variant("http-sync", "HTTP PUT, server in sync mode", "http", {"durability": "sync"}),
)

RATIOS = (
    RatioSpec(
        "group_vs_naive", "group commit vs fsync per write (sync)", "sync-group", "sync-naive"
    ),
    RatioSpec(
        "group_vs_plyvel_sync", "group commit vs raw plyvel sync=True", "sync-group", "plyvel-sync"
    ),
    RatioSpec(
        "group_vs_ceiling",
        "group commit (sync) vs raw plyvel sync=False",
        "sync-group",
        "plyvel-async",
    ),
    RatioSpec(
        "async_vs_ceiling", "store async vs raw plyvel sync=False", "async-group", "plyvel-async"
    ),
    RatioSpec(
        "http_vs_store", "HTTP PUT (sync) vs store in-process (sync)", "http-sync", "sync-group"
    ),
)


def _cell_runner(area: Scratch, profile: Profile) -> Callable[[Variant, int, int], Sample]:
    target_cpus, loadgen_cpus = cpus.plan(profile.pin)

    def run_cell(variant: Variant, clients: int, rnd: int) -> Sample:
        path = area.fresh(f"{variant.id}-{clients}")
        common: dict[str, Any] = {
            "variant": variant.id,
            "clients": clients,
            "profile": profile,
            "rnd": rnd,
            **variant.params,
        }
        try:
            if variant.kind == "http":
                return writes.http_puts(
                    path, server_cpus=target_cpus, loadgen_cpus=loadgen_cpus, **common
                )
            # In-process targets get the one CPU a server would get.
            with pinned(target_cpus):
                if variant.kind == "store":
                    return writes.store_writes(path / "db", **common)
                return writes.plyvel_puts(path / "db", **common)
        finally:
            area.discard(path)

    return run_cell


def run(profile: Profile) -> Report:
    variants = [v for v in VARIANTS if profile.wants(v.id)]
    with scratch(profile.tmp_root) as area:
        print(
            f"store suite: {profile.name} profile, {profile.rounds} round(s) x "
            f"{profile.duration_s} s per cell, data under {area.root} ({area.fs})",
            file=sys.stderr,
        )
        samples, failures = grid.run_grid(profile, variants, _cell_runner(area, profile))
        fs = area.fs
    results = grid.aggregate(samples, variants, profile.clients)
    ratios = grid.ratios(results, RATIOS, profile.clients)
    at = max(profile.clients)
    gain = ratios["group_vs_naive"].get(at)
    data = {
        "suite": "store",
        "unit": "writes/s",
        "machine": {**report.machine(), "data_fs": fs},
        "profile": profile.as_dict(),
        "variants": [v.as_dict() for v in variants],
        "results": results,
        "ratios": ratios,
        "check_group_commit_gain": {
            "what": f"group commit (sync) at least {TARGET_GAIN:.0f}x fsync per write "
            f"at {at} clients",
            "clients": at,
            "ratio": gain,
            "target": TARGET_GAIN,
            "met": None if gain is None else gain >= TARGET_GAIN,
        },
        "failures": failures,
        "samples": [s.as_dict() for s in samples],
    }
    return Report("store", render(data), data)


def _noise_note(data: dict[str, Any]) -> list[str]:
    noisy = grid.noisy_cells(data)
    if not noisy:
        return []
    return [
        f"**{len(noisy)} cell(s) ran while other processes used more than "
        f"{grid.NOISY_OTHER_PCT:.0f} % of a core ({', '.join(noisy)}): their figures are "
        "disturbed; rerun on a quiet machine before comparing.** Disk traffic of other "
        "processes is not measured and disturbs fsync-bound variants too.",
        "",
    ]


def render(data: dict[str, Any]) -> str:
    profile, machine = data["profile"], data["machine"]
    pin = (
        "each target (server, or the in-process store) pinned to one CPU, "
        "the HTTP load generator to another"
        if profile["pin"]
        else "no CPU pinning"
    )
    check = data["check_group_commit_gain"]
    verdict = {True: "met", False: "NOT met", None: "not measured"}[check["met"]]
    return "\n".join(
        [
            "# Write throughput (suite `store`)",
            "",
            f"{profile['name']} profile: median of {profile['rounds']} interleaved round(s), "
            f"{profile['duration_s']} s measured per cell after {profile['warmup_s']} s "
            f"warm-up; 100-byte JSON values to distinct keys; a fresh LevelDB per cell on "
            f"{machine['data_fs']}; {machine['cpus']} CPUs, {pin}; HTTP load generator: "
            f"{profile['http_client']}.",
            "",
            "## Writes per second",
            "",
            grid.rate_table(data),
            "",
            "## Ratios",
            "",
            grid.ratio_table(data, RATIOS),
            "",
            f"**Group commit vs fsync per write at {check['clients']} clients: "
            f"{report.ratio(check['ratio'])} (target at least {check['target']:.0f}x): "
            f"{verdict}.**",
            "",
            "## Details (medians)",
            "",
            grid.details_table(data, "writes/s"),
            "",
            *_noise_note(data),
            "CPU % is of one core over the measured window (in-process: the whole process, "
            "clients included; HTTP: the server and the load generator; `other`: every other "
            "process on the machine). `txs/group` is "
            "transactions per committed LevelDB batch, i.e. per fsync in sync mode. `check` "
            "is ok when there were no errors and every acknowledged write was there "
            "afterwards (head seq; raw plyvel is not checked).",
        ]
    )
