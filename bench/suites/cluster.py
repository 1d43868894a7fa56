"""Suite `cluster`: the embedded mode against one and three nodes on PostgreSQL + Redis.

Per deployment (started once per round, then every cell runs on it):

- PUT throughput with 1, 8 and 64 closed-loop clients spread over the nodes;
- WebSocket fan-out: deliveries per second to 100 subscribers spread over the
  nodes while 8 clients write to node 0 as fast as they can;
- write-to-delivery latency at a steady 100 writes/s on node 0, to 30
  subscribers: on the writer's node and on the other nodes;

with the CPU of every node, of PostgreSQL + Redis and of the load generator.
Nothing is pinned: on this 2-core machine every process shares both cores,
which is exactly why three nodes cannot show more throughput than one here.
"""

from __future__ import annotations

import dataclasses
import sys
from typing import Any

from bench import grid, report
from bench.config import Profile
from bench.grid import RatioSpec, Variant
from bench.measure import Sample
from bench.report import Report
from bench.scratch import scratch
from bench.workloads import cluster

VARIANTS = (
    Variant("embedded", "embedded LevelDB, 1 node", "embedded", {"nodes": 1, "lock": "-"}),
    Variant("pg-1", "PostgreSQL + Redis, 1 node", "postgres", {"nodes": 1, "lock": "row"}),
    Variant("pg-3", "PostgreSQL + Redis, 3 nodes", "postgres", {"nodes": 3, "lock": "row"}),
    Variant(
        "pg-3-advisory",
        "PostgreSQL + Redis, 3 nodes, advisory seq lock",
        "postgres",
        {"nodes": 3, "lock": "advisory"},
    ),
)
# The seq lock, in-process: (id, label, lock, PgStore instances).
LOCK_VARIANTS = (
    Variant("row-1", "seq row lock, 1 writer", "lock", {"lock": "row", "nodes": 1}),
    Variant("advisory-1", "advisory lock, 1 writer", "lock", {"lock": "advisory", "nodes": 1}),
    Variant("row-3", "seq row lock, 3 writers", "lock", {"lock": "row", "nodes": 3}),
    Variant("advisory-3", "advisory lock, 3 writers", "lock", {"lock": "advisory", "nodes": 3}),
)
LOCK_CLIENTS = (1, 64)
FANOUT_SUBSCRIBERS = 100
FANOUT_WRITERS = 8
LATENCY_SUBSCRIBERS = 30
LATENCY_RATE = 100.0

RATIOS = (
    RatioSpec("pg1_vs_embedded", "1 PostgreSQL node vs embedded", "pg-1", "embedded"),
    RatioSpec("pg3_vs_pg1", "3 PostgreSQL nodes vs 1", "pg-3", "pg-1"),
    RatioSpec(
        "advisory_vs_row", "advisory lock vs seq-row lock (3 nodes)", "pg-3-advisory", "pg-3"
    ),
)


def run(profile: Profile) -> Report:
    problem = cluster.services_problem()
    wanted = [v for v in VARIANTS if profile.wants(v.id)]
    variants = [v for v in wanted if v.kind == "embedded" or problem is None]
    if problem is not None:
        print(
            f"cluster suite: PostgreSQL/Redis unreachable ({problem}); only the embedded "
            "mode runs (start them with scripts/test-services.sh start)",
            file=sys.stderr,
        )
    puts: list[Sample] = []
    fans: list[Sample] = []
    lats: list[Sample] = []
    failures: dict[str, dict[str, str]] = {}
    with scratch(profile.tmp_root) as area:
        for rnd in range(1, profile.rounds + 1):
            for variant in variants:
                if variant.id in failures:
                    continue
                path = area.fresh(variant.id)
                try:
                    _round(profile, variant, rnd, path, puts, fans, lats)
                except Exception as exc:  # one broken deployment must not sink the others
                    failures[variant.id] = grid.failure(exc, f"round {rnd}")
                    print(f"  {variant.id} FAILED: {exc}", file=sys.stderr, flush=True)
                finally:
                    area.discard(path)
        fs = area.fs
    locks: list[Sample] = []
    if problem is None and profile.wants("seq-lock"):
        for rnd in range(1, profile.rounds + 1):
            for variant in LOCK_VARIANTS:
                for clients in LOCK_CLIENTS:
                    params = variant.params
                    window = cluster.seq_lock_writes(
                        params["lock"], params["nodes"], clients, profile
                    )
                    locks.append(cluster.sample(variant.id, clients, rnd, window))
                    grid.progress(locks[-1])
    data: dict[str, Any] = {
        "suite": "cluster",
        "unit": "writes/s; deliveries/s",
        "machine": {**report.machine(), "data_fs": fs},
        "profile": profile.as_dict(),
        "services": problem or "PostgreSQL 127.0.0.1:55432, Redis 127.0.0.1:56379",
        "variants": [v.as_dict() for v in variants],
        "results": grid.aggregate(puts, variants, profile.clients),
        "fanout": grid.aggregate(fans, variants, (FANOUT_SUBSCRIBERS,)),
        "latency": grid.aggregate(lats, variants, (LATENCY_SUBSCRIBERS,)),
        "seq_lock": grid.aggregate(locks, LOCK_VARIANTS, LOCK_CLIENTS),
        "failures": failures,
        "samples": [s.as_dict() for s in (*puts, *fans, *lats, *locks)],
    }
    data["ratios"] = grid.ratios(data["results"], RATIOS, profile.clients)
    return Report("cluster", render(data), data)


