"""Subscription ids on one WebSocket: an id ended and reused while its replay runs.

Each subscription owns its replay. A replay cancelled by `unsubscribe` must not take
down (or leave unstoppable) the replay of a later subscription with the same id, and
once an unsubscribe is answered, nothing more of that subscription arrives.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import orjson
from websockets.sync.client import ClientConnection, connect

from tests.realtime_clients import TIMEOUT, client_frame, start_server, ws_options, ws_url
from tests.server import ServerProcess

CHANGES = 20_000  # enough that a replay waits for a reader that stops (1 KiB values)
TAIL = 5_000


def _fill(server: ServerProcess, collection: str) -> int:
    pad = "x" * 1000
    with server.client() as rest:
        for block in range(CHANGES // 1000):
            ops = [
                {"op": "put", "collection": collection, "key": f"k{block}-{i}", "value": {"p": pad}}
                for i in range(1000)
            ]
            response = rest.post("/v1/batch", json={"ops": ops})
            assert response.status_code == 200, response.text
        return int(response.json()["seq"])


def _sub(request_id: str, since: int) -> bytes:
    frame = {"op": "subscribe", "id": request_id, "sub": "s1", "since": since, "collection": "*"}
    return client_frame(frame)


def _unsub(request_id: str) -> bytes:
    return client_frame({"op": "unsubscribe", "id": request_id, "sub": "s1"})


def _frames(ws: ClientConnection, until_id: str) -> list[dict[str, Any]]:
    """Every frame up to and including the reply (or pong) with `until_id`."""
    out = []
    for _ in range(10 * CHANGES):
        frame = orjson.loads(ws.recv(timeout=TIMEOUT))
        out.append(frame)
        if frame.get("type") in ("reply", "pong") and frame.get("id") == until_id:
            return out
    raise AssertionError(f"no reply {until_id}")


def _reuse_during_replay(ws: ClientConnection, last_step: bytes) -> None:
    """Subscribe s1 from 0; at once unsubscribe and subscribe s1 from 0 again (one
    write: the server reads them together); 50 ms later, while that replay runs,
    `last_step`. Frames are written raw so that each group goes out in one write."""
    ws.socket.sendall(_sub("a", 0) + _unsub("b") + _sub("c", 0))
    time.sleep(0.05)
    ws.socket.sendall(last_step)


def _connect(server: ServerProcess) -> ClientConnection:
    # An unbounded queue: the client reads everything as it comes, as a fast reader.
    return connect(ws_url(server), max_queue=None, **ws_options())


def test_a_reused_id_gets_no_orphaned_replay(tmp_path: Path) -> None:
    server = start_server(tmp_path, LEVELSTREAM_DURABILITY="async")
    try:
        head = _fill(server, "reuse")
        since = head - TAIL
        with _connect(server) as ws:
            _reuse_during_replay(ws, _unsub("d") + _sub("e", since))
            assert _frames(ws, "d")[-1]["ok"] is True
            after = _frames(ws, "e")
            assert after[-1]["ok"] is True, after[-1]
            # Between the unsubscribe's reply and the new subscription's: nothing of s1.
            assert [f for f in after if f["type"] == "change"] == []
            received: list[int] = []
            while len(received) < TAIL:
                frame = orjson.loads(ws.recv(timeout=TIMEOUT))
                assert frame["type"] == "change" and frame["sub"] == "s1", frame
                received.append(frame["change"]["seq"])
            ws.send(orjson.dumps({"op": "ping", "id": "p"}).decode())
            received += [f["change"]["seq"] for f in _frames(ws, "p") if f["type"] == "change"]
        # Exactly the changes after `since`, once each, in order: nothing of the
        # subscription that was ended.
        expected = list(range(since + 1, head + 1))
        assert received == expected, (len(received), received[:3], min(received))
    finally:
        server.stop()


def test_an_answered_unsubscribe_ends_a_running_replay(tmp_path: Path) -> None:
    """The unsubscribe reply comes only once the subscription can send nothing more."""
    server = start_server(tmp_path, LEVELSTREAM_DURABILITY="async")
    try:
        _fill(server, "stop")
        with _connect(server) as ws:
            _reuse_during_replay(ws, _unsub("d"))
            assert _frames(ws, "d")[-1]["ok"] is True
            ws.send(orjson.dumps({"op": "ping", "id": "p"}).decode())
            late = [f for f in _frames(ws, "p") if f["type"] == "change"]
        assert late == [], f"{len(late)} change frames after the unsubscribe was answered"
    finally:
        server.stop()
