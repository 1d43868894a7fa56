"""SIGTERM with real-time clients attached: sockets close with 1001, SSE streams end, writes
that were answered are kept, and the process exits 0."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.realtime_clients import TIMEOUT, log_changes, sse_stream, ws_client
from tests.server import ServerProcess


async def test_sigterm_drains_realtime_clients_and_exits_0(fresh_server: ServerProcess) -> None:
    server = fresh_server.start()
    acked: list[int] = []
    stop_writing = asyncio.Event()

    async def writer(rest: httpx.AsyncClient, worker: int) -> None:
        for i in range(100_000):
            if stop_writing.is_set():
                return
            try:
                response = await rest.put(f"/v1/collections/c/docs/w{worker}-{i}", json=i)
            except httpx.TransportError:
                return  # the server stopped answering: fine, as long as it answered right
            if response.status_code == 503:
                return
            assert response.status_code == 201, response.text
            acked.append(response.json()["rev"])

    async with (
        server.async_client() as rest,
        ws_client(server) as ws,
        ws_client(server) as idle,
        sse_stream(rest, collection="c") as stream,
        sse_stream(rest, channel="room") as channel_stream,
    ):
        await ws.subscribe("s", collection="c")
        await ws.ok("join", channel="room", state=None)
        first = (await rest.put("/v1/collections/c/docs/first", json=0)).json()["rev"]
        assert [c["seq"] for c in await ws.changes("s", first)] == [first]
        assert [c["seq"] for c in await stream.changes(first)] == [first]
        await idle.request("ping")

        async with httpx.AsyncClient(
            base_url=server.url, headers=server.headers(), timeout=TIMEOUT
        ) as writers_rest:
            writers = [asyncio.create_task(writer(writers_rest, n)) for n in range(4)]
            await asyncio.sleep(0.2)  # writes are in flight when the signal comes
            exit_code = await asyncio.to_thread(server.stop)
            stop_writing.set()
            await asyncio.gather(*writers)
        assert exit_code == 0, server.log_tail()

        assert (await ws.closed())[0] == 1001
        assert (await idle.closed())[0] == 1001
        # The streams end cleanly (no error): whatever came before the end were changes.
        assert all(e.event == "change" for e in await stream.end())
        assert all(e.event in ("presence", "message") for e in await channel_stream.end())
        assert stream.ended and channel_stream.ended

    # Every write that was answered is there after a restart.
    server.start()
    async with server.async_client() as rest:
        kept = {c["seq"] for c in await log_changes(rest, "c")}
    assert len(acked) > 10 and set(acked) <= kept


@pytest.mark.leveldb_only
def test_a_clean_stop_leaves_no_log_to_replay(fresh_server: ServerProcess) -> None:
    """SIGTERM flushes LevelDB's memtable: the next start replays no write-ahead log
    (a full memtable's replay held up every start of a big database by ~0.5 s)."""
    server = fresh_server.start()
    with server.client() as rest:
        for i in range(200):
            assert rest.put(f"/v1/collections/c/docs/k{i}", json={"i": i}).status_code == 201
    assert server.stop() == 0, server.log_tail()
    logs = {p.name: p.stat().st_size for p in (server.data_dir / "db").glob("*.log")}
    assert logs and not any(logs.values()), logs
    server.start()
    with server.client() as rest:
        assert rest.get("/v1/collections/c/docs/k199").json()["value"] == {"i": 199}