def _round(
    profile: Profile,
    variant: Variant,
    rnd: int,
    path: Any,
    puts: list[Sample],
    fans: list[Sample],
    lats: list[Sample],
) -> None:
    nodes, lock = variant.params["nodes"], variant.params["lock"]
    with cluster.deployment(path, variant.kind, nodes, lock) as servers:
        for clients in profile.clients:
            window = cluster.puts(servers, clients, profile)
            puts.append(cluster.sample(variant.id, clients, rnd, window))
            grid.progress(puts[-1])
        window = cluster.fanout(servers, FANOUT_SUBSCRIBERS, FANOUT_WRITERS, profile)
        fans.append(cluster.sample(variant.id, FANOUT_SUBSCRIBERS, rnd, window))
        _progress("fan-out", fans[-1])
        longer = dataclasses.replace(profile, duration_s=max(profile.duration_s, 1.0))
        window = cluster.fanout(servers, LATENCY_SUBSCRIBERS, 4, longer, LATENCY_RATE)
        lats.append(cluster.sample(variant.id, LATENCY_SUBSCRIBERS, rnd, window))
        _progress("latency", lats[-1])


def _progress(what: str, sample: Sample) -> None:
    extra = sample.extra
    print(
        f"  r{sample.round} {sample.variant:<14} {what}: {extra.get('deliveries_per_s', 0):,.0f} "
        f"deliveries/s, {sample.rate:,.0f} writes/s, same-node p50/p99 "
        f"{extra.get('same_p50_ms', '-')}/{extra.get('same_p99_ms', '-')} ms, cross-node "
        f"{extra.get('cross_p50_ms', '-')}/{extra.get('cross_p99_ms', '-')} ms",
        file=sys.stderr,
        flush=True,
    )


def _cpu(cell: dict[str, Any]) -> str:
    nodes = sorted(k for k in cell if k.startswith("cpu_node"))
    parts = [f"{k[8:-4]}: {cell[k]:.0f}" for k in nodes]
    for key, label in (("cpu_services_pct", "pg+redis"), ("cpu_loadgen_pct", "loadgen")):
        if key in cell:
            parts.append(f"{label} {cell[key]:.0f}")
    if "cpu_other_pct" in cell:
        parts.append(f"other {cell['cpu_other_pct']:.0f}")
    return ", ".join(parts)


def _fanout_table(data: dict[str, Any], key: str, n: int) -> str:
    rows = []
    for v in data["variants"]:
        cell = data[key].get(v["id"], {}).get(n)
        if not cell:
            continue
        rows.append(
            [
                f"{v['label']} (`{v['id']}`)",
                report.rate(cell.get("deliveries_per_s")),
                report.rate(cell["ops_per_s"]),
                report.ms(cell.get("same_p50_ms")),
                report.ms(cell.get("same_p99_ms")),
                report.ms(cell.get("cross_p50_ms")),
                report.ms(cell.get("cross_p99_ms")),
                _cpu(cell),
            ]
        )
    heads = [
        "deployment",
        "deliveries/s",
        "writes/s",
        "same-node p50 ms",
        "p99",
        "cross-node p50 ms",
        "p99",
        "CPU % (node: ...)",
    ]
    return report.table(heads, rows, "lrrrrrrl")


