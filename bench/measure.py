"""Timed windows: clients run, a warm-up passes, then one window is measured.

Every client owns a `Meter` (so threads never share a counter) and stops when
the shared `Flag` drops or its own share of `max_ops` is done. Probes (CPU of
a process, group sizes of the writer, ...) are read at the edges of the
window, so what they report covers exactly the measured operations.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import threading
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

_CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


class Meter:
    """One client's counts; latencies are kept only between the window's edges."""

    __slots__ = ("errors", "lat", "ops")

    def __init__(self) -> None:
        self.ops = 0
        self.errors = 0
        self.lat: list[float] = []

    def record(self, seconds: float) -> None:
        self.ops += 1
        self.lat.append(seconds)


class Flag:
    __slots__ = ("running",)

    def __init__(self) -> None:
        self.running = True


class Probe(Protocol):
    def start(self) -> None: ...

    def stop(self) -> dict[str, float]: ...


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU seconds of a process (all its threads) so far."""
    if pid is None:
        return time.process_time()
    with open(f"/proc/{pid}/stat", "rb") as f:
        fields = f.read().rsplit(b")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _CLK_TCK  # utime, stime


class CpuProbe:
    """CPU use of one process over the window, in % of one core."""

    def __init__(self, label: str, pid: int | None = None) -> None:
        self.label = label
        self.pid = pid
        self._cpu = 0.0
        self._t = 0.0

    def start(self) -> None:
        self._cpu, self._t = cpu_seconds(self.pid), time.perf_counter()

    def stop(self) -> dict[str, float]:
        used = cpu_seconds(self.pid) - self._cpu
        elapsed = time.perf_counter() - self._t
        return {f"cpu_{self.label}_pct": round(100 * used / elapsed, 1)}


def machine_busy_seconds() -> float:
    """CPU seconds all CPUs of the machine spent busy (not idle or waiting for I/O) so far."""
    with open("/proc/stat", "rb") as f:
        fields = [int(x) for x in f.readline().split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / _CLK_TCK


class MachineCpuProbe:
    """Busy CPU of the whole machine over the window, in % of one core (so up to 100 x CPUs).

    Subtracting what the other CPU probes measured gives the CPU used by everything
    else on the machine: other processes disturb a figure, and the report says so.
    """

    def __init__(self) -> None:
        self._busy = 0.0
        self._t = 0.0

    def start(self) -> None:
        self._busy, self._t = machine_busy_seconds(), time.perf_counter()

    def stop(self) -> dict[str, float]:
        used = machine_busy_seconds() - self._busy
        return {"machine_cpu_pct": round(100 * used / (time.perf_counter() - self._t), 1)}


@dataclass(slots=True)
class Sample:
    """One measured cell: a variant at a client count, in one round."""

    variant: str
    clients: int
    round: int
    ops: int
    seconds: float
    p50_ms: float | None = None
    p99_ms: float | None = None
    errors: int = 0
    # Acknowledged operations (whole run, warm-up included) missing afterwards.
    lost: int | None = None
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.ops / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "variant": self.variant,
            "clients": self.clients,
            "round": self.round,
            "ops": self.ops,
            "seconds": round(self.seconds, 4),
            "ops_per_s": round(self.rate, 1),
            "p50_ms": self.p50_ms,
            "p99_ms": self.p99_ms,
            "errors": self.errors,
            "lost": self.lost,
            **self.extra,
        }


def percentile(sorted_values: Sequence[float], q: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


@dataclass(slots=True)
class Window:
    ops: int
    seconds: float
    p50_ms: float | None
    p99_ms: float | None
    errors: int
    total_ops: int
    extra: dict[str, float]


class _Edges:
    """Snapshots the meters and probes at the start and at the end of the window."""

    def __init__(self, meters: Sequence[Meter], probes: Sequence[Probe]) -> None:
        self.meters = meters
        self.probes = [*probes, MachineCpuProbe()]
        self.ops0 = self.err0 = 0
        self.t0 = 0.0

    def open(self) -> None:
        for meter in self.meters:
            meter.lat = []
        for probe in self.probes:
            probe.start()
        self.ops0 = sum(m.ops for m in self.meters)
        self.err0 = sum(m.errors for m in self.meters)
        self.t0 = time.perf_counter()

    def close(self) -> tuple[int, float, int, list[float], dict[str, float]]:
        elapsed = time.perf_counter() - self.t0
        ops = sum(m.ops for m in self.meters) - self.ops0
        errors = sum(m.errors for m in self.meters) - self.err0
        lats: list[float] = []
        for meter in self.meters:
            lats.extend(meter.lat)
            meter.lat = []  # later records go to a throwaway list
        extra: dict[str, float] = {}
        for probe in self.probes:
            extra.update(probe.stop())
        own = sum(v for k, v in extra.items() if k.startswith("cpu_"))
        extra["cpu_other_pct"] = round(max(0.0, extra["machine_cpu_pct"] - own), 1)
        return ops, elapsed, errors, lats, extra

    def finish(self, closed: tuple[int, float, int, list[float], dict[str, float]]) -> Window:
        ops, elapsed, errors, lats, extra = closed
        lats.sort()
        p50 = round(percentile(lats, 0.50) * 1000, 3) if lats else None
        p99 = round(percentile(lats, 0.99) * 1000, 3) if lats else None
        total = sum(m.ops for m in self.meters)
        return Window(ops, elapsed, p50, p99, errors, total, extra)


AsyncClient = Callable[[int, Meter, Flag, int], Coroutine[Any, Any, None]]
ThreadClient = Callable[[int, Meter, Flag, int], None]


def share(max_ops: int, clients: int) -> int:
    """Each client's bound on operations: its share of the cell's `max_ops`."""
    return max(1, -(-max_ops // clients))


async def run_async(
    client: AsyncClient,
    clients: int,
    *,
    warmup_s: float,
    duration_s: float,
    max_ops: int,
    probes: Sequence[Probe] = (),
) -> Window:
    """Run `clients` coroutines `client(index, meter, flag, limit)`; measure one window."""
    meters = [Meter() for _ in range(clients)]
    flag = Flag()
    limit = share(max_ops, clients)
    tasks = [asyncio.create_task(client(i, meters[i], flag, limit)) for i in range(clients)]
    edges = _Edges(meters, probes)
    try:
        await asyncio.wait(tasks, timeout=warmup_s)
        edges.open()
        await asyncio.wait(tasks, timeout=duration_s)
        closed = edges.close()
        flag.running = False
        await asyncio.gather(*tasks)  # re-raises a client's failure
    finally:
        flag.running = False
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return edges.finish(closed)


def run_threads(
    client: ThreadClient,
    clients: int,
    *,
    warmup_s: float,
    duration_s: float,
    max_ops: int,
    probes: Sequence[Probe] = (),
) -> Window:
    """Run `clients` threads of `client(index, meter, flag, limit)`; measure one window."""
    meters = [Meter() for _ in range(clients)]
    flag = Flag()
    limit = share(max_ops, clients)
    failures: list[BaseException] = []

    def body(i: int) -> None:
        try:
            client(i, meters[i], flag, limit)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=body, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    edges = _Edges(meters, probes)
    try:
        _join_until(threads, time.perf_counter() + warmup_s)
        edges.open()
        _join_until(threads, time.perf_counter() + duration_s)
        closed = edges.close()
    finally:
        flag.running = False
        for thread in threads:
            thread.join()
    if failures:
        raise failures[0]
    return edges.finish(closed)


def _join_until(threads: Sequence[threading.Thread], deadline: float) -> None:
    for thread in threads:
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            return
        thread.join(remaining)


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else 0.0
