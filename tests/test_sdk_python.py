"""The Python SDK (clients/python) against a real server: the generated REST calls with
typed exceptions, keys and tokens, and the hand-written real-time client (WebSocket with
resume across a restart, token refresh, SSE fallback, channels and presence)."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from tests.history.proxy import TcpProxy
from tests.sdk_support import missing
from tests.server import ADMIN_TOKEN, ROOT, ServerProcess

try:
    import levelstream_client  # noqa: F401
except ImportError:
    missing("the Python SDK is not installed: run `make sdk-deps`")

from levelstream_client import AuthenticatedClient, admin
from levelstream_client.api.admin import export_documents, import_documents
from levelstream_client.api.auth import issue_ticket, mint_token
from levelstream_client.api.batch import apply_batch
from levelstream_client.api.changes import get_changes
from levelstream_client.api.documents import (
    create_document,
    delete_document,
    get_document,
    list_collections,
    list_documents,
    patch_document,
    put_document,
)
from levelstream_client.api.keys import create_key, get_key, list_keys, revoke_key
from levelstream_client.exceptions import (
    ConflictError,
    ForbiddenError,
    NotFoundError,
    PreconditionFailedError,
    UnauthorizedError,
    ValidationFailedError,
)
from levelstream_client.models import (
    BatchOp,
    BatchRequest,
    DocumentPage,
    Envelope,
    ImportResult,
    Index,
    KeySpec,
    Problem,
    TokenRequest,
)
from levelstream_client.queries import explain, query, query_pages
from levelstream_client.realtime import (
    Change,
    Message,
    PresenceEvent,
    RealtimeClient,
    Transport,
)
from levelstream_client.sdk import connect
from levelstream_client.types import File

WAIT = 20.0  # generous: a change that should come but does not fails the test, slowly


@pytest.fixture
def api(server: ServerProcess) -> Iterator[AuthenticatedClient]:
    client = connect(server.url, ADMIN_TOKEN)
    with client:
        yield client


async def take(stream: AsyncIterator[Any], count: int, timeout: float = WAIT) -> list[Any]:
    """The next `count` items of a subscription, or a failure after `timeout`."""
    out: list[Any] = []

    async def run() -> None:
        async for item in stream:
            out.append(item)
            if len(out) >= count:
                return

    await asyncio.wait_for(run(), timeout)
    return out


def read_only_key(api: AuthenticatedClient, collection: str) -> str:
    spec = KeySpec(name="reader", permissions=["read"], collections=[collection])
    created = create_key.sync(client=api, body=spec)
    assert created is not None and not isinstance(created, Problem)
    return created.token


# --- queries, indexes, rules ---------------------------------------------------------

NOTES_RULE = {
    "read": "doc.public || doc.owner == auth.sub",
    "create": "new.owner == auth.sub",
    "update": "doc.owner == auth.sub && new.owner == doc.owner",
    "delete": 'doc.owner == auth.sub || auth.claims.role == "moderator"',
}


def test_notes_app_with_rules_and_two_users(
    server: ServerProcess, api: AuthenticatedClient, coll: str
) -> None:
    """docs/rules.md's notes app: each user sees public notes and their own, writes only
    their own; a moderator (a claim in the token) may delete anyone's."""
    with pytest.raises(ValidationFailedError) as bad:
        admin.put_rule(api, coll, read="doc.public ||", create="new.owner == auth.sub")
    assert bad.value.problem["entry"] == "read"
    assert (bad.value.problem["offset"], bad.value.problem["line"]) == (13, 1)
    with pytest.raises(NotFoundError):  # nothing was saved
        admin.get_rule(api, coll)

    saved = admin.put_rule(api, coll, **NOTES_RULE)
    try:
        assert saved.glob == coll and saved.read == NOTES_RULE["read"]
        listed = admin.list_rules(api)
        assert listed.version >= saved.version
        assert [r.read for r in listed.items if r.glob == coll] == [NOTES_RULE["read"]]
        assert admin.get_rule(api, coll).delete == NOTES_RULE["delete"]

        app_key = create_key.sync(
            client=api,
            body=KeySpec(
                name="notes-app", permissions=["read", "write", "delete"], collections=[coll]
            ),
        )
        assert app_key is not None and not isinstance(app_key, Problem)
        with connect(server.url, app_key.token) as app:
            alice_jwt = admin.mint_token(app, "alice", ttl_s=600).token
            bob_jwt = admin.mint_token(app, "bob", ttl_s=600, claims={"team": "blue"}).token
            mod_jwt = admin.mint_token(app, "mo", ttl_s=600, claims={"role": "moderator"}).token
        put_document.sync(coll, "welcome", client=api, body={"public": True, "owner": "admin"})
        with connect(server.url, alice_jwt) as alice, connect(server.url, bob_jwt) as bob:
            put_document.sync(coll, "alice-todo", client=alice, body={"owner": "alice", "t": 1})
            put_document.sync(coll, "bob-todo", client=bob, body={"owner": "bob", "t": 2})
            assert [d.key for d in query(alice, coll)] == ["alice-todo", "welcome"]
            assert [d.key for d in query(bob, coll, limit=1)] == ["bob-todo", "welcome"]
            mine = query(bob, coll, where='doc.owner == "bob"')
            assert [d.value for d in mine] == [{"owner": "bob", "t": 2}]
            with pytest.raises(NotFoundError):
                get_document.sync(coll, "alice-todo", client=bob)
            with pytest.raises(ForbiddenError) as refused:
                put_document.sync(coll, "bob-fake", client=bob, body={"owner": "alice"})
            assert refused.value.problem["entry"] == "create"
            with pytest.raises(ForbiddenError):
                put_document.sync(coll, "bob-todo", client=bob, body={"owner": "alice"})
            with pytest.raises(ForbiddenError):
                delete_document.sync(coll, "alice-todo", client=bob)
        with connect(server.url, mod_jwt) as moderator:
            assert (
                delete_document.sync_detailed(coll, "alice-todo", client=moderator).status_code
                == 204
            )
        assert [d.key for d in query(api, coll)] == ["bob-todo", "welcome"]
    finally:
        deleted = admin.delete_rule(api, coll)
    assert deleted.glob == coll and deleted.version > saved.version
    assert coll not in [r.glob for r in admin.list_rules(api).items]


