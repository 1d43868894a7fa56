"""One fault campaign: writers and subscribers on one server, judged by the checker.

A test makes a `Campaign`, runs rounds of `writing()` around its fault, and asks
`verdict()` for the checker's report; the rounds come from `rounds()` so that
`make soak` can run the same tests longer (FAULT_ROUNDS). `save()` keeps the
history, thinned and compressed, for the reliability report when
FAULT_HISTORY_DIR is set (`make soak`).
"""

from __future__ import annotations

import gzip
import json
import os
import random
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.history.checker import Report, check
from tests.history.model import History
from tests.history.workload import HttpWriter, Subscription, Target, collect, last_matching
from tests.server import ServerProcess


def rounds(ci: int, soak_scale: int = 1) -> int:
    """`ci` rounds in the normal suite; `make soak ROUNDS=n` (FAULT_ROUNDS) runs n times
    `soak_scale` (a fault whose round takes a second gets more of them than one that
    takes half a minute)."""
    soak = os.environ.get("FAULT_ROUNDS")
    return int(soak) * soak_scale if soak else ci


def slug(fault: str) -> str:
    """A fault's name as a file name: `kill -9` is `kill-9`."""
    return re.sub(r"[^a-z0-9]+", "-", fault.lower()).strip("-")


def soaking() -> bool:
    return bool(os.environ.get("FAULT_ROUNDS"))


class Campaign:
    def __init__(
        self,
        server: ServerProcess,
        coll: str = "faults",
        *,
        seed: int,
        writers: int = 4,
        keys: int = 8,
        subscribers: bool = True,
        others: list[ServerProcess] | None = None,
        timeout: float = 60,
        since: int = 0,
    ) -> None:
        # One cluster: writers spread over the nodes (writer n on node n mod len),
        # subscribers move to the next node on every reconnect.
        self.target = Target(server, others=list(others or []))
        self.node_targets = [self.target] + [Target(node) for node in others or []]
        self.timeout = timeout
        self.since = since  # the log's head before this campaign (a database shared by several)
        self.marks: list[tuple[str, float]] = []  # (what, monotonic time): fault starts, ends
        self.history = History()
        self.coll = coll
        self.rng = random.Random(seed)
        self.writer_count = writers
        self.keys = [f"k{i}" for i in range(keys)]
        self.subs: list[Subscription] = []
        if subscribers:
            self.subs = [
                Subscription("ws-all", "ws", self.target, self.history, coll),
                Subscription("sse-k1", "sse", self.target, self.history, coll, prefix="k1"),
            ]
        self.statuses: dict[int, int] = {}
        self.unexpected: list[str] = []
        self.hangs = 0
        self.recovered: list[float] = []  # per round: seconds from the fault's end to recovery

    def mark(self, what: str) -> float:
        """Note when a fault began or ended (for the report's pictures); the time."""
        now = time.monotonic()
        self.marks.append((what, now))
        return now

    def first_ack_after(self, moment: float, timeout: float = 30) -> float:
        """Seconds from `moment` to the first write acknowledged after it (waits for one)."""
        deadline = time.monotonic() + timeout
        while True:
            writes = self.history.writes
            done = [w.completed for w in writes if w.outcome == "ok" and w.completed >= moment]
            if done:
                return min(done) - moment
            assert time.monotonic() < deadline, f"no write acknowledged within {timeout} s"
            time.sleep(0.05)

    @property
    def server(self) -> ServerProcess:
        return self.target.server

    def started(self) -> None:
        """Call after each (re)start: reads from here on are from a new server."""
        for target in self.node_targets:
            target.incarnation += 1
        for sub in self.subs:
            if not sub.is_alive() and not sub.done.is_set():
                sub.start()
        for sub in self.subs:
            assert sub.started_once.wait(30), f"{sub.name} never subscribed"

    @contextmanager
    def writing(self) -> Iterator[list[HttpWriter]]:
        """Writers run inside the block (and are stopped, answers tallied, after it)."""
        writers = [
            HttpWriter(
                f"w{n}",
                self.node_targets[n % len(self.node_targets)],
                self.history,
                self.coll,
                self.keys,
                self.rng.randrange(2**32),
                self.timeout,
            )
            for n in range(self.writer_count)
        ]
        for writer in writers:
            writer.start()
        try:
            yield writers
        finally:
            for writer in writers:
                writer.stop()
                self.unexpected += writer.unexpected
                self.hangs += writer.hangs
                for status, n in writer.statuses.items():
                    self.statuses[status] = self.statuses.get(status, 0) + n

    def verdict(self, final: bool = False) -> Report:
        """The checker's report on everything so far (the server must be up).

        `final`: the subscribers first catch up to the head and stop, so that
        every change they should have got is owed.
        """
        log, docs, head = collect(self.server, self.coll, self.since)
        if final:
            for sub in self.subs:
                sub.finish(last_matching(log, sub))
        report = check(self.history, log, docs, head, oldest_seq=self.since + 1)
        assert not self.unexpected, self.unexpected[:5]
        print(report.summary())
        return report

    def save(self, fault: str, rounds: int, report: Report, **extra: Any) -> None:
        """Keep the history for `make reliability-report` (FAULT_HISTORY_DIR, if set).

        Thinned to what the report draws (each write's invocation and completion in
        ms from the first write, outcome, status) and gzipped: a soak's histories
        stay small enough to commit.
        """
        folder = os.environ.get("FAULT_HISTORY_DIR")
        if not folder or not self.history.writes:
            return
        t0 = min(w.invoked for w in self.history.writes)

        def ms(moment: float) -> int:
            return round((moment - t0) * 1000)

        data = {
            "fault": fault,
            "rounds": rounds,
            "recovered_s": [round(s, 3) for s in self.recovered],
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "counts": {
                "writes": dict(report.writes),
                "unknown_committed": report.unknown_committed,
                "changes": report.changes,
                "deliveries": report.deliveries,
                "lost": report.lost,
                "duplicated": report.duplicated,
                "reordered": report.reordered,
                "missed": report.missed,
                "ok": report.ok,
            },
            "slowest_s": round(max(w.completed - w.invoked for w in self.history.writes), 3),
            **extra,
            "marks": [[what, ms(at)] for what, at in self.marks],
            "writes": [
                [ms(w.invoked), ms(w.completed), w.outcome, w.status]
                for w in self.history.writes
                if w.outcome != "pending"
            ],
        }
        path = Path(folder) / f"{slug(fault)}.json.gz"
        path.parent.mkdir(parents=True, exist_ok=True)
        # mtime 0: the same history compresses to the same bytes.
        path.write_bytes(gzip.compress(json.dumps(data, separators=(",", ":")).encode(), mtime=0))
