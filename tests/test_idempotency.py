"""Idempotency keys through a real server, on both stores: a write retried with its key is
applied once and answered the same way, also across a SIGKILL between its commit and
the answer; another request under the key is a 422; errors are not remembered; keys are
per credential; a key is free again after its retention window."""

from __future__ import annotations

import asyncio
import http.client
import json
import time
import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from app.store.leveldb_driver import plyvel
from tests.cluster_support import run_async
from tests.helpers import assert_problem, head_seq, read_changes
from tests.realtime_clients import ws_client
from tests.server import ServerProcess


def idem(key: str | None = None) -> dict[str, str]:
    return {"Idempotency-Key": key or "k-" + uuid.uuid4().hex}


def assert_replay(first: httpx.Response, again: httpx.Response) -> None:
    """The same answer, byte for byte, marked as a replay."""
    assert again.status_code == first.status_code
    assert again.content == first.content
    for header in ("etag", "location", "content-type"):
        assert again.headers.get(header) == first.headers.get(header)
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == "true"


def test_a_retried_put_replays_the_first_answer_and_writes_once(
    client: httpx.Client, coll: str
) -> None:
    headers = idem()
    first = client.put(f"/v1/collections/{coll}/docs/a", json={"n": 1}, headers=headers)
    assert first.status_code == 201, first.text
    # Another write moves the document on: the retry must not write again, nor fail its
    # own condition, nor answer with the document as it is now.
    assert client.put(f"/v1/collections/{coll}/docs/a", json={"n": 2}).status_code == 200
    again = client.put(f"/v1/collections/{coll}/docs/a", json={"n": 1}, headers=headers)
    assert_replay(first, again)
    assert again.json()["value"] == {"n": 1} and again.headers["etag"] == first.headers["etag"]
    assert [c["value"] for c in read_changes(client, coll)] == [{"n": 1}, {"n": 2}]
    assert client.get(f"/v1/collections/{coll}/docs/a").json()["value"] == {"n": 2}


def test_every_rest_write_replays(client: httpx.Client, coll: str) -> None:
    docs = f"/v1/collections/{coll}/docs"
    created = client.post(docs, json={"new": True}, headers=(h := idem()))
    assert created.status_code == 201
    assert_replay(created, client.post(docs, json={"new": True}, headers=h))
    key = created.json()["key"]
    patch = client.patch(f"{docs}/{key}", json={"more": 1}, headers=(h := idem()))
    assert patch.status_code == 200
    assert_replay(patch, client.patch(f"{docs}/{key}", json={"more": 1}, headers=h))
    conditional = {"If-Match": f'"{patch.json()["rev"]}"'}
    gone = client.delete(f"{docs}/{key}", headers={**conditional, **(h := idem())})
    assert gone.status_code == 204
    # The condition no longer holds and the document is gone: the retry still succeeds.
    assert_replay(gone, client.delete(f"{docs}/{key}", headers={**conditional, **h}))
    assert [c["op"] for c in read_changes(client, coll)] == ["put", "put", "delete"]
    assert client.get(docs).json()["items"] == []


def test_a_retried_batch_replays_and_writes_once(client: httpx.Client, coll: str) -> None:
    body = {
        "ops": [{"op": "put", "collection": coll, "key": f"k{i}", "value": i} for i in range(3)]
    }
    headers = idem()
    first = client.post("/v1/batch", json=body, headers=headers)
    assert first.status_code == 200, first.text
    assert_replay(first, client.post("/v1/batch", json=body, headers=headers))
    assert len(read_changes(client, coll)) == 3


def test_the_same_key_for_another_request_is_refused(client: httpx.Client, coll: str) -> None:
    headers = idem()
    docs = f"/v1/collections/{coll}/docs"
    assert client.put(f"{docs}/a", json={"n": 1}, headers=headers).status_code == 201
    before = head_seq(client)
    delete_a = {"op": "delete", "collection": coll, "key": "a"}
    others = [
        client.put(f"{docs}/a", json={"n": 2}, headers=headers),  # another body
        client.put(f"{docs}/b", json={"n": 1}, headers=headers),  # another path
        client.patch(f"{docs}/a", json={"n": 1}, headers=headers),  # another method
        client.put(f"{docs}/a?ttl_s=60", json={"n": 1}, headers=headers),  # another query
        client.put(f"{docs}/a", json={"n": 1}, headers={**headers, "If-Match": '"1"'}),
        client.post("/v1/batch", json={"ops": [delete_a]}, headers=headers),  # another way in
    ]
    for response in others:
        problem = assert_problem(response, 422, "validation_failed")
        assert "another request" in problem["detail"]
    assert head_seq(client) == before
    # The same JSON written differently is the same request.
    raw = client.put(f"{docs}/a", content=b'{ "n" :  1 }', headers=headers)
    assert raw.status_code == 201 and raw.headers["idempotent-replayed"] == "true"


