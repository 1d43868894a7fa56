"""The suites `python -m bench` knows, by name; each module has `run(profile) -> Report`.

Imported lazily, so a suite that needs something heavy (Node, many sockets)
costs nothing when another one runs. Later: `reads` (GET throughput),
`ranges` (100-document range queries), `fanout` (WS/SSE delivery), `peers`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from bench.config import Profile
from bench.report import Report

SUITES: dict[str, str] = {
    "store": "bench.suites.store",
    "cluster": "bench.suites.cluster",
    "peers": "bench.suites.peers",
}


def load(name: str) -> Callable[[Profile], Report]:
    module = importlib.import_module(SUITES[name])
    run: Callable[[Profile], Report] = module.run
    return run
