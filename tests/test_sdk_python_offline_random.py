"""A randomized test of the Python SDK's offline client (issue 16): several clients, each
with its own SQLite file and several live queries with different filters over the same
documents, write at random (put, patch, delete, batch) while their network is cut and
resumed at random (a TCP proxy per client), while they are restarted, and while the
server is killed and restarted; someone else writes directly to the server meanwhile.
Once everyone is back online and synced:

- every replica equals the server's answer to a range read with the same `where`;
- every write is on the server at most once (each put and patch carries a unique marker
  in its value, counted in the change log), a batch all or nothing;
- every write that is not on the server was reported: the conflict handler dropped it,
  or it is in `db.conflicts` (the default server-wins policy, or a refusal's error); no
  write that is on the server was reported as a conflict, and no conflict shows the
  client its own write as "the server's document" (a resend that was not recognised).

The driver is seeded: a failure names its seed, and `SDK_FUZZ_SEEDS=<seed>` reruns that
action sequence (the interleaving with the network is not reproduced exactly).
CI size: SDK_FUZZ_RUNS=3 seeds of SDK_FUZZ_STEPS=60 actions; soak with e.g.
`make sdk-fuzz RUNS=50 STEPS=200`.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.history.proxy import TcpProxy
from tests.sdk_support import missing
from tests.server import ADMIN_TOKEN, ServerProcess

try:
    from levelstream_client.offline import (
        Conflict,
        Drop,
        LiveQuery,
        OfflineClient,
        Retry,
        WriteOp,
    )
except ImportError:
    missing("the Python SDK is not installed: run `make sdk-deps`")

RUNS = int(os.environ.get("SDK_FUZZ_RUNS", "3"))
STEPS = int(os.environ.get("SDK_FUZZ_STEPS", "60"))
SEEDS = [int(s) for s in os.environ.get("SDK_FUZZ_SEEDS", "").split(",") if s] or list(
    range(1, RUNS + 1)
)
CLIENTS = 3
KEYS = [f"k{i}" for i in range(8)]  # few keys: concurrent writes to one document are common
FILTERS: list[str | None] = [
    None,
    'doc.tag == "a"',
    "doc.n >= 5",
    'doc.tag in ["a", "b"] && doc.n < 7',
    'key >= "k4"',
]
SYNC_TIMEOUT = 60.0


@dataclass
class Written:
    """One queued write (an outbox entry) as the test made it."""

    client: int
    ops: list[WriteOp]
    after_seq: int  # the server's head when it was queued (for deletes, which carry no marker)

    @property
    def markers(self) -> list[str]:
        """The markers the server's change log shows (a delete's is never sent)."""
        return [op.value["m"] for op in self.ops if op.op != "delete"]


@dataclass
class Reported:
    """What a client told the app about one refused intent."""

    client: int
    intent: WriteOp
    server: Any  # the server's document as the client showed it (value), or None
    dropped: bool  # the handler's Drop, the default policy, or a refusal's error


@dataclass
class Ledger:
    written: list[Written] = field(default_factory=list)
    reported: list[Reported] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)  # markers written directly to the server


def marker_of(op: WriteOp) -> str | None:
    return op.value.get("m") if isinstance(op.value, dict) else None


class Node:
    """One app: an OfflineClient on its own SQLite file, behind its own proxy."""

    def __init__(
        self, index: int, server: ServerProcess, coll: str, path: Path, ledger: Ledger
    ) -> None:
        self.index, self.coll, self.path, self.ledger = index, coll, path, ledger
        self.proxy = TcpProxy("127.0.0.1", server.port).start()
        self.rng = random.Random(index)  # the handler's choices
        self.filters: list[str | None] = []
        self.db: OfflineClient | None = None
        self.queries: list[LiveQuery] = []
        self.cut = False

    def on_conflict(self, conflict: Conflict) -> Retry | Drop | None:
        """Client 0 keeps the default (server wins, kept in db.conflicts); client 1 merges
        and retries; client 2 retries or drops at random."""
        server = conflict.server
        if self.index == 1:
            mine = conflict.intent
            if mine.op == "put" and server is not None and isinstance(server.value, dict):
                decision: Retry | Drop = Retry(value={**server.value, **mine.value})
            else:
                decision = Retry()
        else:
            decision = Retry() if self.rng.random() < 0.5 else Drop()
        dropped = isinstance(decision, Drop)
        value = None if server is None else server.value
        self.ledger.reported.append(Reported(self.index, conflict.intent, value, dropped))
        return decision

    async def open(self) -> None:
        handler = None if self.index == 0 else self.on_conflict
        self.db = OfflineClient(
            f"http://127.0.0.1:{self.proxy.port}",
            ADMIN_TOKEN,
            store=self.path,
            on_conflict=handler,
            backoff_max=0.5,
            request_timeout=5.0,
        )
        self.db.start()
        self.queries = [await self.db.live(self.coll, where) for where in self.filters]

    def state(self) -> str:
        assert self.db is not None
        entries = [
            (e.id, e.acked_seq, [(o.op, o.key, o.base) for o in e.ops])
            for e in self.db.outbox.entries
        ]
        queries = [(q.where, q.seq, q.live, q.error) for q in self.queries]
        rt = self.db.realtime
        link = f"ws={rt.connected} transport={rt.transport} send_failed={self.db.sending_failed}"
        return f"{self.db.status} {link} queries={queries} outbox={entries}"

    async def close(self) -> None:
        """Closing cancels whatever is in flight: a request the server may have applied
        whose answer is lost, as when the process dies."""
        if self.db is not None:
            await self.db.close()
            self.db = None


class Driver:
    def __init__(self, seed: int, server: ServerProcess, tmp: Path, coll: str) -> None:
        self.rng = random.Random(seed)
        self.server, self.coll = server, coll
        self.ledger = Ledger()
        self.nodes = [
            Node(i, server, coll, tmp / f"client{i}.db", self.ledger) for i in range(CLIENTS)
        ]
        for node in self.nodes:
            node.filters = self.rng.sample(FILTERS, self.rng.randint(2, 3))
        self.counter = 0
        self.events: Counter[str] = Counter()  # the faults injected
        self.server_down = False
        self.http = httpx.AsyncClient(base_url=server.url, headers=server.headers(), timeout=30)

    def marker(self, who: str) -> str:
        self.counter += 1
        return f"{who}-{self.counter}"

    def value(self, who: str) -> dict[str, Any]:
        return {
            "tag": self.rng.choice("abc"),
            "n": self.rng.randrange(10),
            "m": self.marker(who),
        }

    def patch(self, who: str) -> dict[str, Any]:
        patch: dict[str, Any] = {"m": self.marker(who)}
        choice = self.rng.random()
        if choice < 0.4:
            patch["n"] = self.rng.randrange(10)
        elif choice < 0.8:
            patch["tag"] = self.rng.choice("abc")
        else:
            patch["tag"] = None  # removes it: leaves the tag filters
        return patch

    def op(self, who: str) -> WriteOp:
        key = self.rng.choice(KEYS)
        kind = self.rng.choice(["put", "put", "patch", "delete"])
        if kind == "put":
            return WriteOp("put", self.coll, key, self.value(who))
        if kind == "patch":
            return WriteOp("patch", self.coll, key, self.patch(who))
        # A delete sends no value: its marker stays in the client's outbox, so that
        # the client's report of this intent can be told from its other deletes.
        return WriteOp("delete", self.coll, key, {"m": self.marker(who)})

    async def head(self) -> int:
        if self.server_down:
            return 0
        response = await self.http.get("/v1/changes", params={"collection": self.coll, "limit": 1})
        return int(response.json()["head_seq"])

    # --- actions ---------------------------------------------------------------------

    async def write(self, node: Node) -> None:
        assert node.db is not None
        who = f"c{node.index}"
        if self.rng.random() < 0.2:
            ops = [self.op(who) for _ in range(self.rng.randint(2, 3))]
            if all(op.op == "delete" for op in ops):
                ops[0] = WriteOp("put", self.coll, ops[0].key, self.value(who))
            after = await self.head()
            node.db.batch(ops)
        else:
            ops = [self.op(who)]
            after = await self.head()
            single = ops[0]
            if single.op == "put":
                node.db.put(self.coll, single.key, single.value)
            elif single.op == "patch":
                node.db.patch(self.coll, single.key, single.value)
            else:
                node.db.batch(ops, single=True)  # delete(), with the marker
        self.ledger.written.append(Written(node.index, ops, after))

    async def outside_write(self) -> None:
        """Someone else (not an offline client) writes directly."""
        if self.server_down:
            return
        key, value = self.rng.choice(KEYS), self.value("x")
        response = await self.http.put(f"/v1/collections/{self.coll}/docs/{key}", json=value)
        response.raise_for_status()
        self.ledger.outside.append(value["m"])

    async def toggle_network(self, node: Node) -> None:
        if node.cut:
            node.proxy.resume()
        else:
            mode = self.rng.choice(["reset", "reset", "blackhole"])
            node.proxy.cut(mode)  # type: ignore[arg-type]
            self.events[f"cut {mode}"] += 1
        node.cut = not node.cut

    async def restart_client(self, node: Node, right_after_a_write: bool = False) -> None:
        """Restart the app; right after a write, its request is likely in flight: the
        server may have applied it while its answer is lost with the process."""
        if right_after_a_write:
            self.events["client restart mid-write"] += 1
            await self.write(node)
            await asyncio.sleep(self.rng.uniform(0, 0.01))
        else:
            self.events["client restart"] += 1
        await node.close()
        await asyncio.sleep(self.rng.uniform(0, 0.2))
        await node.open()

    async def restart_server(self) -> None:
        self.events["server kill"] += 1
        self.server_down = True
        await asyncio.to_thread(self.server.kill)
        await asyncio.sleep(self.rng.uniform(0, 0.5))
        await asyncio.to_thread(self.server.start)
        self.server_down = False

    async def step(self) -> None:
        roll = self.rng.random()
        node = self.rng.choice(self.nodes)
        if roll < 0.6:
            await self.write(node)
        elif roll < 0.75:
            await self.toggle_network(node)
        elif roll < 0.78:
            await self.restart_client(node)
        elif roll < 0.83:
            await self.restart_client(node, right_after_a_write=True)
        elif roll < 0.9:
            await self.outside_write()
        await asyncio.sleep(self.rng.uniform(0, 0.08))

    async def run(self, steps: int) -> None:
        for node in self.nodes:
            await node.open()
        server_kill = self.rng.randrange(steps // 4, 3 * steps // 4 + 1)
        for step in range(steps):
            if step == server_kill:  # once a run, while some clients are cut off
                await self.restart_server()
            await self.step()
        for node in self.nodes:  # everyone back online
            if node.cut:
                await self.toggle_network(node)
        for node in self.nodes:
            assert node.db is not None
            try:
                await node.db.wait_synced(SYNC_TIMEOUT)
            except TimeoutError:
                raise AssertionError(f"client {node.index} never synced: {node.state()}") from None

    def summary(self, log: list[dict[str, Any]]) -> str:
        ledger = self.ledger
        handled = sum(1 for r in ledger.reported if r.server is not None or r.dropped)
        return (
            f"{len(ledger.written)} queued writes, {len(ledger.outside)} direct, "
            f"{len(log)} changes, {handled} conflicts reported, {self.events}"
        )

    async def close(self) -> None:
        for node in self.nodes:
            await node.close()
            node.proxy.close()
        await self.http.aclose()

    # --- what the server has -----------------------------------------------------------

    async def server_view(self, where: str | None) -> dict[str, tuple[Any, int]]:
        params: dict[str, Any] = {"limit": 1000}
        if where is not None:
            params["where"] = where
        found: dict[str, tuple[Any, int]] = {}
        while True:
            response = await self.http.get(f"/v1/collections/{self.coll}/docs", params=params)
            response.raise_for_status()
            page = response.json()
            found.update({d["key"]: (d["value"], d["rev"]) for d in page["items"]})
            if not page.get("next_cursor"):
                return found
            params["cursor"] = page["next_cursor"]

    async def change_log(self) -> list[dict[str, Any]]:
        changes: list[dict[str, Any]] = []
        since = 0
        while True:
            response = await self.http.get(
                "/v1/changes", params={"collection": self.coll, "since": since, "limit": 1000}
            )
            response.raise_for_status()
            page = response.json()
            changes.extend(page["changes"])
            if not page["changes"]:
                return changes
            since = page["last_seq"]


def local_view(query: LiveQuery) -> dict[str, tuple[Any, int | None]]:
    return {doc.key: (doc.value, doc.rev) for doc in query.items()}


async def assert_replicas_equal_server(driver: Driver) -> None:
    for node in driver.nodes:
        assert node.db is not None
        status = node.db.status
        assert (status.state, status.pending) == ("online", 0), (node.index, status)
        for query in node.queries:
            expected = await driver.server_view(query.where)
            # Nothing is written any more: each replica must reach the server's state.
            try:
                async with asyncio.timeout(SYNC_TIMEOUT):
                    while local_view(query) != expected:
                        await asyncio.sleep(0.05)
            except TimeoutError:
                pass
            assert local_view(query) == expected, (node.index, query.where)
            assert not any(doc.pending for doc in query.items())


def assert_every_write_once_or_reported(driver: Driver, log: list[dict[str, Any]]) -> None:
    ledger = driver.ledger
    in_log = Counter(
        c["value"]["m"] for c in log if c["op"] == "put" and isinstance(c["value"], dict)
    )
    twice = {m: n for m, n in in_log.items() if n > 1}
    assert not twice, f"writes applied more than once: {twice}"
    assert all(in_log[m] == 1 for m in ledger.outside)

    # What each client reported: its handler's answers, and what it kept in `conflicts`.
    for node in driver.nodes:
        assert node.db is not None
        for conflict in node.db.conflicts:
            value = None if conflict.server is None else conflict.server.value
            ledger.reported.append(Reported(node.index, conflict.intent, value, True))
    for report in ledger.reported:
        mine = marker_of(report.intent)
        theirs = report.server.get("m") if isinstance(report.server, dict) else None
        assert mine is None or mine != theirs, f"client {report.client} was shown its own write"

    def reported(written: Written) -> list[Reported]:
        """Reports that gave `written` up: a Drop (or the default policy, or an error),
        or a delete of a document already gone (then Retry() has nothing to do)."""
        return [
            r
            for r in ledger.reported
            if r.client == written.client
            and (r.dropped or (r.intent.op == "delete" and r.server is None))
            and any(_same_intent(r.intent, op) for op in written.ops)
        ]

    for written in ledger.written:
        markers = written.markers
        applied = {in_log[m] for m in markers}
        if markers:
            assert len(applied) == 1, f"a batch applied in part: {written}"
            on_server = applied == {1}
        else:  # a delete: on the server if that key was deleted after it was queued
            key = written.ops[0].key
            on_server = any(
                c["op"] == "delete" and c["key"] == key and c["seq"] > written.after_seq
                for c in log
            )
            if not on_server:
                assert reported(written), f"a delete lost silently: {written}"
            continue
        if on_server:
            assert not reported(written), f"applied, yet reported: {written}"
        else:
            assert reported(written), f"a write lost silently: {written}"


def _same_intent(a: WriteOp, b: WriteOp) -> bool:
    """The intent as the client reported it (its base may have moved; a merged retry
    keeps the marker)."""
    same_target = (a.op, a.collection, a.key) == (b.op, b.collection, b.key)
    return same_target and marker_of(a) == marker_of(b)


@pytest.mark.parametrize("seed", SEEDS)
async def test_random_offline_clients_converge_and_lose_nothing(
    seed: int, fresh_server: ServerProcess, tmp_path: Path, coll: str
) -> None:
    server = await asyncio.to_thread(fresh_server.start)
    driver = Driver(seed, server, tmp_path, coll)
    try:
        await driver.run(STEPS)
        await assert_replicas_equal_server(driver)
        log = await driver.change_log()
        assert_every_write_once_or_reported(driver, log)
        print(f"seed {seed}: {driver.summary(log)}")
    finally:
        await driver.close()
