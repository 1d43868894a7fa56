"""Cluster faults: three nodes on one PostgreSQL and one Redis, each fault in turn under load.

The test starts a PostgreSQL cluster and a Redis server of its own (so it can
restart them; the suite's shared ones are never touched) and puts a TCP proxy
(tests/history/proxy.py) between every node and each of them, so one node can
be cut from PostgreSQL, from Redis, or from both. Writers are spread over the
nodes; a WS and an SSE subscriber move to the next node on every reconnect.
One WS client per node holds a presence entry in one channel.

For every fault the history checker judges the whole history (no acknowledged
write lost, a gap-free log, exact delivery after resume on any node, If-Match
chains, monotonic reads), and the test checks what docs/reliability.md states:

- no request hangs: every answer comes within CLIENT_BOUND_S, and a write that
  meets an outage is answered 503 `unavailable` (never a 500);
- after the fault ends every node acknowledges writes again, with no manual
  step, within RECOVERY_S;
- presence has no ghosts once leases expire: a stopped or killed node's member
  leaves every other node's list, and a live node's members are listed again;
- channel messages published on a node cut from Redis reach that node's own
  subscribers only, and are never relayed later.

`FAULT_ROUNDS` (`make soak ROUNDS=n`) repeats each fault n times with outage
lengths drawn from 5-30 s; `FAULT_HISTORY_DIR` keeps each history for
`make reliability-report`.

A blackholed node (its links drop everything, no reset) is noticed only by its
own timeouts (LEVELSTREAM_SERVICE_TIMEOUT_S): requests must still be answered,
503 `unavailable`, within BLACKHOLE_BOUND_S.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import head_seq
from tests.history import services
from tests.history.campaign import Campaign, rounds
from tests.history.model import Item
from tests.history.proxy import TcpProxy
from tests.realtime_clients import WsClient, ws_client
from tests.server import ServerProcess

ROUNDS = rounds(ci=1)
LEASE_S = 2.0  # the nodes' presence lease (LEVELSTREAM_PRESENCE_LEASE_S)
CLIENT_BOUND_S = 15.0  # no answer within this is a hang
# The nodes' LEVELSTREAM_SERVICE_TIMEOUT_S, and the longest a request may then wait
# on a node whose links drop everything silently (docs/reliability.md): a write queued
# behind a group whose statement, cancellation and rollback each time out, then its
# own group's connection attempt; measured up to three times the timeout.
SERVICE_TIMEOUT_S = 2.0
BLACKHOLE_BOUND_S = 4 * SERVICE_TIMEOUT_S + 1.0
RECOVERY_S = 20.0  # every node writes again within this after a fault ends
CHANNEL = "lobby"


@dataclass
class Node:
    server: ServerProcess
    pg: TcpProxy
    redis: TcpProxy


class Rig:
    """Own PostgreSQL and Redis, a proxy pair per node, three nodes, a presence holder."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.postgres = services.OwnPostgres().init()
        self.redis = services.OwnRedis()
        self.nodes: list[Node] = []
        self.members = PresenceHolder()

    def start(self) -> Rig:
        self.postgres.start()
        self.redis.start()
        for i in range(3):
            pg = TcpProxy("127.0.0.1", self.postgres.port).start()
            redis = TcpProxy("127.0.0.1", self.redis.port).start()
            server = ServerProcess(
                self.base / f"node{i}",
                LEVELSTREAM_STORE_URL=pg.url_for(self.postgres.url),
                LEVELSTREAM_BUS_URL=redis.url_for(self.redis.url),
                LEVELSTREAM_JWT_SECRET="cluster-fault-jwt-secret-" + "0" * 40,
                LEVELSTREAM_PRESENCE_LEASE_S=str(LEASE_S),
                LEVELSTREAM_SERVICE_TIMEOUT_S=str(SERVICE_TIMEOUT_S),
            )
            self.nodes.append(Node(server, pg, redis))
        # The first node migrates the schema; the others then start together.
        self.nodes[0].server.start()
        for node in self.nodes[1:]:
            node.server.start()
        self.members.start()
        for index, node in enumerate(self.nodes):
            self.members.join(index, node.server)
        return self

    @property
    def servers(self) -> list[ServerProcess]:
        return [node.server for node in self.nodes]

    def campaign(self, fault: str, seed: int, bound: float) -> Campaign:
        campaign = Campaign(
            self.servers[0],
            fault.replace(" ", "_"),
            seed=seed,
            writers=6,
            others=self.servers[1:],
            timeout=bound,
            since=head_seq_of(self.servers[0]),
        )
        campaign.started()
        return campaign

    def close(self) -> None:
        self.members.close()
        for node in self.nodes:
            with contextlib.suppress(Exception):
                if node.server.proc is not None:
                    node.server.proc.send_signal(signal.SIGCONT)
                    node.server.stop()
            node.pg.close()
            node.redis.close()
        self.redis.remove()
        self.postgres.remove()