def test_where_through_an_index_with_progress_and_explain(
    api: AuthenticatedClient, coll: str
) -> None:
    owners = ["u1", "u2", "u3"]
    ops = [
        BatchOp(
            op="put",
            collection=coll,
            key=f"t{i:03d}",
            value={"owner": owners[i % 3], "status": "open" if i % 2 else "done", "n": 40 - i},
        )
        for i in range(40)
    ]
    apply_batch.sync(client=api, body=BatchRequest(ops=ops))
    where = 'doc.owner == "u2" && doc.status == "open"'
    expected = [f"t{i:03d}" for i in range(40) if i % 3 == 1 and i % 2 == 1]

    before = explain(api, coll, where=where)
    assert before.index is None and before.scanned == 40 and before.returned == len(expected)
    with pytest.raises(ValidationFailedError) as unordered:
        list(query(api, coll, order_by="n"))
    assert unordered.value.problem["needs_index"] == ["n"]
    with pytest.raises(ValidationFailedError) as broken:
        explain(api, coll, where="doc.owner ==")
    assert broken.value.problem["column"] == 13

    seen: list[Index] = []
    ready = admin.ensure_index(
        api, coll, "by_owner_status", ["owner", "status"], on_progress=seen.append
    )
    assert ready.state == "ready" and ready.done == ready.total == 40
    assert seen and seen[-1].state == "ready"
    assert all(0 <= ix.done <= ix.total for ix in seen)
    assert admin.create_index(api, coll, "by_owner_status", ["owner", "status"]).state == "ready"
    with pytest.raises(ConflictError):
        admin.create_index(api, coll, "by_owner_status", ["owner"])
    admin.ensure_index(api, coll, "by_n", ["n"])
    assert sorted(ix.name for ix in admin.list_indexes(api, coll)) == ["by_n", "by_owner_status"]

    plan = explain(api, coll, where=where)
    assert plan.index == "by_owner_status" and plan.scanned == plan.returned == len(expected)
    assert [d.key for d in query(api, coll, where=where, limit=2)] == expected
    pages = list(query_pages(api, coll, where=where, limit=2))
    assert len(pages) >= 3 and pages[-1].next_cursor is None
    by_n = [d.value["n"] for d in query(api, coll, order_by="n", reverse=True, limit=7)]
    assert by_n == sorted(range(1, 41), reverse=True)

    admin.delete_index(api, coll, "by_owner_status")
    with pytest.raises(NotFoundError):
        admin.get_index(api, coll, "by_owner_status")
    assert explain(api, coll, where=where).index is None


# --- REST ---------------------------------------------------------------------------


