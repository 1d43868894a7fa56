"""Clients that record a history against a real server: HTTP writers and subscribers.

Writers share a small key space (so conditional writes contend) and record every
write's invocation and outcome, and the head seqs they read. Subscribers (WS or
SSE, in their own event loop thread) record every start, delivery and reset, and
resume from the last seq they saw whenever their connection breaks.
"""

from __future__ import annotations

import asyncio
import random
import threading
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException

from tests.helpers import head_seq, read_changes, read_range
from tests.history.model import Event, History, Item, Write
from tests.realtime_clients import ws_options, ws_url
from tests.server import ServerProcess

# Answers that say nothing was written (besides 412/404, which the workload provokes).
UNAVAILABLE = (503, 507)
# After a 503/507 or a broken connection a writer waits as a real client would: a
# capped exponential backoff with full jitter (uniform in [0, min(cap, base * 2^n)]
# after the n-th failure in a row), so an outage's 503 rate is a client's, not a
# tight loop's.
BACKOFF_BASE_S = 0.05
BACKOFF_CAP_S = 2.0


@dataclass
class Target:
    """The server the clients talk to; `incarnation` grows with every (re)start.

    `others`: further nodes of one cluster; a subscriber's every new connection
    goes to the next node (`pick`), so it resumes on a node other than the last.
    """

    server: ServerProcess
    incarnation: int = 0
    others: list[ServerProcess] = field(default_factory=list)
    _turn: int = 0

    def pick(self) -> ServerProcess:
        nodes = [self.server, *self.others]
        self._turn += 1
        return nodes[self._turn % len(nodes)]


class HttpWriter(threading.Thread):
    """Random writes (PUT, conditional PUT, DELETE, POST, batch) and head reads until stopped."""

    def __init__(
        self,
        name: str,
        target: Target,
        history: History,
        coll: str,
        keys: list[str],
        seed: int,
        timeout: float = 60,
    ) -> None:
        super().__init__(daemon=True, name=name)
        self.target, self.history, self.coll, self.keys = target, history, coll, keys
        self.timeout = timeout  # a request unanswered this long counts as a hang
        self.rng = random.Random(seed)
        self.stopping = threading.Event()
        self.unexpected: list[str] = []  # answers no fault explains (a 500, a 400...)
        self.statuses: dict[int, int] = {}
        self.hangs = 0  # requests that got no answer within `timeout`
        self.failures = 0  # unavailable answers or broken connections in a row
        self.refused = False  # the last step met an outage
        self.jitter = random.Random(seed + 1)

    def stop(self) -> None:
        self.stopping.set()
        self.join(60)
        assert not self.is_alive(), f"{self.name} did not stop"

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                with httpx.Client(
                    base_url=self.target.server.url,
                    headers=self.target.server.headers(),
                    timeout=self.timeout,
                ) as client:
                    while not self.stopping.is_set():
                        self.refused = False
                        self.step(client)
                        if self.refused:
                            self.back_off()
                        else:
                            self.failures = 0
            except httpx.TransportError as exc:
                self.hangs += isinstance(exc, httpx.TimeoutException)
                self.back_off()  # the server is away: the write in flight was recorded

    def back_off(self) -> None:
        self.failures += 1
        ceiling = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** min(self.failures - 1, 16))
        self.stopping.wait(self.jitter.uniform(0, ceiling))

    def step(self, client: httpx.Client) -> None:
        roll = self.rng.random()
        key = self.rng.choice(self.keys)
        url = f"/v1/collections/{self.coll}/docs"
        if roll < 0.1:
            self.read_head(client)
        elif roll < 0.45:
            value = self.history.unique(self.name)
            self.send(client, "put", [Item(key, value)], "PUT", f"{url}/{key}", json=value)
        elif roll < 0.65:
            response = client.get(f"{url}/{key}")
            if response.status_code != 200:
                self.read_refused(response, 404)
                return
            rev = int(response.json()["rev"])
            value = self.history.unique(self.name)
            headers = {"If-Match": f'"{rev}"'}
            item = Item(key, value, if_match=rev)
            self.send(client, "put", [item], "PUT", f"{url}/{key}", json=value, headers=headers)
        elif roll < 0.75:
            self.send(client, "delete", [Item(key, None)], "DELETE", f"{url}/{key}")
        elif roll < 0.85:
            value = self.history.unique(self.name)
            self.send(client, "post", [Item(None, value)], "POST", url, json=value)
        else:
            chosen = self.rng.sample(self.keys, self.rng.randint(2, 3))
            items = [Item(k, self.history.unique(self.name)) for k in chosen]
            ops = [
                {"op": "put", "collection": self.coll, "key": i.key, "value": i.value}
                for i in items
            ]
            self.send(client, "batch", items, "POST", "/v1/batch", json={"ops": ops})

    def read_head(self, client: httpx.Client) -> None:
        response = client.get("/v1/changes", params={"collection": "*", "limit": 1})
        if response.status_code == 200:
            self.history.read(self.name, self.target.incarnation, int(response.json()["head_seq"]))
        else:
            self.read_refused(response)

    def read_refused(self, response: httpx.Response, *expected: int) -> None:
        """A read not answered 200: only an outage (503 `unavailable`) explains it."""
        status = response.status_code
        self.statuses[status] = self.statuses.get(status, 0) + 1
        self.refused = status in UNAVAILABLE
        if status in expected:
            return
        code = response.json().get("code") if response.content else None
        if status != 503 or code != "unavailable":
            self.unexpected.append(f"GET {response.url.path} {status} {response.text[:200]}")

    def send(
        self, client: httpx.Client, op: str, items: list[Item], method: str, url: str, **kw: Any
    ) -> None:
        write = self.history.invoke(self.name, op, items)
        try:
            response = client.request(method, url, **kw)
        except httpx.ConnectError as exc:
            self.history.complete(write, "failed", detail=repr(exc))  # never reached a server
            raise
        except httpx.TransportError as exc:
            self.history.complete(write, "unknown", detail=repr(exc))
            raise
        self.record(write, response)

    def record(self, write: Write, response: httpx.Response) -> None:
        status = response.status_code
        self.statuses[status] = self.statuses.get(status, 0) + 1
        self.refused = status in UNAVAILABLE
        if status >= 300:
            problem = response.json() if response.content else {}
            code = problem.get("code")
            if problem.get("outcome") == "unknown":  # may have been committed (cluster)
                self.history.complete(write, "unknown", status, code)
                return
            self.history.complete(write, "failed", status, code)
            if status not in (404, 412, *UNAVAILABLE):
                self.unexpected.append(f"{write.op} {status} {response.text[:200]}")
            return
        body = response.json() if response.content else {}
        if write.op == "batch":
            last = int(body["seq"])
            for i, item in enumerate(write.items):
                item.seq = last - (len(write.items) - 1 - i)
        elif "rev" in body:
            write.items[0].seq = int(body["rev"])
            write.items[0].key = body["key"]
        self.history.complete(write, "ok", status)


