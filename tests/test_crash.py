"""Crash test: acknowledged writes survive SIGKILL, and the change log stays whole.

Writer threads do PUTs, DELETEs, POSTs and batches (some conditional) while the
server is killed with SIGKILL, round after round. Each thread owns its keys
and has one request in flight at a time, so every key's history is a known
sequence: all acknowledged writes, plus at most one write in doubt (sent when
the server died; it may or may not have committed, but a batch in doubt is
all there or not at all). After every restart:

- the log read through `/v1/changes` is gap-free from 1 to head_seq;
- each key's changes in the log are exactly its committed writes, in order,
  each acknowledged write at the seq (rev) it was acknowledged with;
- replaying the log reproduces exactly the documents a full range scan returns.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.helpers import read_changes, read_range
from tests.server import ServerProcess

ROUNDS = 20
THREADS = 4
KEYS_PER_THREAD = 6
COLL = "crash"


@dataclass
class Attempt:
    kind: str  # put, delete, post (server-chosen key) or batch
    ops: list[tuple[str | None, Any]]  # (key, value); value None: a delete; key None: a post
    acked: bool = False
    revs: list[int | None] = field(default_factory=list)  # per op, when known


@dataclass
class Committed:
    value: Any  # None: a delete
    rev: int | None  # the seq, when the client learnt it


class Writer(threading.Thread):
    """Writes to its own keys until the server goes away."""

    def __init__(self, index: int, server: ServerProcess, revs: dict[str, int | None], seed: int):
        super().__init__(daemon=True)
        self.index = index
        self.server = server
        self.revs = revs  # this thread's keys -> current rev (None: absent)
        self.rng = random.Random(seed)
        self.attempts: list[Attempt] = []
        self.errors: list[str] = []
        self.counter = 0

    def value(self) -> dict[str, int]:
        self.counter += 1
        return {"t": self.index, "n": self.counter, "pad": self.rng.randrange(10**9)}

    def if_rev(self, key: str) -> int | None:
        """Sometimes a condition on the current rev (always true: only we write `key`)."""
        rev = self.revs[key]
        return rev if rev is not None and self.rng.random() < 0.3 else None

    def next_attempt(self) -> Attempt:
        keys = list(self.revs)
        existing = [k for k in keys if self.revs[k] is not None]
        roll = self.rng.random()
        if roll < 0.5:
            return Attempt("put", [(self.rng.choice(keys), self.value())])
        if roll < 0.6:
            return Attempt("post", [(None, self.value())])
        if roll < 0.75 and existing:
            return Attempt("delete", [(self.rng.choice(existing), None)])
        chosen = self.rng.sample(keys, self.rng.randint(2, 4))
        return Attempt(
            "batch",
            [
                (k, None if k in existing and self.rng.random() < 0.3 else self.value())
                for k in chosen
            ],
        )

    def send(self, client: httpx.Client, attempt: Attempt) -> httpx.Response:
        url = f"/v1/collections/{COLL}/docs"
        key, value = attempt.ops[0]
        if attempt.kind == "post":
            response = client.post(url, json=value)
            if response.status_code == 201:
                attempt.ops = [(response.json()["key"], value)]
                attempt.revs = [response.json()["rev"]]
            return response
        assert key is not None
        if attempt.kind == "put":
            rev = self.if_rev(key)
            headers = {"If-Match": f'"{rev}"'} if rev is not None else {}
            response = client.put(f"{url}/{key}", json=value, headers=headers)
            if response.status_code in (200, 201):
                attempt.revs = [response.json()["rev"]]
            return response
        if attempt.kind == "delete":
            response = client.delete(f"{url}/{key}")
            attempt.revs = [None]  # a 204 carries no rev
            return response
        ops: list[dict[str, Any]] = []
        for k, v in attempt.ops:
            op: dict[str, Any] = {"op": "delete" if v is None else "put", "collection": COLL}
            op.update(key=k, **({} if v is None else {"value": v}))
            if (rev := self.if_rev(str(k))) is not None:
                op["if_rev"] = rev
            ops.append(op)
        response = client.post("/v1/batch", json={"ops": ops})
        if response.status_code == 200:
            last, n = response.json()["seq"], len(ops)
            attempt.revs = [last - (n - 1 - i) for i in range(n)]
        return response

    def run(self) -> None:
        try:
            with self.server.client() as client:
                while True:
                    attempt = self.next_attempt()
                    self.attempts.append(attempt)
                    try:
                        response = self.send(client, attempt)
                    except httpx.TransportError:
                        return  # the server is gone: this attempt is in doubt
                    if response.status_code not in (200, 201, 204):
                        # While the server is up anything else is a bug (a 412 would be a
                        # lost write); a 5xx would be the server dying mid-request.
                        self.errors.append(f"{response.status_code} {response.text[:300]}")
                        return
                    attempt.acked = True
                    for (key, value), rev in zip(attempt.ops, attempt.revs, strict=True):
                        if attempt.kind != "post":  # posted documents are left alone
                            self.revs[str(key)] = None if value is None else rev
        except Exception as exc:  # surfaced by verify(), not lost in the thread
            self.errors.append(repr(exc))


def verify(
    client: httpx.Client, history: dict[str, list[Committed]], writers: list[Writer]
) -> None:
    """Check the restarted server against the writers' record; extend `history`."""
    log = read_changes(client, "*", since=0)
    head = client.get("/v1/changes", params={"collection": "*", "limit": 1}).json()["head_seq"]
    assert [c["seq"] for c in log] == list(range(1, head + 1)), "the change log has a gap"
    by_key: dict[str, list[dict[str, Any]]] = {}
    for change in log:
        assert change["collection"] == COLL and change["rev"] == change["seq"]
        by_key.setdefault(change["key"], []).append(change)

    for writer in writers:
        assert not writer.errors, writer.errors
        for attempt in writer.attempts:
            if attempt.acked:
                for (key, value), rev in zip(attempt.ops, attempt.revs, strict=True):
                    history.setdefault(str(key), []).append(Committed(value, rev))
        doubt = writer.attempts[-1] if writer.attempts else None
        if doubt is None or doubt.acked:
            continue
        if doubt.kind == "post":
            # Committed or not, under a key the client never learnt: find it by value.
            value = doubt.ops[0][1]
            found = [k for k, cs in by_key.items() if k not in history and cs[0]["value"] == value]
            assert len(found) <= 1
            for key in found:
                history[key] = [Committed(value, None)]
            continue
        extra = {len(by_key.get(str(k), [])) - len(history[str(k)]) for k, _ in doubt.ops}
        # All of the attempt committed or none of it (a batch is atomic).
        assert extra in ({0}, {1}), f"partial or phantom write: {doubt.ops} {extra}"
        if extra == {1}:
            for key, value in doubt.ops:
                history[str(key)].append(Committed(value, None))

    assert set(by_key) <= set(history), "the log holds writes nobody made"
    for key, committed in history.items():
        changes = by_key.get(key, [])
        assert len(changes) == len(committed), f"{key}: log {len(changes)} vs {len(committed)}"
        for entry, change in zip(committed, changes, strict=True):
            assert change["op"] == ("delete" if entry.value is None else "put")
            assert change["value"] == entry.value
            if entry.rev is not None:
                assert change["seq"] == entry.rev, f"{key}: acknowledged rev not in the log"
            entry.rev = change["seq"]

    # Replaying the log gives exactly what a full range scan returns.
    replayed: dict[str, tuple[int, Any]] = {}
    for change in log:
        if change["op"] == "put":
            replayed[change["key"]] = (change["rev"], change["value"])
        else:
            replayed.pop(change["key"], None)
    scanned = {item["key"]: (item["rev"], item["value"]) for item in read_range(client, COLL)}
    assert scanned == replayed
    for key, committed in history.items():
        last = committed[-1] if committed else None
        if last is None or last.value is None:
            assert key not in scanned
        else:
            assert scanned[key] == (last.rev, last.value)
    counts = {c["name"]: c["count"] for c in client.get("/v1/collections").json()["items"]}
    assert counts.get(COLL, 0) == len(scanned)
    # Server-chosen keys sort by creation, across crashes too.
    posted = sorted((c[0].rev, key) for key, c in history.items() if "/" not in key)
    assert [key for _, key in posted] == sorted(key for _, key in posted)