@pytest.mark.parametrize("bad", ["", "a b", "é", "x" * 256, "tab\there"])
def test_a_malformed_key_is_refused(client: httpx.Client, coll: str, bad: str) -> None:
    before = head_seq(client)
    response = client.put(
        f"/v1/collections/{coll}/docs/a",
        json=1,
        headers={"Idempotency-Key": bad.encode("utf-8")},
    )
    assert_problem(response, 422, "validation_failed")
    assert head_seq(client) == before


def test_errors_are_not_remembered(client: httpx.Client, coll: str) -> None:
    doc = f"/v1/collections/{coll}/docs/a"
    headers = idem()
    # A patch of a document that does not exist: 404, twice (the retry runs again).
    assert_problem(client.patch(doc, json={"n": 1}, headers=headers), 404, "not_found")
    assert_problem(client.patch(doc, json={"n": 1}, headers=headers), 404, "not_found")
    # Once the document exists, the same request under the same key runs, and is
    # remembered from then on.
    assert client.put(doc, json={"n": 0}).status_code == 201
    written = client.patch(doc, json={"n": 1}, headers=headers)
    assert written.status_code == 200 and "idempotent-replayed" not in written.headers
    assert_replay(written, client.patch(doc, json={"n": 1}, headers=headers))
    assert [c["value"] for c in read_changes(client, coll)] == [{"n": 0}, {"n": 1}]


def test_keys_are_per_credential(server: ServerProcess, client: httpx.Client, coll: str) -> None:
    spec = {"name": "idem", "permissions": ["read", "write"], "collections": [coll]}
    created = client.post("/v1/keys", json=spec)
    assert created.status_code == 201, created.text
    token = created.json()["token"]
    headers = idem()
    doc = f"/v1/collections/{coll}/docs/a"
    mine = client.put(doc, json={"by": "admin"}, headers=headers)
    with httpx.Client(base_url=server.url, headers={"X-API-Key": token}, timeout=30) as other:
        theirs = other.put(doc, json={"by": "key"}, headers=headers)
        assert theirs.status_code == 200 and "idempotent-replayed" not in theirs.headers
        assert_replay(theirs, other.put(doc, json={"by": "key"}, headers=headers))
    assert_replay(mine, client.put(doc, json={"by": "admin"}, headers=headers))
    assert [c["value"] for c in read_changes(client, coll)] == [{"by": "admin"}, {"by": "key"}]


def test_concurrent_duplicates_write_once(server: ServerProcess, coll: str) -> None:
    async def fire() -> None:
        async with server.async_client() as client:
            for round_ in range(10):
                headers = idem()
                doc = f"/v1/collections/{coll}/docs/d{round_}"
                sends = [client.put(doc, json={"r": round_}, headers=headers) for _ in range(4)]
                answers = await asyncio.gather(*sends)
                written = [r for r in answers if r.status_code == 201]
                fresh = [r for r in written if "idempotent-replayed" not in r.headers]
                assert len(fresh) == 1, [(r.status_code, r.text) for r in answers]
                for response in answers:
                    if response.status_code == 409:
                        assert_problem(response, 409, "conflict")
                    else:
                        assert response.content == fresh[0].content

    asyncio.run(fire())
    with server.client() as client:
        changes = read_changes(client, coll)
    assert sorted(c["key"] for c in changes) == [f"d{i}" for i in range(10)]


