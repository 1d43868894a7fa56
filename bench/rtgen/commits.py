"""What Levelstream's writer says about its commits during a latency step.

A write's latency in `sync` mode carries the commit (the batch written and
`fdatasync`ed); a stall of the disk shows as a p99 far above the p50 for every
server that flushes, and for none that does not. The server's own histogram
(`levelstream_writer_commit_seconds` on `/metrics`) is read before and after
the step, so a result can say how many commits took over 10 / 100 ms and the
bucket the slowest fell in: a stall is then the disk's or it is not.
"""

from __future__ import annotations

import math
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

HISTOGRAM = "levelstream_writer_commit_seconds"
OVER_MS = (10, 100)  # reported: commits over each of these

Buckets = dict[float, float]  # upper bound in seconds (math.inf last) -> cumulative count


def parse_buckets(text: str) -> Buckets:
    """The commit histogram's cumulative bucket counts in a Prometheus exposition."""
    buckets: Buckets = {}
    for family in text_string_to_metric_families(text):
        if family.name != HISTOGRAM:
            continue
        for sample in family.samples:
            if sample.name == f"{HISTOGRAM}_bucket":
                bound = float(sample.labels["le"])
                buckets[bound] = buckets.get(bound, 0.0) + sample.value
    return buckets


def scrape(port: int, token: str, timeout_s: float = 5.0) -> Buckets:
    """The server's commit histogram now (blocking: run it off the generator's loop)."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/metrics", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
        return parse_buckets(response.read().decode())


def figures(before: Buckets, after: Buckets) -> dict[str, float]:
    """Commits between the two readings, how many took over each of `OVER_MS`, and the
    upper bound of the bucket the slowest fell in (ms; left out beyond the last bound,
    10 s, where JSON has no number for it)."""
    if not after or math.inf not in after:
        return {}
    delta = {bound: after[bound] - before.get(bound, 0.0) for bound in sorted(after)}
    commits = delta[math.inf]
    out: dict[str, float] = {"commits": commits}
    for ms in OVER_MS:
        within = max((n for bound, n in delta.items() if bound <= ms / 1000), default=0.0)
        out[f"commits_over_{ms}ms"] = commits - within
    slowest = min(bound for bound, n in delta.items() if n >= commits)
    if commits and slowest != math.inf:
        out["slowest_commit_ms_at_most"] = slowest * 1000
    return out
