"""`python -m bench [suite ...]`: run the named suites (default: all), print and save reports."""

from __future__ import annotations

import argparse
import sys
import time

from bench import report, suites
from bench.config import profile_from_env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "suites",
        nargs="*",
        metavar="SUITE",
        help=f"one of {', '.join(suites.SUITES)} (default: all)",
    )
    args = parser.parse_args(argv)
    unknown = [name for name in args.suites if name not in suites.SUITES]
    if unknown:
        parser.error(f"unknown suite(s) {', '.join(unknown)}; known: {', '.join(suites.SUITES)}")
    profile = profile_from_env()
    names = args.suites or list(suites.SUITES)
    started = time.perf_counter()
    for name in names:
        result = suites.load(name)(profile)
        md, js = report.write(result, profile.results_dir)
        print(result.markdown)
        print(f"\n(written to {md} and {js})", flush=True)
    print(f"bench: done in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
