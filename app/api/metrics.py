"""Prometheus metrics at `/metrics` (prometheus-client, one registry per app).

Request counts and latencies are observed by the access-log middleware, in
plain ints (`RequestStats`, turned into Prometheus families at scrape time:
prometheus-client's own Counter and Histogram take a lock per increment, and
cost about 1.5 µs of a 22 µs document read); the rest (connections, subscriptions,
queues, head seq, store size, writer group sizes and commit times) is read
from the live objects at scrape time, so the hot paths pay nothing for it.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from app.realtime.hub import Hub
from app.store.base import Store

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10)


class RequestStats(Collector):
    """HTTP request counts by (route, method, status) and latencies by (route, method).

    Observed on the event loop only; a scrape copies the table first.
    """

    def __init__(self) -> None:
        # (route, method, status) -> [count, seconds, per-bucket counts (+Inf last)]
        self._table: dict[tuple[str, str, int], list[Any]] = {}

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        entry = self._table.get((route, method, status))
        if entry is None:
            entry = self._table[(route, method, status)] = [
                0,
                0.0,
                [0] * (len(LATENCY_BUCKETS) + 1),
            ]
        entry[0] += 1
        entry[1] += seconds
        entry[2][bisect_left(LATENCY_BUCKETS, seconds)] += 1  # le: the first bound >= seconds

    def collect(self) -> Iterator[Metric]:
        table = [
            (key, entry[0], entry[1], list(entry[2])) for key, entry in list(self._table.items())
        ]
        requests = CounterMetricFamily(
            "levelstream_http_requests",
            "HTTP requests by route, method and status",
            labels=["route", "method", "status"],
        )
        latencies: dict[tuple[str, str], tuple[float, list[int]]] = {}
        for (route, method, status), count, seconds, buckets in table:
            requests.add_metric([route, method, str(status)], count)
            total, counts = latencies.get((route, method), (0.0, [0] * len(buckets)))
            latencies[(route, method)] = (
                total + seconds,
                [a + b for a, b in zip(counts, buckets, strict=True)],
            )
        yield requests
        latency = HistogramMetricFamily(
            "levelstream_http_request_duration_seconds",
            "HTTP request latency by route and method",
            labels=["route", "method"],
        )
        bounds = [*(str(float(b)) for b in LATENCY_BUCKETS), "+Inf"]
        for (route, method), (seconds, counts) in latencies.items():
            cumulative, running = [], 0
            for bound, count in zip(bounds, counts, strict=True):
                running += count
                cumulative.append((bound, running))
            latency.add_metric([route, method], cumulative, seconds)
        yield latency


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = RequestStats()
        self.registry.register(self.requests)
        self.group_size = Histogram(
            "levelstream_writer_group_transactions",
            "Transactions committed per group commit",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024),
            registry=self.registry,
        )
        self.commit_seconds = Histogram(
            "levelstream_writer_commit_seconds",
            "Time to write (and fsync in sync mode) one group",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.ws_closes = Counter(
            "levelstream_ws_closes",
            "WebSocket sessions closed, by close code (4008: slow consumer)",
            ["code"],
            registry=self.registry,
        )

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.observe(route, method, status, seconds)

    def observe_group(self, transactions: int, seconds: float) -> None:
        self.group_size.observe(transactions)
        self.commit_seconds.observe(seconds)

    def attach(self, hub: Hub, store: Store) -> None:
        """Read the live objects at scrape time (once they exist: at start)."""
        self.registry.register(_LiveCollector(hub, store))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _LiveCollector(Collector):
    def __init__(self, hub: Hub, store: Store) -> None:
        self.hub = hub
        self.store = store
        self._started = time.time()

    def collect(self) -> Iterator[Metric]:
        hub, store = self.hub, self.store
        connections = GaugeMetricFamily(
            "levelstream_connections", "Open real-time connections", labels=["transport"]
        )
        counts = {"ws": 0, "sse": 0}
        subscriptions = 0
        queued = 0
        deepest = 0
        for connection in list(hub.connections):
            counts[connection.transport] += 1
            subscriptions += len(connection.subscriptions) + len(connection.channel_subs)
            depth = len(connection.outbox)
            queued += depth
            deepest = max(deepest, depth)
        for transport, count in counts.items():
            connections.add_metric([transport], count)
        yield connections
        yield GaugeMetricFamily(
            "levelstream_subscriptions", "Active subscriptions", value=subscriptions
        )
        yield GaugeMetricFamily(
            "levelstream_fanout_queue_frames", "Frames queued to all connections", value=queued
        )
        yield GaugeMetricFamily(
            "levelstream_fanout_queue_max_frames",
            "Deepest single connection queue (delivery lag, in frames)",
            value=deepest,
        )
        resumes = CounterMetricFamily(
            "levelstream_resumes",
            "Subscriptions with a cursor or snapshot, by outcome",
            labels=["outcome"],
        )
        resumes.add_metric(["replayed"], hub.resumes_replayed)
        resumes.add_metric(["history_compacted"], hub.resumes_compacted)
        yield resumes
        yield GaugeMetricFamily(
            "levelstream_head_seq", "Latest committed seq", value=store.head_seq
        )
        yield CounterMetricFamily(
            "levelstream_changes",
            "Changes committed (rate() gives changes/s)",
            value=store.head_seq,
        )
        path = getattr(store, "path", None)
        if isinstance(path, Path):
            yield GaugeMetricFamily(
                "levelstream_store_bytes", "Size of the store on disk", value=_dir_size(path)
            )


def _dir_size(path: Path) -> int:
    total = 0
    for item in path.iterdir():
        try:
            total += item.stat().st_size
        except OSError:
            continue
    return total
