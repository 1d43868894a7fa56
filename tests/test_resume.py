"""Resume: a subscriber that drops off at random points and comes back from its last seq gets
exactly what `/v1/changes` reports (no gap, no duplicate, in order), over WebSocket, SSE and
long-poll, also across a graceful restart and a SIGKILL of the server; a cursor the server
can no longer honour gets an explicit reset instead."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from tests.realtime_clients import (
    TIMEOUT,
    StreamRefused,
    assert_exactly,
    head_seq,
    log_changes,
    sse_stream,
    ws_client,
)
from tests.server import ServerProcess

Change = dict[str, Any]


class ServerGoingDown(Exception):
    pass


def expect_status(response: httpx.Response, *ok: int) -> None:
    if response.status_code == 503:  # shutting down: try again once it is back
        raise ServerGoingDown
    assert response.status_code in ok, response.text


class Writes:
    """A writer that keeps a collection busy with puts, deletes, patches and batches.

    Writes that fail because the server is going down are retried; the change
    log, not this writer, is the oracle of what was committed.
    """

    def __init__(self, server: ServerProcess, colls: list[str], count: int, seed: int) -> None:
        self.server = server
        self.colls = colls
        self.count = count
        self.rng = random.Random(seed)
        self.acked = 0
        self.acked_revs: list[int] = []
        self.halfway = asyncio.Event()
        self.finished = asyncio.Event()

    async def _one(self, rest: httpx.AsyncClient) -> None:
        rng = self.rng
        coll = rng.choice(self.colls)
        key = f"k{rng.randrange(12)}"
        kind = rng.random()
        if kind < 0.55:
            response = await rest.put(f"/v1/collections/{coll}/docs/{key}", json={"n": self.acked})
            expect_status(response, 200, 201)
            self.acked_revs.append(response.json()["rev"])
        elif kind < 0.7:
            response = await rest.delete(f"/v1/collections/{coll}/docs/{key}")
            expect_status(response, 204, 404)
        elif kind < 0.8:
            response = await rest.patch(f"/v1/collections/{coll}/docs/{key}", json={"p": 1})
            expect_status(response, 200, 404)
        else:
            ops = [
                {"op": "put", "collection": coll, "key": f"b{i}", "value": {"n": self.acked}}
                for i in range(rng.randint(2, 8))
            ]
            response = await rest.post("/v1/batch", json={"ops": ops})
            expect_status(response, 200)
            self.acked_revs.append(response.json()["seq"])

    async def run(self, pause: float = 0.0) -> None:
        async with httpx.AsyncClient(
            base_url=self.server.url, headers=self.server.headers(), timeout=TIMEOUT
        ) as rest:
            failures = 0
            while self.acked < self.count:
                try:
                    await self._one(rest)
                except (httpx.TransportError, ServerGoingDown):
                    failures += 1
                    assert failures < 2000, "the server did not come back"
                    await asyncio.sleep(0.05)
                    continue
                self.acked += 1
                if self.acked >= self.count // 2:
                    self.halfway.set()
                if pause:
                    await asyncio.sleep(pause * self.rng.random())
        self.finished.set()


SENTINEL = {"sentinel": "the writer is done"}


def is_sentinel(change: Change) -> bool:
    return bool(change["value"] == SENTINEL)


async def settle(server: ServerProcess, writes: Writes, sentinel: str, **flt: Any) -> list[Change]:
    """Once the writer is done: the sentinel write, then the whole log up to it."""
    await writes.finished.wait()
    async with server.async_client() as rest:
        response = await rest.put(sentinel, json=SENTINEL)
        assert response.status_code in (200, 201), response.text
        return await log_changes(rest, **flt)


# --- followers: one per transport, each dropping off at random ---------------------------------


async def follow_ws(
    server: ServerProcess, since: int, rng: random.Random, **flt: Any
) -> list[Change]:
    received: list[Change] = []
    last = since
    last_from = server.starts  # which server process sent `last`
    epoch: str | None = None
    for _ in range(5000):
        if received and is_sentinel(received[-1]):
            return received
        try:
            async with ws_client(server) as ws:
                reply = await ws.request("subscribe", sub="s", since=last, epoch=epoch, **flt)
                assert reply["ok"] is True, (
                    f"{reply}: seq {last} came from server process #{last_from}, "
                    f"this one is #{server.starts}"
                )
                assert reply["sub"] == "s"
                epoch = epoch or reply["epoch"]
                for _ in range(rng.randint(1, 60)):
                    frame = await ws.expect(lambda f: f["type"] in ("change", "reset"))
                    assert frame["type"] == "change", f"unexpected {frame}"
                    received.append(frame["change"])
                    last, last_from = frame["change"]["seq"], server.starts
                    if is_sentinel(frame["change"]):
                        return received
                if rng.random() < 0.5:
                    ws.vanish()  # no close frame, possibly mid-batch, with frames in flight
        except (ConnectionClosed, OSError, InvalidHandshake):
            await asyncio.sleep(0.05)  # the server is restarting
    raise AssertionError("the WebSocket follower did not finish")


async def follow_sse(
    server: ServerProcess, since: int, rng: random.Random, **flt: Any
) -> list[Change]:
    received: list[Change] = []
    last = since
    epoch: str | None = None
    for _ in range(5000):
        if received and is_sentinel(received[-1]):
            return received
        try:
            async with server.async_client() as rest:
                if epoch is None:
                    epoch = (await rest.get("/healthz")).headers["x-levelstream-epoch"]
                # Last-Event-ID wins over `since`: a stale since must not matter.
                headers = {"Last-Event-ID": str(last)}
                async with sse_stream(rest, headers, since=since, epoch=epoch, **flt) as stream:
                    for _ in range(rng.randint(1, 60)):
                        event = await stream.next_event()
                        if event is None:
                            break  # the server ended the stream (shutting down)
                        assert event.event == "change", event
                        change = event.json()
                        assert event.id == str(change["seq"])
                        received.append(change)
                        last = change["seq"]
                        if is_sentinel(change):
                            return received
        except (httpx.TransportError, StreamRefused) as exc:
            if isinstance(exc, StreamRefused) and exc.status != 503:  # 503: draining
                raise
            await asyncio.sleep(0.05)
    raise AssertionError("the SSE follower did not finish")


async def follow_poll(
    server: ServerProcess, since: int, rng: random.Random, **flt: Any
) -> list[Change]:
    received: list[Change] = []
    last = since
    async with server.async_client() as rest:
        for _ in range(20_000):
            if received and is_sentinel(received[-1]):
                return received
            params = {"since": last, "limit": rng.randint(1, 50), "wait": 5, **flt}
            try:
                # Give up on some requests mid-wait, as a client that goes away would.
                response = await asyncio.wait_for(
                    rest.get("/v1/changes", params=params), rng.choice([0.01, 0.2, TIMEOUT])
                )
            except (TimeoutError, httpx.TransportError):
                await asyncio.sleep(0.02)
                continue
            if response.status_code == 503:
                await asyncio.sleep(0.05)
                continue
            assert response.status_code == 200, response.text
            page = response.json()
            received.extend(page["changes"])
            assert page["last_seq"] >= last
            last = page["last_seq"]
    raise AssertionError("the long-poll follower did not finish")


Follower = Callable[..., Awaitable[list[Change]]]


@pytest.mark.parametrize("follow", [follow_ws, follow_sse, follow_poll], ids=["ws", "sse", "poll"])
async def test_random_disconnects_then_resume(
    server: ServerProcess, coll: str, follow: Follower
) -> None:
    rng = random.Random(follow.__name__)
    async with server.async_client() as rest:
        start = await head_seq(rest)
    writes = Writes(server, [coll, coll + "_x"], 300, seed=rng.randrange(2**32))
    writer = asyncio.create_task(writes.run(pause=0.004))
    received, log = await asyncio.gather(
        follow(server, start, rng, collection=coll),
        settle(server, writes, f"/v1/collections/{coll}/docs/end", collection=coll, since=start),
    )
    await writer
    assert len(log) > 100
    assert_exactly(received, log)


async def test_resume_with_a_prefix_filter_over_all_collections(
    server: ServerProcess, coll: str
) -> None:
    rng = random.Random("prefix")
    async with server.async_client() as rest:
        start = await head_seq(rest)
    writes = Writes(server, [coll, coll + "_x"], 200, seed=rng.randrange(2**32))
    writer = asyncio.create_task(writes.run(pause=0.004))
    received, log = await asyncio.gather(
        follow_ws(server, start, rng, collection="*", prefix="b"),
        settle(
            server,
            writes,
            f"/v1/collections/{coll}/docs/b-end",
            collection="*",
            prefix="b",
            since=start,
        ),
    )
    await writer
    # Other tests may write to the shared server at the same time: compare ours.
    ours = [c for c in log if c["collection"].startswith(coll)]
    assert ours and all(c["key"].startswith("b") for c in received)
    assert_exactly([c for c in received if c["collection"].startswith(coll)], ours)


@pytest.mark.parametrize("how", ["graceful", "sigkill"])
async def test_resume_across_server_restarts(fresh_server: ServerProcess, how: str) -> None:
    server = fresh_server.start()
    rng = random.Random(how)
    writes = Writes(server, ["tickets", "other"], 400, seed=1)
    writer = asyncio.create_task(writes.run(pause=0.002))

    async def restart() -> None:
        await writes.halfway.wait()
        for _ in range(2):
            await asyncio.sleep(rng.uniform(0.05, 0.3))
            if how == "graceful":
                assert await asyncio.to_thread(server.stop) == 0
            else:
                await asyncio.to_thread(server.kill)
            await asyncio.to_thread(server.start)

    restarts = asyncio.create_task(restart())
    flt = {"collection": "tickets"}
    received_ws, received_sse, received_poll, log = await asyncio.gather(
        follow_ws(server, 0, random.Random(1), **flt),
        follow_sse(server, 0, random.Random(2), **flt),
        follow_poll(server, 0, random.Random(3), **flt),
        settle_after(restarts, server, writes, **flt),
    )
    await writer
    assert len(log) > 100
    for received in (received_ws, received_sse, received_poll):
        assert_exactly(received, log)
    # Every acknowledged write survived (durability sync), restarts or not.
    async with server.async_client() as rest:
        everything = {c["seq"] for c in await log_changes(rest)}
    assert set(writes.acked_revs) <= everything


async def settle_after(
    restarts: asyncio.Task[None], server: ServerProcess, writes: Writes, **flt: Any
) -> list[Change]:
    await restarts
    sentinel = f"/v1/collections/{flt['collection']}/docs/end"
    return await settle(server, writes, sentinel, since=0, **flt)


# --- cursors the server cannot honour: reset, never a silent gap ---------------------------


async def wait_for_compaction(rest: httpx.AsyncClient, collection: str, oldest: int) -> None:
    """Poll until the log has been trimmed to start at `oldest` (a 410 names it)."""
    for _ in range(400):
        response = await rest.get("/v1/changes", params={"collection": collection, "since": 0})
        if response.status_code == 410:
            problem = response.json()
            assert problem["code"] == "history_compacted"
            assert problem["oldest_seq"] <= oldest
            if problem["oldest_seq"] == oldest:
                return
        else:
            assert response.status_code == 200, response.text
        await asyncio.sleep(0.05)
    raise AssertionError("the change log was never trimmed")


async def test_cursor_older_than_retention_gets_reset(fresh_server: ServerProcess) -> None:
    fresh_server.env.update(
        LEVELSTREAM_RETENTION_CHANGES="5", LEVELSTREAM_MAINTENANCE_INTERVAL_S="0.2"
    )
    server = fresh_server.start()
    async with server.async_client() as rest:
        for i in range(30):
            response = await rest.put(f"/v1/collections/c/docs/k{i % 7}", json={"i": i})
            assert response.status_code in (200, 201)
        oldest = 30 - 5 + 1  # the last 5 changes are kept
        await wait_for_compaction(rest, "c", oldest)
        kept = await log_changes(rest, "c", since=oldest - 1)
        assert kept and kept[0]["seq"] == oldest

        # Long-poll: 410 with the oldest seq, even while waiting.
        params = {"collection": "c", "since": oldest - 2, "wait": 1}
        response = await rest.get("/v1/changes", params=params)
        assert response.status_code == 410 and response.json()["oldest_seq"] == oldest

        # WebSocket: the subscription is answered, then reset with the oldest seq, and ends.
        async with ws_client(server) as ws:
            await ws.subscribe("old", collection="c", since=oldest - 2)
            reset = await ws.expect(lambda f: f["type"] in ("reset", "change"))
            assert reset == {"type": "reset", "sub": "old", "oldest_seq": oldest}
            # Resuming from what is kept works: exactly the kept changes, then live ones.
            await ws.subscribe("again", collection="c", since=oldest - 1)
            rev = (await rest.put("/v1/collections/c/docs/new", json=1)).json()["rev"]
            got = await ws.changes("again", rev)
            assert got[:-1] == kept and (got[-1]["seq"], got[-1]["key"]) == (rev, "new")
            await ws.request("ping")
            assert not [f for f in ws.pending if f.get("sub") == "old"], "the reset sub lives on"

        # SSE: `event: reset` with the oldest seq, then the stream ends (since or Last-Event-ID).
        oldest = rev - 5 + 1
        await wait_for_compaction(rest, "c", oldest)
        for params, headers in (({"since": 0}, {}), ({}, {"Last-Event-ID": str(oldest - 2)})):
            async with sse_stream(rest, headers, collection="c", **params) as stream:
                events = await stream.end()
            assert [(e.event, e.json()) for e in events] == [("reset", {"oldest_seq": oldest})]


async def test_cursor_of_another_database_gets_reset(
    server: ServerProcess, fresh_server: ServerProcess, coll: str
) -> None:
    other = fresh_server.start()
    async with server.async_client() as rest, other.async_client() as other_rest:
        for i in range(3):
            await other_rest.put(f"/v1/collections/c/docs/k{i}", json=i)
        foreign = (await other_rest.get("/healthz")).headers["x-levelstream-epoch"]
        ours = (await rest.get("/healthz")).headers["x-levelstream-epoch"]
        assert foreign != ours
        head = await head_seq(rest)
        # A cursor from a restored or replaced database: its seqs mean nothing here, even
        # ones ahead of this database's head.
        for since in (0, head, head + 1000):
            async with ws_client(server) as ws:
                reply = await ws.subscribe("s", collection=coll, since=since, epoch=foreign)
                assert reply["epoch"] == ours
                reset = await ws.expect(lambda f: f["type"] in ("reset", "change"))
                assert reset["type"] == "reset" and reset["sub"] == "s"
                assert isinstance(reset["oldest_seq"], int)
            async with sse_stream(rest, collection=coll, since=since, epoch=foreign) as stream:
                events = await stream.end()
            assert [e.event for e in events] == ["reset"]
            assert isinstance(events[0].json()["oldest_seq"], int)
        # The same epoch is no reason for a reset.
        async with ws_client(server) as ws:
            await ws.subscribe("s", collection=coll, since=head, epoch=ours)
            rev = (await rest.put(f"/v1/collections/{coll}/docs/x", json=1)).json()["rev"]
            assert [c["seq"] for c in await ws.changes("s", rev)][-1] == rev


async def test_catching_up_from_far_behind_while_writes_keep_coming(
    fresh_server: ServerProcess,
) -> None:
    """A resume that replays thousands of changes while live ones keep committing: the live
    ones outrun the subscriber's bounded buffer, and are then read from the log instead."""
    fresh_server.env["LEVELSTREAM_WS_QUEUE_LIMIT"] = "100"
    server = fresh_server.start()
    async with server.async_client() as rest:
        for start in range(0, 3000, 1000):
            ops = [
                {"op": "put", "collection": "c", "key": f"k{i}", "value": i}
                for i in range(start, start + 1000)
            ]
            assert (await rest.post("/v1/batch", json={"ops": ops})).status_code == 200

        async def keep_writing() -> None:
            for n in range(60):
                ops = [
                    {"op": "put", "collection": "c", "key": f"live{n}-{i}", "value": n}
                    for i in range(40)
                ]
                assert (await rest.post("/v1/batch", json={"ops": ops})).status_code == 200
            assert (await rest.put("/v1/collections/c/docs/end", json=SENTINEL)).status_code == 201

        writer = asyncio.create_task(keep_writing())
        received: list[Change] = []
        async with ws_client(server) as ws:
            await asyncio.sleep(0.05)
            await ws.subscribe("s", collection="c", since=0)
            for _ in range(10_000):
                frame = await ws.expect(lambda f: f["type"] in ("change", "reset"))
                assert frame["type"] == "change", frame
                received.append(frame["change"])
                if is_sentinel(received[-1]):
                    break
        await writer
        assert_exactly(received, await log_changes(rest, "c"))