def test_crud_round_trip(api: AuthenticatedClient, coll: str) -> None:
    created = put_document.sync_detailed(coll, "users/42", client=api, body={"name": "Ann"})
    assert created.status_code == 201
    assert isinstance(created.parsed, Envelope)
    assert created.headers["etag"] == f'"{created.parsed.rev}"'
    replaced = put_document.sync(coll, "users/42", client=api, body={"name": "Ann", "age": 3})
    assert isinstance(replaced, Envelope) and replaced.rev > created.parsed.rev

    got = get_document.sync(coll, "users/42", client=api)
    assert isinstance(got, Envelope) and got.value == {"name": "Ann", "age": 3}
    patched = patch_document.sync(coll, "users/42", client=api, body={"age": None, "x": 1})
    assert isinstance(patched, Envelope) and patched.value == {"name": "Ann", "x": 1}

    posted = create_document.sync_detailed(coll, client=api, body=["any", "json"])
    assert posted.status_code == 201 and isinstance(posted.parsed, Envelope)
    assert posted.headers["location"].endswith(posted.parsed.key)

    assert delete_document.sync_detailed(coll, "users/42", client=api).status_code == 204
    with pytest.raises(NotFoundError) as missing:
        get_document.sync(coll, "users/42", client=api)
    assert missing.value.status == 404 and missing.value.request_id
    names = list_collections.sync(client=api)
    assert names is not None and not isinstance(names, Problem)
    assert {c.name: c.count for c in names.items}[coll] == 1


def test_range_reads_follow_the_cursor(api: AuthenticatedClient, coll: str) -> None:
    keys = [f"k{i:03d}" for i in range(25)] + ["other"]
    batch = BatchRequest(ops=[BatchOp(op="put", collection=coll, key=k, value=k) for k in keys])
    apply_batch.sync(client=api, body=batch)

    seen: list[str] = []
    cursor: str | None = None
    for _ in range(10):  # bounded: 25 keys in pages of 10
        page = list_documents.sync(
            coll, client=api, prefix="k", limit=10, **({"cursor": cursor} if cursor else {})
        )
        assert isinstance(page, DocumentPage)
        seen += [item.key for item in page.items]
        cursor = page.next_cursor if isinstance(page.next_cursor, str) else None
        if cursor is None:
            break
    assert seen == keys[:25]

    back = list_documents.sync(coll, client=api, gte="k010", lt="k015", reverse=True)
    assert isinstance(back, DocumentPage)
    assert [item.key for item in back.items] == ["k014", "k013", "k012", "k011", "k010"]
    bare = list_documents.sync(coll, client=api, prefix="k00", keys_only=True)
    assert isinstance(bare, DocumentPage) and len(bare.items) == 10


def test_batch_is_all_or_nothing(api: AuthenticatedClient, coll: str) -> None:
    first = put_document.sync(coll, "a", client=api, body={"n": 1})
    assert isinstance(first, Envelope)
    ok = apply_batch.sync(
        client=api,
        body=BatchRequest(
            ops=[
                BatchOp(op="put", collection=coll, key="b", value={"n": 2}),
                BatchOp(op="patch", collection=coll, key="a", value={"m": 1}, if_rev=first.rev),
                BatchOp(op="delete", collection=coll, key="b"),
            ]
        ),
    )
    assert ok is not None and not isinstance(ok, Problem)
    assert len(ok.results) == 3 and ok.seq == first.rev + 3

    stale = BatchRequest(
        ops=[
            BatchOp(op="put", collection=coll, key="c", value=1),
            BatchOp(op="put", collection=coll, key="a", value=2, if_rev=first.rev),
        ]
    )
    with pytest.raises(PreconditionFailedError) as refused:
        apply_batch.sync(client=api, body=stale)
    assert refused.value.problem["op_index"] == 1
    with pytest.raises(NotFoundError):
        get_document.sync(coll, "c", client=api)  # nothing of the refused batch was written


def test_conditional_writes_give_412_not_overwrites(api: AuthenticatedClient, coll: str) -> None:
    doc = put_document.sync(coll, "t-1", client=api, body={"status": "open"})
    assert isinstance(doc, Envelope)
    etag = f'"{doc.rev}"'
    mine = put_document.sync(coll, "t-1", client=api, body={"status": "mine"}, if_match=etag)
    assert isinstance(mine, Envelope)
    with pytest.raises(PreconditionFailedError) as late:
        patch_document.sync(coll, "t-1", client=api, body={"status": "theirs"}, if_match=etag)
    assert late.value.current_rev == mine.rev and late.value.status == 412
    with pytest.raises(PreconditionFailedError):
        put_document.sync(coll, "t-1", client=api, body={}, if_none_match="*")
    with pytest.raises(PreconditionFailedError):
        delete_document.sync(coll, "t-1", client=api, if_match=etag)
    current = get_document.sync(coll, "t-1", client=api)
    assert isinstance(current, Envelope) and current.value == {"status": "mine"}