def current_rev(committed: list[Committed]) -> int | None:
    """The key's rev after its last committed write; None when it does not exist."""
    if not committed or committed[-1].value is None:
        return None
    return committed[-1].rev


def test_acknowledged_writes_survive_sigkill(fresh_server: ServerProcess) -> None:
    rng = random.Random(20261125)
    keys = [[f"t{t}/k{i}" for i in range(KEYS_PER_THREAD)] for t in range(THREADS)]
    history: dict[str, list[Committed]] = {k: [] for ks in keys for k in ks}
    acknowledged = 0
    fresh_server.start()
    for round_no in range(ROUNDS):
        revs = [{k: current_rev(history[k]) for k in ks} for ks in keys]
        writers = [Writer(t, fresh_server, revs[t], rng.randrange(2**32)) for t in range(THREADS)]
        for writer in writers:
            writer.start()
        time.sleep(rng.uniform(0.1, 0.35))
        fresh_server.kill()
        for writer in writers:
            writer.join(30)
            assert not writer.is_alive()
        acknowledged += sum(a.acked for w in writers for a in w.attempts)
        # Both durability modes must survive a process crash (async only loses on power loss).
        fresh_server.env["LEVELSTREAM_DURABILITY"] = "async" if round_no % 2 == 0 else "sync"
        fresh_server.start()
        with fresh_server.client() as client:
            verify(client, history, writers)
    fresh_server.stop()
    assert acknowledged >= ROUNDS, "too few writes were acknowledged to mean much"