def test_websocket_writes_replay(server: ServerProcess, client: httpx.Client, coll: str) -> None:
    async def run() -> None:
        async with ws_client(server) as ws:
            key = "ws-" + uuid.uuid4().hex
            put = {"collection": coll, "key": "a", "value": {"n": 1}, "idempotency_key": key}
            first = await ws.request("put", **put)
            again = await ws.request("put", **put)
            assert first["ok"] and again["ok"], (first, again)
            assert again["result"] == first["result"] and again["replayed"] is True
            assert "replayed" not in first
            moved = await ws.request("put", **{**put, "value": {"n": 2}})
            assert moved["ok"] is False and moved["error"]["code"] == "validation_failed"
            ops = [{"op": "put", "collection": coll, "key": "b", "value": 1}]
            batch_key = "wsb-" + uuid.uuid4().hex
            first = await ws.request("batch", ops=ops, idempotency_key=batch_key)
            again = await ws.request("batch", ops=ops, idempotency_key=batch_key)
            assert first["ok"] and again["result"] == first["result"] and again["replayed"]
            bad = await ws.request("delete", collection=coll, key="a", idempotency_key="a b")
            assert bad["ok"] is False and bad["error"]["code"] == "validation_failed"
            # A key first used over REST is not replayed in the WebSocket's shape.
            rest_key = "rest-" + uuid.uuid4().hex
            response = client.put(
                f"/v1/collections/{coll}/docs/c", json=1, headers={"Idempotency-Key": rest_key}
            )
            assert response.status_code == 201
            crossed = await ws.request(
                "put", collection=coll, key="c", value=1, idempotency_key=rest_key
            )
            assert crossed["error"]["code"] == "validation_failed"

    asyncio.run(run())
    assert [c["key"] for c in read_changes(client, coll)] == ["a", "b", "c"]


def _send_unanswered(
    server: ServerProcess, path: str, body: Any, key: str
) -> http.client.HTTPConnection:
    """Send a PUT and leave its answer unread (the caller closes the connection)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    payload = json.dumps(body).encode()
    headers = {**server.headers(), "Idempotency-Key": key, "Content-Type": "application/json"}
    conn.request("PUT", path, body=payload, headers=headers)
    return conn


def test_a_retry_after_sigkill_between_commit_and_answer_writes_once(
    fresh_server: ServerProcess, coll: str
) -> None:
    server = fresh_server.start()
    key = "crash-" + uuid.uuid4().hex
    doc = f"/v1/collections/{coll}/docs/a"
    with server.client() as client:
        before = head_seq(client)
        conn = _send_unanswered(server, doc, {"n": 1}, key)
        deadline = time.monotonic() + 20
        while head_seq(client) == before:  # committed (and fsynced): the answer is on its way
            assert time.monotonic() < deadline, "the write never committed"
    server.kill()  # the client never read the answer
    conn.close()
    server.start()
    with server.client() as client:
        retry = client.put(doc, json={"n": 1}, headers={"Idempotency-Key": key})
        assert retry.status_code == 201 and retry.headers["idempotent-replayed"] == "true"
        stored = client.get(doc)
        assert retry.content == stored.content and retry.headers["etag"] == stored.headers["etag"]
        assert len(read_changes(client, coll)) == 1


def test_a_key_is_free_again_after_its_retention(
    fresh_server: ServerProcess, coll: str, store_kind: str
) -> None:
    fresh_server.env["LEVELSTREAM_IDEMPOTENCY_TTL_S"] = "0.5"
    fresh_server.env["LEVELSTREAM_MAINTENANCE_INTERVAL_S"] = "0.1"
    server = fresh_server.start()
    headers = idem()
    doc = f"/v1/collections/{coll}/docs/a"
    with server.client() as client:
        first = client.put(doc, json={"n": 1}, headers=headers)
        assert first.status_code == 201
        time.sleep(0.6)
        # Past the window the key answers nothing: the same request writes again, and
        # another request is not refused.
        again = client.put(doc, json={"n": 1}, headers=headers)
        assert again.status_code == 200 and "idempotent-replayed" not in again.headers
        time.sleep(0.6)
        other = client.put(doc, json={"n": 2}, headers=headers)
        assert other.status_code == 200 and "idempotent-replayed" not in other.headers
        assert_replay(other, client.put(doc, json={"n": 2}, headers=headers))
        assert len(read_changes(client, coll)) == 3
    # The purge forgets expired answers (it runs every 0.1 s here).
    time.sleep(1.5)
    assert remembered(server, store_kind) == 0


def remembered(server: ServerProcess, store_kind: str) -> int:
    """How many answers the store still remembers (the LevelDB one: stopped first)."""
    if store_kind == "postgres":

        async def count() -> int:
            conn = await asyncpg.connect(server.env["LEVELSTREAM_STORE_URL"])
            try:
                return int(await conn.fetchval("SELECT count(*) FROM ls_idempotency"))
            finally:
                await conn.close()

        return run_async(count())
    server.stop()
    db = plyvel.DB(str(server.data_dir / "db"))
    try:
        return sum(1 for _ in db.iterator(prefix=b"k")) + sum(1 for _ in db.iterator(prefix=b"j"))
    finally:
        db.close()