def test_errors_are_typed_exceptions(
    server: ServerProcess, api: AuthenticatedClient, coll: str
) -> None:
    with pytest.raises(ValidationFailedError) as bad_name:
        put_document.sync("no spaces allowed", "k", client=api, body=1)
    assert bad_name.value.code == "validation_failed" and bad_name.value.status == 422
    with (
        connect(server.url, "lsk_0000000000000000_wrong") as stranger,
        pytest.raises(UnauthorizedError),
    ):
        get_document.sync(coll, "k", client=stranger)
    with connect(server.url, read_only_key(api, coll)) as reader, pytest.raises(ForbiddenError):
        put_document.sync(coll, "k", client=reader, body=1)
    # Without the hooks, documented errors come back as the generated Problem model.
    with connect(server.url, ADMIN_TOKEN, raise_errors=False) as plain:
        problem = get_document.sync(coll, "missing", client=plain)
        assert isinstance(problem, Problem) and problem.code == "not_found"


def test_keys_tokens_and_tickets(
    server: ServerProcess, api: AuthenticatedClient, coll: str
) -> None:
    put_document.sync(coll, "doc", client=api, body={"v": 1})
    spec = KeySpec(name="desk", permissions=["read", "write"], collections=[coll])
    created = create_key.sync(client=api, body=spec)
    assert created is not None and not isinstance(created, Problem)
    listed = list_keys.sync(client=api)
    assert listed is not None and not isinstance(listed, Problem)
    assert created.id in [k.id for k in listed.items]
    fetched = get_key.sync(created.id, client=api)
    assert fetched is not None and not isinstance(fetched, Problem) and fetched.name == "desk"

    with connect(server.url, created.token) as desk:
        issued = mint_token.sync(client=desk, body=TokenRequest(sub="agent-ann", ttl_s=60))
        assert issued is not None and not isinstance(issued, Problem)
        ticket = issue_ticket.sync(client=desk)
        assert ticket is not None and not isinstance(ticket, Problem) and ticket.ticket
        with pytest.raises(ForbiddenError):  # never wider than the key that asked
            mint_token.sync(client=desk, body=TokenRequest(sub="x", permissions=["admin"]))
    with connect(server.url, issued.token) as agent:
        got = get_document.sync(coll, "doc", client=agent)
        assert isinstance(got, Envelope) and got.value == {"v": 1}

    assert revoke_key.sync_detailed(created.id, client=api).status_code == 204
    with connect(server.url, created.token) as revoked, pytest.raises(UnauthorizedError):
        get_document.sync(coll, "doc", client=revoked)


def test_export_then_import_into_an_empty_server(
    server: ServerProcess, fresh_server: ServerProcess, api: AuthenticatedClient, coll: str
) -> None:
    put_document.sync(coll, "kept", client=api, body={"n": 1})
    exported = export_documents.sync(client=api)
    assert isinstance(exported, File)
    lines = exported.payload.read().splitlines()
    assert b'"key":"kept"' in b"".join(lines) and b'"epoch"' in lines[0]
    fresh_server.start()
    with connect(fresh_server.url, ADMIN_TOKEN) as empty:
        ndjson = io.BytesIO(b"\n".join(lines) + b"\n")
        body = File(payload=ndjson, mime_type="application/x-ndjson")
        loaded = import_documents.sync(client=empty, body=body)
        assert isinstance(loaded, ImportResult) and loaded.imported == len(lines) - 1
        copy = get_document.sync(coll, "kept", client=empty)
        assert isinstance(copy, Envelope) and copy.value == {"n": 1}


async def test_async_calls_and_long_poll(api: AuthenticatedClient, coll: str) -> None:
    first = await put_document.asyncio(coll, "x", client=api, body=1)
    assert isinstance(first, Envelope)
    page = await get_changes.asyncio(client=api, collection=coll, since=first.rev - 1)
    assert page is not None and not isinstance(page, Problem)
    assert [c.key for c in page.changes] == ["x"] and page.last_seq == first.rev
    with pytest.raises(NotFoundError):
        await get_document.asyncio(coll, "nope", client=api)


