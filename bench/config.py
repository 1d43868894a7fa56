"""How long and how hard to run: one `Profile`, read from BENCH_* environment variables.

BENCH_QUICK=1     a smoke profile: every window a fraction of a second (CI)
BENCH_ROUNDS=N    rounds, interleaved across variants; each figure is the median
BENCH_DURATION=S  measured seconds per cell (after a warm-up)
BENCH_PIN=0       do not pin servers and load generators to CPUs
BENCH_TMPDIR=DIR  where data directories go (default: the system temp dir)
BENCH_HTTP_CLIENT=raw|httpx  the HTTP load generator (default raw)
BENCH_ONLY=a,b    run only these variants (ids as in the report), e.g. sync-group,sync-naive
BENCH_RESULTS=DIR where reports go (default bench/results)
BENCH_QUIET_WAIT=S  before each cell, wait up to S seconds for other processes to go quiet
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    clients: tuple[int, ...]
    warmup_s: float
    duration_s: float
    rounds: int
    # Safety bound: a cell stops after this many operations even before its time is up.
    max_ops: int
    pin: bool
    tmp_root: Path | None
    http_client: str
    results_dir: Path
    only: frozenset[str] = frozenset()
    quiet_wait_s: float = 0.0

    def wants(self, variant: str) -> bool:
        return not self.only or variant in self.only

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["tmp_root"] = str(self.tmp_root) if self.tmp_root else None
        # Relative to the checkout when inside it: results carry no machine's paths.
        root, where = RESULTS_DIR.parent.parent, self.results_dir.resolve()
        data["results_dir"] = str(where.relative_to(root) if where.is_relative_to(root) else where)
        data["only"] = sorted(self.only)
        return data


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() not in ("0", "false", "no", "off")


def profile_from_env(env: Mapping[str, str] = os.environ) -> Profile:
    quick = _flag(env, "BENCH_QUICK", False)
    if quick:
        name, warmup, duration, rounds, max_ops = "quick", 0.1, 0.3, 1, 200_000
    else:
        name, warmup, duration, rounds, max_ops = "full", 0.3, 1.5, 3, 5_000_000
    if env.get("BENCH_DURATION"):
        duration = float(env["BENCH_DURATION"])
    if env.get("BENCH_ROUNDS"):
        rounds = max(1, int(env["BENCH_ROUNDS"]))
    http_client = env.get("BENCH_HTTP_CLIENT", "raw")
    if http_client not in ("raw", "httpx"):
        raise SystemExit(f"BENCH_HTTP_CLIENT must be raw or httpx, not {http_client!r}")
    tmp = env.get("BENCH_TMPDIR")
    return Profile(
        name=name,
        clients=(1, 8, 64),
        warmup_s=warmup,
        duration_s=duration,
        rounds=rounds,
        max_ops=max_ops,
        pin=_flag(env, "BENCH_PIN", True) and (os.cpu_count() or 1) >= 2,
        tmp_root=Path(tmp) if tmp else None,
        http_client=http_client,
        results_dir=Path(env.get("BENCH_RESULTS", RESULTS_DIR)),
        quiet_wait_s=float(env.get("BENCH_QUIET_WAIT") or 0),
        only=frozenset(v.strip() for v in env.get("BENCH_ONLY", "").split(",") if v.strip()),
    )
