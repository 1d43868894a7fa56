"""CPU pinning: a target gets one CPU, the load generator another, when there are two."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

TARGET_CPU = 1
LOADGEN_CPU = 0


def available() -> set[int]:
    return set(os.sched_getaffinity(0))


def plan(pin: bool) -> tuple[set[int] | None, set[int] | None]:
    """(target CPUs, load-generator CPUs), or (None, None) when not pinning."""
    cpus = sorted(available())
    if not pin or len(cpus) < 2:
        return None, None
    return {cpus[TARGET_CPU]}, {cpus[LOADGEN_CPU]}


@contextmanager
def pinned(cpus: set[int] | None) -> Iterator[None]:
    """Run this process (all its threads started inside, too) on `cpus`; restore after."""
    if cpus is None:
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cpus)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)