# --- real time ------------------------------------------------------------------------


async def test_subscribe_snapshot_then_changes(server: ServerProcess, coll: str) -> None:
    api = connect(server.url, ADMIN_TOKEN)
    await put_document.asyncio(coll, "t-1", client=api, body={"title": "Printer"})
    await put_document.asyncio(coll, "t-2", client=api, body={"title": "Scanner"})
    await put_document.asyncio(coll, "x-1", client=api, body={"title": "elsewhere"})
    async with RealtimeClient(server.url, ADMIN_TOKEN) as rt:
        sub = await rt.subscribe(collection=coll, prefix="t-", snapshot=True)
        async with sub:
            snapshot = await take(sub, 2)
            assert [(c.key, c.snapshot) for c in snapshot] == [("t-1", True), ("t-2", True)]
            await delete_document.asyncio(coll, "t-1", client=api)
            await put_document.asyncio(coll, "x-2", client=api, body=0)  # outside the prefix
            await put_document.asyncio(coll, "t-3", client=api, body={"title": "Fax"})
            live = await take(sub, 2)
        assert [(c.op, c.key) for c in live] == [("delete", "t-1"), ("put", "t-3")]
        assert live[0].seq > snapshot[0].seq and live[1].seq == live[0].seq + 2
        assert sub.epoch is not None and sub.last_seq == live[1].seq
    await api.get_async_httpx_client().aclose()


@pytest.mark.parametrize("transport", ["websocket", "sse"])
async def test_a_write_right_after_subscribe_is_delivered(
    server: ServerProcess, coll: str, transport: Transport
) -> None:
    """The natural order: subscribe, write, then iterate. `subscribe()` returns once the
    server has the subscription, so the write is delivered (it used to start on the first
    read, after the write, and the iteration hung)."""
    api = connect(server.url, ADMIN_TOKEN)
    channel = f"ch-{coll}"
    async with RealtimeClient(server.url, ADMIN_TOKEN, transport=transport) as rt:
        sub = await rt.subscribe(collection=coll)
        inbox = await rt.channel(channel)
        await put_document.asyncio(coll, "written-after-subscribe", client=api, body=1)
        assert await rt.publish(channel, {"after": "channel()"}) == 1
        (change,) = await take(sub, 1)
        (message,) = await take(inbox, 1)
    assert (change.op, change.key, change.value) == ("put", "written-after-subscribe", 1)
    assert isinstance(message, Message) and message.data == {"after": "channel()"}
    await api.get_async_httpx_client().aclose()


async def test_ops_channels_and_presence(server: ServerProcess, coll: str) -> None:
    channel = f"ch-{coll}"
    async with (
        RealtimeClient(server.url, ADMIN_TOKEN) as ann,
        RealtimeClient(server.url, ADMIN_TOKEN) as bob,
    ):
        written = await ann.put(coll, "k", {"v": 1})
        assert (await bob.get(coll, "k"))["rev"] == written["rev"]
        with pytest.raises(PreconditionFailedError):
            await bob.put(coll, "k", {"v": 2}, if_rev=written["rev"] - 1)
        assert await ann.ping() < WAIT

        inbox = await bob.channel(channel)
        async with inbox:
            await ann.join(channel, {"name": "Ann"})
            assert await ann.publish(channel, {"typing": True}) == 1
            events = await take(inbox, 2)
            assert isinstance(events[0], PresenceEvent) and events[0].action == "join"
            assert isinstance(events[1], Message) and events[1].data == {"typing": True}
            members = await bob.presence(channel)
            assert [(m.client_id, m.state) for m in members] == [(ann.client_id, {"name": "Ann"})]
            await ann.leave(channel)
            left = await take(inbox, 1)
            assert isinstance(left[0], PresenceEvent) and left[0].action == "leave"


async def follow_across_restart(server: ServerProcess, rt: RealtimeClient, coll: str) -> None:
    """Write 40 changes with a server restart in the middle; the subscriber gets each once."""
    api = connect(server.url, ADMIN_TOKEN)
    sub = await rt.subscribe(collection=coll, since=0)
    received: list[Change] = []

    async def consume() -> None:
        async for change in sub:
            received.append(change)
            if len(received) >= 40:
                return

    consumer = asyncio.create_task(consume())
    try:
        for i in range(20):
            await put_document.asyncio(coll, f"k{i:02d}", client=api, body={"i": i})
        deadline = time.monotonic() + WAIT
        while len(received) < 5 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        await asyncio.to_thread(server.restart)  # graceful: sockets close with 1001
        await api.get_async_httpx_client().aclose()
        api = connect(server.url, ADMIN_TOKEN)
        for i in range(20, 40):
            await put_document.asyncio(coll, f"k{i:02d}", client=api, body={"i": i})
        await asyncio.wait_for(consumer, WAIT)
    finally:
        consumer.cancel()
        await api.get_async_httpx_client().aclose()
    assert [c.key for c in received] == [f"k{i:02d}" for i in range(40)]
    assert [c.seq for c in received] == list(range(1, 41))  # every change once, in order