class PresenceHolder:
    """One WS client per node joined to CHANNEL (state: its node), on a loop of its own."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.clients: dict[int, tuple[contextlib.AbstractAsyncContextManager[WsClient], Any]] = {}
        self.extra: list[contextlib.AbstractAsyncContextManager[WsClient]] = []

    def start(self) -> None:
        self.thread.start()

    def _run(self, coro: Any, timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def join(self, index: int, server: ServerProcess) -> None:
        async def joined() -> Any:
            manager = ws_client(server)
            client = await manager.__aenter__()
            await client.ok("join", channel=CHANNEL, state={"node": index})
            return manager, client

        self.clients[index] = self._run(joined())

    def subscriber(self, server: ServerProcess, channel: str) -> WsClient:
        """A WS client subscribed to `channel` (closed with the holder)."""

        async def subscribed() -> Any:
            manager = ws_client(server)
            client = await manager.__aenter__()
            await client.subscribe("m", channel=channel)
            return manager, client

        manager, client = self._run(subscribed())
        self.extra.append(manager)
        return client  # type: ignore[no-any-return]

    def message(self, client: WsClient) -> Any:
        """The data of the next channel message `client` gets."""
        frame = self._run(client.expect(lambda f: f.get("type") == "message", 20), 30)
        return frame["data"]

    def forget(self, index: int) -> None:
        """Its node was killed: the connection is gone."""
        manager, _ = self.clients.pop(index)
        with contextlib.suppress(Exception):
            self._run(manager.__aexit__(None, None, None), 5)

    def close(self) -> None:
        for index in list(self.clients):
            self.forget(index)
        for manager in self.extra:
            with contextlib.suppress(Exception):
                self._run(manager.__aexit__(None, None, None), 5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def bounded(server: ServerProcess) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers=server.headers(), timeout=CLIENT_BOUND_S)


def head_seq_of(server: ServerProcess) -> int:
    with server.client() as client:
        return head_seq(client)


def listed(server: ServerProcess) -> list[int] | None:
    """The nodes whose members `server` lists in CHANNEL (None: it did not answer 200)."""
    with bounded(server) as client:
        response = client.get(f"/v1/channels/{CHANNEL}/presence")
    if response.status_code != 200:
        return None
    return sorted(m["state"]["node"] for m in response.json()["items"])


def wait_for(what: str, check: Callable[[], bool], timeout: float) -> float:
    """Poll `check` until it holds; the seconds it took (fails after `timeout`)."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < timeout, f"not within {timeout} s: {what}"
        time.sleep(0.1)
    return time.monotonic() - started


