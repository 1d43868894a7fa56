"""What a latency step says of Levelstream's commits (bench.rtgen.commits): read off the
server's own histogram (app/api/metrics.py) before and after, so a stall in a round is
seen to be a slow commit (a disk flush), or not."""

from __future__ import annotations

from app.api.metrics import Metrics
from bench.rtgen.commits import figures, parse_buckets


def test_commits_between_two_readings_and_the_slowest_bucket() -> None:
    metrics = Metrics()
    for seconds in (0.0004, 0.003):  # before the step
        metrics.observe_group(1, seconds)
    before = parse_buckets(metrics.render().decode())
    for seconds in (0.0004, 0.0007, 0.02, 0.243):  # the step: one flush held for 243 ms
        metrics.observe_group(1, seconds)
    after = parse_buckets(metrics.render().decode())
    got = figures(before, after)
    assert got["commits"] == 4
    assert got["commits_over_10ms"] == 2
    assert got["commits_over_100ms"] == 1
    assert got["slowest_commit_ms_at_most"] == 250  # the 0.25 s bucket


def test_no_histogram_no_figures() -> None:
    """The seed and PocketBase have no such histogram: nothing is made up for them."""
    assert parse_buckets("# nothing here\n") == {}
    assert figures({}, {}) == {}


def test_a_step_without_commits_has_no_slowest() -> None:
    metrics = Metrics()
    metrics.observe_group(1, 0.002)
    reading = parse_buckets(metrics.render().decode())
    assert figures(reading, reading) == {
        "commits": 0,
        "commits_over_10ms": 0,
        "commits_over_100ms": 0,
    }