def _cpu_table(data: dict[str, Any]) -> str:
    rows = []
    for v in data["variants"]:
        for n in data["profile"]["clients"]:
            cell = data["results"].get(v["id"], {}).get(n)
            if cell:
                notes = "VOID: errors" if cell["errors"] else "ok"
                if cell.get("cpu_other_pct", 0) > grid.NOISY_OTHER_PCT:
                    notes = "noisy"
                rows.append(
                    [
                        v["id"],
                        str(n),
                        report.rate(cell["ops_per_s"]),
                        report.ms(cell["p50_ms"]),
                        report.ms(cell["p99_ms"]),
                        _cpu(cell),
                        notes,
                    ]
                )
    heads = ["deployment", "clients", "writes/s", "p50 ms", "p99 ms", "CPU % of one core", "check"]
    return report.table(heads, rows, "lrrrrll")


def _lock_table(data: dict[str, Any]) -> str:
    rows = []
    for variant in LOCK_VARIANTS:
        for n in LOCK_CLIENTS:
            cell = data["seq_lock"].get(variant.id, {}).get(n)
            if cell:
                rows.append(
                    [
                        f"{variant.label} (`{variant.id}`)",
                        str(n),
                        report.rate(cell["ops_per_s"]),
                        report.ms(cell["p50_ms"]),
                        report.ms(cell["p99_ms"]),
                        report.rate(cell.get("mean_group")),
                        f"process {cell.get('cpu_process_pct', 0):.0f}, "
                        f"pg+redis {cell.get('cpu_services_pct', 0):.0f}, "
                        f"other {cell.get('cpu_other_pct', 0):.0f}",
                    ]
                )
    if not rows:
        return "(not measured: PostgreSQL unreachable, or excluded by BENCH_ONLY)"
    heads = ["lock", "clients", "writes/s", "p50 ms", "p99 ms", "txs/group", "CPU %"]
    return report.table(heads, rows, "lrrrrrl")


def render(data: dict[str, Any]) -> str:
    profile, machine = data["profile"], data["machine"]
    return "\n".join(
        [
            "# Cluster mode (suite `cluster`)",
            "",
            f"{profile['name']} profile: median of {profile['rounds']} round(s), "
            f"{profile['duration_s']} s measured per cell; durability `sync` everywhere "
            f"(LevelDB fsync; PostgreSQL `synchronous_commit=on`); {machine['cpus']} CPUs, "
            "nothing pinned: every node, PostgreSQL, Redis and the load generator share them. "
            f"Services: {data['services']}.",
            "",
            "**Two cores limit what three nodes can show here**: three nodes, PostgreSQL, "
            "Redis and the load generator compete for the same two cores, so the 3-node "
            "figures measure coordination cost on a saturated machine, not the scale-out of "
            "three machines. Read the per-node CPU: a node's share of the work is what one "
            "machine of its own would have to carry.",
            "",
            "## PUT throughput (writes/s, clients spread over the nodes)",
            "",
            grid.rate_table(data),
            "",
            grid.ratio_table(data, RATIOS),
            "",
            f"## WebSocket fan-out: {FANOUT_SUBSCRIBERS} subscribers over the nodes, "
            f"{FANOUT_WRITERS} writers on node 0",
            "",
            _fanout_table(data, "fanout", FANOUT_SUBSCRIBERS),
            "",
            f"## Write-to-delivery latency: {LATENCY_RATE:.0f} writes/s on node 0, "
            f"{LATENCY_SUBSCRIBERS} subscribers",
            "",
            "Same-node: subscribers on the writer's node; cross-node: on the other nodes "
            "(the change goes PostgreSQL commit, NOTIFY, that node's feed reading the log, "
            "its hub).",
            "",
            _fanout_table(data, "latency", LATENCY_SUBSCRIBERS),
            "",
            "## The global seq: row lock or advisory lock (in-process, no HTTP)",
            "",
            "PgStore instances in one process, each with its own writer connection as a "
            "server has, writing 100-byte documents; `txs/group` is transactions per "
            "PostgreSQL commit (group commit).",
            "",
            _lock_table(data),
            "",
            "## Per-node CPU during the PUT cells",
            "",
            _cpu_table(data),
            "",
            "CPU % is of one core over the measured window: `0:`, `1:`, `2:` are the nodes, "
            "`pg+redis` every PostgreSQL process plus Redis, `other` the rest of the machine.",
        ]
    )