def writes_again(campaign: Campaign, server: ServerProcess) -> bool:
    """One recorded put through `server`: did it succeed?"""
    item = Item(f"probe-{uuid.uuid4().hex[:8]}", campaign.history.unique("probe"))
    write = campaign.history.invoke("probe", "put", [item])
    try:
        with bounded(server) as client:
            response = client.put(
                f"/v1/collections/{campaign.coll}/docs/{item.key}", json=item.value
            )
    except httpx.ConnectError:
        campaign.history.complete(write, "failed")
        return False
    except httpx.HTTPError:
        campaign.history.complete(write, "unknown")
        return False
    if response.status_code >= 300:
        problem = response.json()
        outcome = "unknown" if problem.get("outcome") == "unknown" else "failed"
        campaign.history.complete(write, outcome, response.status_code, problem.get("code"))
        return False
    item.seq = int(response.json()["rev"])
    campaign.history.complete(write, "ok", response.status_code)
    return True


def outage_s(rng: random.Random) -> float:
    return 5.0 if ROUNDS == 1 else rng.uniform(5, 30)


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    problem = services.available()
    if problem is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"cluster faults cannot be tested: {problem}", pytrace=False)
        pytest.skip(f"cluster faults not tested here: {problem}")
    rig = Rig(tmp_path_factory.mktemp("cluster-faults"))
    try:
        yield rig.start()
    finally:
        rig.close()


def run_fault(
    rig: Rig,
    fault: str,
    inject: Callable[[random.Random], list[int]],
    seed: int,
    bound: float = CLIENT_BOUND_S,
) -> dict[str, Any]:
    """Rounds of `inject` (which returns the nodes it affected) under load; the verdict.

    `bound`: no request may wait longer for its answer (the clients' timeout).
    """
    rng = random.Random(seed)
    campaign = rig.campaign(fault, rng.randrange(2**32), bound)
    recovered: list[float] = []
    for _ in range(ROUNDS):
        with campaign.writing():
            time.sleep(1.0)
            campaign.mark("fault")
            affected = inject(rng)
            ended = campaign.mark("recovered")
            for index in affected or range(len(rig.nodes)):
                server = rig.servers[index]
                wait_for(
                    f"node {index} writes", lambda s=server: writes_again(campaign, s), RECOVERY_S
                )
            recovered.append(time.monotonic() - ended)
            time.sleep(1.0)
        campaign.started()  # a restarted node is a new server for monotonic reads
    report = campaign.verdict(final=True)
    slowest = max(w.completed - w.invoked for w in campaign.history.writes)
    print(fault, "statuses", campaign.statuses, "recovered in", recovered, "slowest", slowest)
    report.assert_ok()
    assert campaign.hangs == 0, f"{campaign.hangs} requests unanswered in {bound} s"
    assert slowest <= bound, f"a write waited {slowest:.1f} s"
    refused = [w for w in campaign.history.writes if w.outcome == "failed" and w.status == 503]
    assert all(w.code == "unavailable" for w in refused)
    assert report.writes["ok"] >= 20 and report.deliveries >= report.changes
    # Presence: every live node lists exactly the live members, once leases settled.
    live = sorted(rig.members.clients)
    for server in rig.servers:
        wait_for("presence settles", lambda s=server: listed(s) == live, LEASE_S * 3)
    campaign.recovered = recovered
    campaign.save(f"cluster {fault}", ROUNDS, report, bound_s=bound)
    return {"fault": fault, "report": report, "statuses": campaign.statuses}


# --- the faults -----------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_postgres_restarted(rig: Rig, mode: str) -> None:
    def inject(rng: random.Random) -> list[int]:
        rig.postgres.stop(mode)  # type: ignore[arg-type]
        time.sleep(rng.uniform(1, 3))
        rig.postgres.start()
        return []

    run_fault(rig, f"postgres {mode} restart", inject, seed=18_31 + len(mode))


def test_redis_restarted(rig: Rig) -> None:
    def inject(rng: random.Random) -> list[int]:
        rig.redis.stop()
        time.sleep(rng.uniform(1, 3))
        rig.redis.start()
        return []

    run_fault(rig, "redis restart", inject, seed=18_32)