class Subscription(threading.Thread):
    """One subscriber (WS or SSE) that resumes from its last seq until told to finish."""

    def __init__(
        self,
        name: str,
        transport: str,
        target: Target,
        history: History,
        coll: str,
        prefix: str | None = None,
    ) -> None:
        super().__init__(daemon=True, name=name)
        self.target = target
        self.record = history.subscriber(name, transport, coll, prefix)
        self.position = 0  # the last seq seen: where a resume starts
        self.goal: int | None = None  # finish once caught up to this seq
        self.done = threading.Event()
        self.started_once = threading.Event()
        self.connections = 0

    def params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"collection": self.record.collection, "since": self.position}
        if self.record.prefix is not None:
            params["prefix"] = self.record.prefix
        return params

    def caught_up(self) -> bool:
        return self.goal is not None and self.position >= self.goal

    def on_change(self, change: dict[str, Any]) -> None:
        self.record.events.append(
            Event("change", change["seq"], change["key"], change["op"], self.record.transport)
        )
        self.position = change["seq"]

    def on_reset(self) -> None:
        self.record.events.append(Event("reset", self.position))
        self.position = 0

    def run(self) -> None:
        asyncio.run(self._run())

    async def _run(self) -> None:
        while not self.caught_up():
            # The reader waits as long as it must; this loop ends it once caught up.
            task = asyncio.create_task(self._ws() if self.record.transport == "ws" else self._sse())
            while not task.done():
                await asyncio.wait({task}, timeout=0.1)
                if self.caught_up():
                    task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
            except (OSError, WebSocketException, httpx.HTTPError):
                await asyncio.sleep(0.2)
        self.done.set()

    async def _ws(self) -> None:
        async with connect(ws_url(self.target.pick()), **ws_options()) as ws:
            await ws.send(orjson.dumps({"op": "subscribe", "id": "s", "sub": "s", **self.params()}))
            self.record.events.append(Event("start", self.position))
            self.connections += 1
            self.started_once.set()
            while True:
                frame = orjson.loads(await ws.recv())
                if frame.get("type") == "change":
                    self.on_change(frame["change"])
                elif frame.get("type") == "reset" or _compacted(frame):
                    self.on_reset()
                    return
                elif frame.get("ok") is False:  # unavailable (a store outage): reconnect
                    await asyncio.sleep(0.2)
                    return

    async def _sse(self) -> None:
        server = self.target.pick()
        async with (
            httpx.AsyncClient(
                base_url=server.url, headers=server.headers(), timeout=httpx.Timeout(30, read=120)
            ) as client,
            client.stream(
                "GET", "/v1/stream", params=self.params(), headers={"Accept": "text/event-stream"}
            ) as response,
        ):
            if response.status_code != 200:
                await asyncio.sleep(0.2)
                return
            self.record.events.append(Event("start", self.position))
            self.connections += 1
            self.started_once.set()
            event = ""
            async for line in response.aiter_lines():
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:") and event == "change":
                    self.on_change(orjson.loads(line[5:]))
                elif line.startswith("data:") and event == "reset":
                    self.on_reset()
                    return

    def finish(self, goal: int, timeout: float = 60) -> None:
        """Wait until every change up to `goal` (the last matching seq) came, then end."""
        self.goal = goal
        self.done.wait(timeout)
        self.record.events.append(Event("end", goal))


def _compacted(frame: dict[str, Any]) -> bool:
    return frame.get("ok") is False and frame["error"]["code"] == "history_compacted"


def collect(
    server: ServerProcess, coll: str, since: int = 0
) -> tuple[list[dict[str, Any]], dict[str, tuple[int, Any]], int]:
    """The oracle: the change log after `since`, the collection's documents, the head seq."""
    with server.client() as client:
        head = head_seq(client)
        log = read_changes(client, "*", since=since)
        docs = {i["key"]: (i["rev"], i["value"]) for i in read_range(client, coll)}
    return log, docs, head


def last_matching(log: list[dict[str, Any]], sub: Subscription) -> int:
    seqs = [c["seq"] for c in log if sub.record.matches(c)]
    return seqs[-1] if seqs else 0
