"""`python -m bench.onewrite`: W5/W5s with one write in flight, a few targets side by side.

The same step as suite `peers` (the rtgen generator, pinned, on the other CPU;
every subscriber must get every write once and in order), without the rest of
the suite: rounds alternate between the targets, and each cell reports the
server's CPU per delivery (`/proc/<pid>/stat` utime+stime over the window /
deliveries), which moves far less than deliveries/s on a shared machine, and
the generator's own (its CPU % at 90 or more voids a cell of suite `peers`).

    python -m bench.onewrite ws ls-sync,raw-ws --subs 1000 --rounds 3
    python -m bench.onewrite sse ls-sync,raw-sse,pb --subs 1000
"""

from __future__ import annotations

import argparse
import sys

from bench import cpus, rtgen
from bench.config import profile_from_env
from bench.peers import pocketbase
from bench.peers.targets import by_id, raise_nofile
from bench.scratch import scratch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("proto", choices=("ws", "sse"))
    parser.add_argument("targets", help="comma-separated target ids (bench/peers/targets.py)")
    parser.add_argument("--subs", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    profile = profile_from_env()
    tc, lg = cpus.plan(profile.pin)
    raise_nofile()
    targets = [by_id(target_id) for target_id in args.targets.split(",")]
    if any(t.kind == "pocketbase" for t in targets) and (why := pocketbase.problem()):
        raise SystemExit(why)
    print(
        "| round | target | deliveries/s | server CPU µs/delivery | generator CPU µs/delivery "
        "| generator CPU % | lost | others' CPU % |"
    )
    print("| ---: | :--- | ---: | ---: | ---: | ---: | ---: | ---: |")
    with scratch(profile.tmp_root) as area, cpus.pinned(lg):
        for rnd in range(1, args.rounds + 1):
            for target in targets:
                with target.server(area.fresh(f"onewrite-{target.id}-{rnd}"), tc) as server:
                    spec = rtgen.base_spec(target, server, args.proto)
                    spec["steps"] = [
                        {"op": "connect", "total": args.subs},
                        {"op": "fanout", "window": 1, "warmup_s": 0.5, "seconds": args.seconds},
                    ]
                    _, fan = rtgen.run(spec, lg)
                print(
                    f"| {rnd} | {target.id} | {fan['per_s']:,.0f} | "
                    f"{fan.get('cpu_us_per_delivery')} | {fan.get('loadgen_us_per_delivery')} | "
                    f"{fan.get('cpu_loadgen_pct')} | {fan['lost']} | "
                    f"{fan.get('cpu_other_pct')} |",
                    flush=True,
                )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