def publish(server: ServerProcess, channel: str, data: Any) -> None:
    with bounded(server) as client:
        response = client.post(f"/v1/channels/{channel}/messages", json=data)
    assert response.status_code == 202, response.text


@pytest.mark.parametrize("link", ["postgres", "redis", "both"])
def test_a_node_cut_off(rig: Rig, link: str) -> None:
    node = rig.nodes[1]
    proxies = {"postgres": [node.pg], "redis": [node.redis], "both": [node.pg, node.redis]}
    channel = f"news-{link}"
    holder = rig.members
    # A subscriber of the channel on the cut node and one on another node.
    near = holder.subscriber(rig.servers[1], channel)
    far = holder.subscriber(rig.servers[0], channel)

    def inject(rng: random.Random) -> list[int]:
        for proxy in proxies[link]:
            proxy.cut("reset")
        publish(rig.servers[1], channel, {"n": "during"})
        # The cut node's own subscribers get it at once, whatever the links.
        assert holder.message(near) == {"n": "during"}
        time.sleep(outage_s(rng))
        for proxy in proxies[link]:
            proxy.resume()
        return [1]

    run_fault(rig, f"node cut from {link}", inject, seed=18_33 + len(link))
    # After the cut, messages cross nodes again; one published during a cut from Redis
    # reached no other node, then or later (at most once, never replayed).
    publish(rig.servers[1], channel, {"n": "after"})
    assert holder.message(near) == {"n": "after"}
    if link == "postgres":  # PostgreSQL plays no part in channels: each round's came
        for _ in range(ROUNDS):
            assert holder.message(far) == {"n": "during"}
    assert holder.message(far) == {"n": "after"}


def test_a_node_blackholed(rig: Rig) -> None:
    """Both of a node's links drop everything, with no reset: only its timeouts notice."""
    node = rig.nodes[1]

    def inject(rng: random.Random) -> list[int]:
        node.pg.cut("blackhole")
        node.redis.cut("blackhole")
        # Longer than the bound (soak: 5-30 s as well), so that a request waiting for
        # the link to come back, rather than timing out, is caught.
        time.sleep(max(outage_s(rng), BLACKHOLE_BOUND_S + 2))
        node.pg.resume()
        node.redis.resume()
        return [1]

    result = run_fault(rig, "node blackholed", inject, seed=18_36, bound=BLACKHOLE_BOUND_S)
    # The cut node answered 503 rather than waiting: the clients saw the outage.
    assert result["statuses"].get(503, 0) >= 1, result["statuses"]


def test_a_node_stopped_past_its_lease(rig: Rig) -> None:
    server = rig.servers[2]

    def inject(rng: random.Random) -> list[int]:
        assert server.proc is not None
        server.proc.send_signal(signal.SIGSTOP)
        try:
            # Past its lease, the other nodes drop its member: no ghost.
            for other in rig.servers[:2]:
                wait_for("stopped node's member leaves", lambda s=other: listed(s) == [0, 1], 15)
            time.sleep(max(0.0, outage_s(rng) - LEASE_S))
        finally:
            server.proc.send_signal(signal.SIGCONT)
        return [2]

    # A stopped node answers nothing until it runs again: its own clients wait out the
    # stop (up to 30 s in the soak), then get their answers.
    run_fault(rig, "node stopped", inject, seed=18_34, bound=CLIENT_BOUND_S + 30)


def test_a_node_killed(rig: Rig) -> None:
    server = rig.servers[0]

    def inject(rng: random.Random) -> list[int]:
        server.kill()
        rig.members.forget(0)
        for other in rig.servers[1:]:
            wait_for("killed node's member leaves", lambda s=other: listed(s) == [1, 2], 15)
        server.start()
        rig.members.join(0, server)
        return [0]

    run_fault(rig, "node killed", inject, seed=18_35)
