"""A model-based test of delivery: hypothesis drives random writes, batches, deletes,
subscriptions (with filters), unsubscribes, disconnects and resumes against a real server,
and after every step each subscriber's received sequence must equal the model's change log
through its filter: no gap, no duplicate, no foreign change, in order, same payload.

Besides one-subscription sockets, one shared socket carries several subscriptions whose
ids are reused: a subscription is ended and its id subscribed again in the same write,
while its replay runs. Frames are attributed by position on the wire (a subscribe reply
starts a subscription, an unsubscribe reply ends it), so a frame of an ended one, or
of none, is caught."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.realtime_clients import TIMEOUT, client_frame, start_server, ws_url
from tests.server import ServerProcess

COLLECTIONS = ["m1", "m2"]
KEYS = ["a", "a/b", "ab", "b", "ba", "é", "z"]
FILTERS: list[dict[str, str]] = [
    {"collection": "m1"},
    {"collection": "*"},
    {"collection": "m2", "key": "ab"},
    {"collection": "m1", "prefix": "a"},
    {"collection": "*", "prefix": "b"},
    {"collection": "m2", "gt": "a", "lte": "b"},
    {"collection": "m1", "gte": "b"},
]

SUB_IDS = ["x", "y", "z"]  # the shared socket's subscription ids, reused over and over
BULK = 400  # changes of one bulk write: replays long enough to be ended while they run
MAX_LOG = 5000  # no more bulk writes past this (every check walks the whole log)

Change = tuple[int, str, str, str, Any]  # seq, op, collection, key, value
T = TypeVar("T")


def matches(flt: dict[str, str], collection: str, key: str) -> bool:
    if flt["collection"] != "*" and collection != flt["collection"]:
        return False
    if "key" in flt:
        return key == flt["key"]
    if "prefix" in flt and not key.startswith(flt["prefix"]):
        return False
    raw = key.encode()
    return (
        ("gt" not in flt or raw > flt["gt"].encode())
        and ("gte" not in flt or raw >= flt["gte"].encode())
        and ("lt" not in flt or raw < flt["lt"].encode())
        and ("lte" not in flt or raw <= flt["lte"].encode())
    )


@dataclass
class Model:
    """What the database must hold: its whole change log and its documents.

    It outlives single examples: the server (and its log) do too.
    """

    log: list[Change] = field(default_factory=list)
    docs: dict[tuple[str, str], Any] = field(default_factory=dict)
    counter: int = 0

    @property
    def head(self) -> int:
        return self.log[-1][0] if self.log else 0

    def record(self, op: str, collection: str, key: str, value: Any) -> None:
        self.log.append((self.head + 1, op, collection, key, value))
        if op == "delete":
            del self.docs[(collection, key)]
        else:
            self.docs[(collection, key)] = value

    def expected(self, flt: dict[str, str], after: int) -> list[Change]:
        return [c for c in self.log if c[0] > after and matches(flt, c[2], c[3])]


class Subscriber:
    """One logical subscriber: a filter, the seq it started after, and every change it has
    received across all its connections (a reader thread per connection appends)."""

    def __init__(self, flt: dict[str, str], start: int) -> None:
        self.flt = flt
        self.start = start
        self.received: list[Change] = []
        self.ws: ClientConnection | None = None
        self.reader: threading.Thread | None = None
        self.replies: list[dict[str, Any]] = []  # replies and pongs, read by the reader thread
        self.errors: list[str] = []

    @property
    def last(self) -> int:
        return self.received[-1][0] if self.received else self.start

    def connect(self, server: ServerProcess, since: int | None) -> int:
        ws = connect(
            ws_url(server), proxy=None, compression=None, open_timeout=TIMEOUT, legacy=True
        )
        frame = {"op": "subscribe", "id": "sub", "sub": "s", "since": since, **self.flt}
        ws.send(json.dumps(frame))
        reply = json.loads(ws.recv(timeout=TIMEOUT))  # queued before any change
        assert reply["type"] == "reply" and reply["ok"] is True, reply
        self.ws = ws
        self.reader = threading.Thread(target=self._read, args=(ws,), daemon=True)
        self.reader.start()
        return int(reply["seq"])

    def _read(self, ws: ClientConnection) -> None:
        try:
            for message in ws:
                frame = json.loads(message)
                if frame["type"] == "change":
                    c = frame["change"]
                    self.received.append((c["seq"], c["op"], c["collection"], c["key"], c["value"]))
                elif frame["type"] in ("reply", "pong"):
                    self.replies.append(frame)
                else:
                    self.errors.append(f"unexpected frame {frame}")
        except ConnectionClosed:
            pass

    def request(self, frame: dict[str, Any]) -> dict[str, Any]:
        """Send an op and wait (bounded) for its reply, which the reader thread collects."""
        assert self.ws is not None
        self.ws.send(json.dumps(frame))
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            for reply in self.replies:
                if reply.get("id") == frame["id"]:
                    self.replies.remove(reply)
                    return reply
            time.sleep(0.002)
        raise AssertionError(f"no reply to {frame}")

    def disconnect(self, abrupt: bool) -> None:
        ws, self.ws = self.ws, None
        assert ws is not None and self.reader is not None
        if abrupt:
            ws.socket.shutdown(socket.SHUT_RDWR)  # no close frame, frames in flight are lost
        ws.close()
        self.reader.join(TIMEOUT)
        assert not self.reader.is_alive()

    def catch_up(self, expected: int) -> None:
        """Wait (bounded) until as many changes arrived as the model expects."""
        deadline = time.monotonic() + TIMEOUT
        while len(self.received) < expected and time.monotonic() < deadline:
            time.sleep(0.002)


class Stream:
    """One subscription on the shared socket: its filter, the seq it starts after (-1
    until a live one's reply names it), what it received, and whether it has ended."""

    def __init__(self, flt: dict[str, str], start: int) -> None:
        self.flt = flt
        self.start = start
        self.received: list[Change] = []
        self.ended = False


class SharedSocket:
    """One WebSocket with several subscriptions, ids reused. Ops go out in one write each
    group; a reader thread attributes every frame by its place in the stream."""

    def __init__(self, server: ServerProcess) -> None:
        self.ws = connect(
            ws_url(server),
            proxy=None,
            compression=None,
            open_timeout=TIMEOUT,
            max_queue=None,
            legacy=True,
        )
        self.current: dict[str, Stream] = {}  # as the wire says, after the replies so far
        self.active: set[str] = set()  # as the test knows it, after each rule
        self.streams: list[Stream] = []
        self.pending: dict[str, tuple[str, str, Stream | None]] = {}  # request id -> op
        self.answered: set[str] = set()
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self._next = 0
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        try:
            for message in self.ws:
                self._on_frame(json.loads(message))
        except ConnectionClosed:
            pass

    def _on_frame(self, frame: dict[str, Any]) -> None:
        kind = frame["type"]
        if kind == "change":
            stream = self.current.get(frame["sub"])
            if stream is None:
                self.errors.append(f"a change with no subscription of that id: {frame}")
                return
            c = frame["change"]
            stream.received.append((c["seq"], c["op"], c["collection"], c["key"], c["value"]))
        elif kind in ("reply", "pong"):
            with self._lock:
                op, sub_id, stream = self.pending.pop(frame["id"], ("", "", None))
            if frame.get("ok") is False:
                self.errors.append(f"refused: {frame}")
            elif op == "subscribe" and stream is not None:
                if stream.start < 0:
                    stream.start = frame["seq"]  # live: from the head at the subscription
                self.current[sub_id] = stream
            elif op == "unsubscribe":
                self.current.pop(sub_id).ended = True
            self.answered.add(frame["id"])
        else:
            self.errors.append(f"unexpected frame {frame}")

    def subscribe(self, sub_id: str, flt: dict[str, str], since: int | None) -> tuple[Any, ...]:
        stream = Stream(flt, -1 if since is None else since)
        self.streams.append(stream)
        frame = {"op": "subscribe", "sub": sub_id, "since": since, **flt}
        return frame, "subscribe", sub_id, stream

    @staticmethod
    def unsubscribe(sub_id: str) -> tuple[Any, ...]:
        return {"op": "unsubscribe", "sub": sub_id}, "unsubscribe", sub_id, None

    def send(self, ops: list[tuple[Any, ...]]) -> str:
        """Send `ops` in one write (the server reads them together); the last one's id."""
        raw = b""
        request_id = ""
        for frame, op, sub_id, stream in ops:
            self._next += 1
            request_id = f"q{self._next}"
            with self._lock:
                self.pending[request_id] = (op, sub_id, stream)
            raw += client_frame({**frame, "id": request_id})
        with self.ws.protocol_mutex:  # the reader thread writes pongs under it
            self.ws.socket.sendall(raw)
        return request_id

    def wait(self, request_id: str) -> None:
        deadline = time.monotonic() + TIMEOUT
        while request_id not in self.answered:
            assert time.monotonic() < deadline, f"no reply to {request_id}"
            time.sleep(0.002)

    def close(self) -> None:
        self.ws.close()
        self.reader.join(TIMEOUT)
        assert not self.reader.is_alive()


class Delivery(RuleBasedStateMachine):
    server: ServerProcess
    model: Model

    def __init__(self) -> None:
        super().__init__()
        self.rest = self.server.client()
        self.subs: list[Subscriber] = []
        self.shared: SharedSocket | None = None

    def _next_value(self) -> dict[str, int]:
        self.model.counter += 1
        return {"n": self.model.counter}

    # --- writes -------------------------------------------------------------------------

    @rule(collection=st.sampled_from(COLLECTIONS), key=st.sampled_from(KEYS))
    def put(self, collection: str, key: str) -> None:
        value = self._next_value()
        response = self.rest.put(f"/v1/collections/{collection}/docs/{key}", json=value)
        assert response.status_code in (200, 201), response.text
        self.model.record("put", collection, key, value)
        assert response.json()["rev"] == self.model.head

    @rule(collection=st.sampled_from(COLLECTIONS), key=st.sampled_from(KEYS))
    def delete(self, collection: str, key: str) -> None:
        response = self.rest.delete(f"/v1/collections/{collection}/docs/{key}")
        if (collection, key) in self.model.docs:
            assert response.status_code == 204, response.text
            self.model.record("delete", collection, key, None)
        else:
            assert response.status_code == 404, response.text

    @rule(collection=st.sampled_from(COLLECTIONS), key=st.sampled_from(KEYS))
    def patch(self, collection: str, key: str) -> None:
        patch = {"p": self.model.counter}
        response = self.rest.patch(f"/v1/collections/{collection}/docs/{key}", json=patch)
        if (collection, key) in self.model.docs:
            assert response.status_code == 200, response.text
            self.model.record(
                "put", collection, key, {**self.model.docs[(collection, key)], **patch}
            )
        else:
            assert response.status_code == 404, response.text

    @rule(
        ops=st.lists(
            st.tuples(
                st.sampled_from(["put", "delete"]),
                st.sampled_from(COLLECTIONS),
                st.sampled_from(KEYS),
            ),
            min_size=1,
            max_size=12,
        )
    )
    def batch(self, ops: list[tuple[str, str, str]]) -> None:
        exists = set(self.model.docs)
        body, effects = [], []
        for kind, collection, key in ops:
            if kind == "delete" and (collection, key) in exists:
                exists.discard((collection, key))
                body.append({"op": "delete", "collection": collection, "key": key})
                effects.append(("delete", collection, key, None))
            else:  # a delete of a missing document would refuse the whole batch
                value = self._next_value()
                exists.add((collection, key))
                body.append({"op": "put", "collection": collection, "key": key, "value": value})
                effects.append(("put", collection, key, value))
        response = self.rest.post("/v1/batch", json={"ops": body})
        assert response.status_code == 200, response.text
        for effect in effects:
            self.model.record(*effect)
        assert response.json()["seq"] == self.model.head

    @rule(collection=st.sampled_from(COLLECTIONS))
    def bulk(self, collection: str) -> None:
        """Many changes in one batch: later replays from 0 take long enough to be ended
        (and their ids reused) while they run."""
        if self.model.head >= MAX_LOG:
            return  # not a precondition: what hypothesis draws must not depend on the log
        effects = [
            ("put", collection, KEYS[i % len(KEYS)], self._next_value()) for i in range(BULK)
        ]
        body = [{"op": op, "collection": c, "key": k, "value": v} for op, c, k, v in effects]
        response = self.rest.post("/v1/batch", json={"ops": body})
        assert response.status_code == 200, response.text
        for effect in effects:
            self.model.record(*effect)
        assert response.json()["seq"] == self.model.head

    # --- the shared socket: several subscriptions, ids reused ---------------------------

    @rule(
        sub_id=st.sampled_from(SUB_IDS),
        flt=st.sampled_from(FILTERS),
        replay=st.none() | st.integers(0, 40) | st.just(10**9),
        churn=st.booleans(),
        end_at_once=st.booleans(),
        writes=st.sampled_from([0, 0, 6, 30]),
    )
    def shared_subscribe(
        self,
        sub_id: str,
        flt: dict[str, str],
        replay: int | None,
        churn: bool,
        end_at_once: bool,
        writes: int,
    ) -> None:
        """(Re)subscribe `sub_id` on the shared socket, in one write: end it first if it
        runs; with `churn`, first a subscription from 0 ended at once (its replay is
        cancelled as it starts, and the id reused at once). With `end_at_once`, it is
        unsubscribed as soon as it is answered, while its replay runs."""
        if self.shared is None:
            self.shared = SharedSocket(self.server)
        shared = self.shared
        since = None if replay is None else max(self.model.head - replay, 0)
        ops = [shared.unsubscribe(sub_id)] if sub_id in shared.active else []
        if churn:
            ops += [shared.subscribe(sub_id, flt, 0), shared.unsubscribe(sub_id)]
        ops.append(shared.subscribe(sub_id, flt, since))
        shared.wait(self._while_writing(writes, lambda: shared.send(ops)))
        shared.active.add(sub_id)
        if end_at_once:
            shared.wait(shared.send([shared.unsubscribe(sub_id)]))
            shared.active.discard(sub_id)
            self.put("m1", "a")

    @precondition(lambda self: self.shared is not None and self.shared.active)
    @rule(data=st.data(), then_subscribe=st.booleans())
    def shared_unsubscribe(self, data: st.DataObject, then_subscribe: bool) -> None:
        """End a subscription (while its replay may still run); nothing of it may follow
        the reply: the reader flags a change of an id with no subscription."""
        shared = self.shared
        assert shared is not None
        sub_id = data.draw(st.sampled_from(sorted(shared.active)))
        ops = [shared.unsubscribe(sub_id)]
        if then_subscribe:  # and reuse the id at once, from a few changes back
            ops.append(shared.subscribe(sub_id, FILTERS[1], max(self.model.head - 5, 0)))
        else:
            shared.active.discard(sub_id)
        shared.wait(shared.send(ops))
        self.put("m1", "a")

    def _check_shared(self) -> None:
        shared = self.shared
        if shared is None:
            return
        for stream in shared.streams:
            expected = self.model.expected(stream.flt, stream.start)
            live = not stream.ended and stream.start >= 0
            deadline = time.monotonic() + TIMEOUT
            while live and len(stream.received) < len(expected) and time.monotonic() < deadline:
                time.sleep(0.002)
            received = list(stream.received)
            assert not shared.errors, shared.errors
            if live:
                assert received == expected, (stream.flt, [c[0] for c in received][:20])
            else:  # ended: what it got is a clean prefix of its stream
                assert received == expected[: len(received)], (stream.flt, received[:5])

    # --- subscribers --------------------------------------------------------------------

    def _while_writing(self, writes: int, action: Callable[[], T]) -> T:
        """Run `action` while three other threads commit `writes` puts in all, so that
        subscriptions and resumes race commits (and group commits)."""
        busy = threading.Barrier(4, timeout=TIMEOUT)
        done: list[tuple[int, str, str, Any]] = []
        values = [self._next_value() for _ in range(writes)]

        def write(part: int) -> None:
            with self.server.client() as rest:
                rest.get("/healthz")  # connected before the race starts
                busy.wait()
                for i in range(part, writes, 3):
                    collection, key = COLLECTIONS[i % 2], KEYS[i % len(KEYS)]
                    response = rest.put(f"/v1/collections/{collection}/docs/{key}", json=values[i])
                    assert response.status_code in (200, 201), response.text
                    done.append((response.json()["rev"], collection, key, values[i]))

        writers = [threading.Thread(target=write, args=(n,), daemon=True) for n in range(3)]
        for writer in writers:
            writer.start()
        busy.wait()
        try:
            return action()
        finally:
            for writer in writers:
                writer.join(TIMEOUT)
                assert not writer.is_alive()
            # Concurrent writes commit in some order: the model takes the server's.
            for rev, collection, key, value in sorted(done):
                self.model.record("put", collection, key, value)
                assert rev == self.model.head
            assert len(done) == writes

    @precondition(lambda self: len(self.subs) < 4)
    @rule(
        flt=st.sampled_from(FILTERS),
        replay=st.none() | st.integers(0, 40),
        writes=st.sampled_from([0, 0, 6, 30]),
    )
    def subscribe(self, flt: dict[str, str], replay: int | None, writes: int) -> None:
        # Live only (from the head at the subscription), or from `replay` changes back.
        since = None if replay is None else max(self.model.head - replay, 0)
        sub = Subscriber(flt, since if since is not None else -1)
        head = self._while_writing(writes, lambda: sub.connect(self.server, since))
        if since is None:
            sub.start = head
        self.subs.append(sub)

    @precondition(lambda self: any(s.ws is not None for s in self.subs))
    @rule(data=st.data(), abrupt=st.booleans())
    def disconnect(self, data: st.DataObject, abrupt: bool) -> None:
        sub = data.draw(st.sampled_from([s for s in self.subs if s.ws is not None]))
        sub.disconnect(abrupt)

    @precondition(lambda self: any(s.ws is None for s in self.subs))
    @rule(data=st.data())
    def resume(self, data: st.DataObject) -> None:
        sub = data.draw(st.sampled_from([s for s in self.subs if s.ws is None]))
        writes = data.draw(st.sampled_from([0, 6, 30]))
        self._while_writing(writes, lambda: sub.connect(self.server, sub.last))

    @precondition(lambda self: any(s.ws is not None for s in self.subs))
    @rule(data=st.data())
    def unsubscribe(self, data: st.DataObject) -> None:
        sub = data.draw(st.sampled_from([s for s in self.subs if s.ws is not None]))
        self._check(sub)
        assert sub.request({"op": "unsubscribe", "id": "u", "sub": "s"})["ok"] is True
        # A write after the unsubscribe reaches it no more: had it been queued, it would
        # come before the pong (a write is queued to subscribers before it is answered).
        received = list(sub.received)
        self.put("m1", "a")
        assert sub.request({"op": "ping", "id": "p"})["type"] == "pong"
        assert sub.received == received
        sub.disconnect(abrupt=False)
        self.subs.remove(sub)

    # --- the check ------------------------------------------------------------------------

    def _check(self, sub: Subscriber) -> None:
        expected = self.model.expected(sub.flt, sub.start)
        if sub.ws is not None:
            sub.catch_up(len(expected))
        received = list(sub.received)
        assert not sub.errors, sub.errors
        seqs = [c[0] for c in received]
        assert len(set(seqs)) == len(seqs), f"duplicates for {sub.flt}: {seqs}"
        assert all(matches(sub.flt, c[2], c[3]) for c in received), "a foreign change"
        if sub.ws is not None:
            assert received == expected, (sub.flt, seqs, [c[0] for c in expected])
        else:  # dropped off: what it has is a clean prefix
            assert received == expected[: len(received)]

    @invariant()
    def every_subscriber_got_exactly_its_changes(self) -> None:
        for sub in self.subs:
            self._check(sub)
        self._check_shared()

    def teardown(self) -> None:
        if self.shared is not None:
            self.shared.close()
        for sub in self.subs:
            if sub.ws is not None:
                sub.disconnect(abrupt=False)
        self.rest.close()


@pytest.fixture(scope="module")
def model_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server of its own: the model must know every change in its log."""
    proc = start_server(tmp_path_factory.mktemp("model"))
    yield proc
    proc.stop()


def test_delivery_matches_the_model(model_server: ServerProcess) -> None:
    shared = Model()

    class Machine(Delivery):
        server = model_server
        model = shared

    run_state_machine_as_test(
        Machine,
        settings=settings(
            max_examples=30,
            stateful_step_count=40,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            # No shrinking: the server and its log outlive each example and the races
            # are timing-dependent, so a replayed example is not the same run; the
            # failing steps are reported as they ran.
            phases=[Phase.explicit, Phase.reuse, Phase.generate],
        ),
    )
    # The model is the server's log: same seqs, ops, keys and values.
    server_log: list[Change] = []
    with model_server.client() as rest:
        for _ in range(1000):
            params = {"collection": "*", "since": len(server_log), "limit": 1000}
            page = rest.get("/v1/changes", params=params).json()
            server_log += [
                (c["seq"], c["op"], c["collection"], c["key"], c["value"]) for c in page["changes"]
            ]
            if page["last_seq"] >= page["head_seq"]:
                break
    assert server_log == shared.log