async def test_subscription_survives_server_restart(fresh_server: ServerProcess) -> None:
    fresh_server.start()
    async with RealtimeClient(fresh_server.url, ADMIN_TOKEN, backoff_max=0.5) as rt:
        await follow_across_restart(fresh_server, rt, "tickets")
        assert rt.connections >= 2  # it did reconnect


async def test_sse_fallback_survives_server_restart(fresh_server: ServerProcess) -> None:
    fresh_server.start()
    async with RealtimeClient(
        fresh_server.url, ADMIN_TOKEN, transport="sse", backoff_max=0.5
    ) as rt:
        await follow_across_restart(fresh_server, rt, "tickets")
        assert rt.connections == 0  # no WebSocket was used


async def test_a_connection_cut_during_the_handshake_is_retried(
    server: ServerProcess, coll: str
) -> None:
    """A proxy in front that accepts and then drops the connection (its upstream is
    unreachable) is a network error: the client keeps trying the WebSocket, and does not
    fall back to Server-Sent Events for good."""
    proxy = TcpProxy("127.0.0.1", server.port).start()
    try:
        proxy.cut("reset")
        async with RealtimeClient(
            f"http://127.0.0.1:{proxy.port}", ADMIN_TOKEN, backoff_max=0.2
        ) as rt:
            subscribing = asyncio.create_task(rt.subscribe(collection=coll))
            await asyncio.sleep(1.0)  # several handshakes cut
            assert not subscribing.done() and not rt.connected
            proxy.resume()
            sub = await asyncio.wait_for(subscribing, WAIT)
            assert rt.transport == "websocket" and rt.connected and rt.connections == 1
            await sub.close()
    finally:
        proxy.close()


async def test_token_refresh_keeps_the_socket(server: ServerProcess, coll: str) -> None:
    """JWTs of 3 s, refreshed with the `auth` op: one connection outlives several tokens."""
    api = connect(server.url, ADMIN_TOKEN)
    minted: list[str] = []

    def fresh_jwt() -> str:
        issued = mint_token.sync(client=api, body=TokenRequest(sub="agent-ann", ttl_s=3))
        assert issued is not None and not isinstance(issued, Problem)
        minted.append(issued.token)
        return issued.token

    async with RealtimeClient(server.url, token_provider=fresh_jwt) as rt:
        sub = await rt.subscribe(collection=coll)
        async with sub:
            await asyncio.sleep(4.5)  # past the first token's expiry
            await put_document.asyncio(coll, "after-expiry", client=api, body=1)
            (change,) = await take(sub, 1)
        assert change.key == "after-expiry"
        assert rt.connections == 1 and len(minted) >= 3
    await api.get_async_httpx_client().aclose()


async def test_unauthorized_subscription_raises(server: ServerProcess, coll: str) -> None:
    async with RealtimeClient(server.url, "lsk_0000000000000000_wrong", reconnect=False) as rt:
        with pytest.raises(UnauthorizedError) as refused:
            await rt.subscribe(collection=coll)
    # It says what was wrong, not "unauthorized: unauthorized".
    assert str(refused.value).startswith("unauthorized: the credential is not valid"), refused.value
    assert "(WebSocket close 4001)" in str(refused.value)
    api = connect(server.url, ADMIN_TOKEN)
    async with RealtimeClient(server.url, read_only_key(api, "other-*")) as rt:
        with pytest.raises(ForbiddenError):
            await rt.subscribe(collection=coll)


def test_help_ticket_example(server: ServerProcess) -> None:
    """clients/python/examples/help_ticket.py runs as documented and tells the story."""
    env = {**os.environ, "LEVELSTREAM_URL": server.url, "LEVELSTREAM_TOKEN": ADMIN_TOKEN}
    example = ROOT / "clients" / "python" / "examples" / "help_ticket.py"
    result = subprocess.run(
        [sys.executable, str(example)], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Bob got 412" in result.stdout and "Bob replied on top of Ann's" in result.stdout
