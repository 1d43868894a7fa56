"""The Python SDK's filtered live queries against a real server: `where` on WebSocket and
SSE subscriptions and on change polling, typed enter/update/leave events, and the
`reset` of a rule change surfaced as `RulesChangedError` (docs/queries.md, docs/rules.md).
The notes app of docs/rules.md, with two users' JWTs subscribed at once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.sdk_support import missing
from tests.server import ADMIN_TOKEN, ServerProcess

try:
    import levelstream_client  # noqa: F401
except ImportError:
    missing("the Python SDK is not installed: run `make sdk-deps`")

from levelstream_client import AuthenticatedClient, admin
from levelstream_client.api.documents import delete_document, patch_document, put_document
from levelstream_client.api.keys import create_key
from levelstream_client.exceptions import (
    HistoryCompactedError,
    RulesChangedError,
    ValidationFailedError,
)
from levelstream_client.models import KeySpec, Problem
from levelstream_client.queries import changes
from levelstream_client.realtime import Change, RealtimeClient
from levelstream_client.sdk import connect

from tests.test_sdk_python import NOTES_RULE, WAIT, take


@pytest.fixture
def api(server: ServerProcess) -> Iterator[AuthenticatedClient]:
    with connect(server.url, ADMIN_TOKEN) as client:
        yield client


def user_tokens(server: ServerProcess, api: AuthenticatedClient, coll: str) -> dict[str, str]:
    spec = KeySpec(name="notes-app", permissions=["read", "write", "delete"], collections=[coll])
    app_key = create_key.sync(client=api, body=spec)
    assert app_key is not None and not isinstance(app_key, Problem)
    with connect(server.url, app_key.token) as app:
        return {sub: admin.mint_token(app, sub, ttl_s=600).token for sub in ("alice", "bob")}


def events(changes_seen: list[Change]) -> list[tuple[str, str, object]]:
    return [(c.kind, c.key, c.value) for c in changes_seen]


async def test_notes_become_public_and_private_two_users_live(
    server: ServerProcess, api: AuthenticatedClient, coll: str
) -> None:
    """Alice's note turns public, is edited, turns private, is deleted: Alice (read rule
    only, WebSocket) sees it throughout; Bob (read rule + a `where`, SSE) sees it enter and
    leave. Polling /v1/changes with Bob's filter gives Bob's events again. Then a rule
    change ends both subscriptions with RulesChangedError."""
    admin.put_rule(api, coll, **NOTES_RULE)
    tokens = user_tokens(server, api, coll)
    titled = "has(doc.title)"
    with connect(server.url, tokens["alice"]) as alice, connect(server.url, tokens["bob"]) as bob:
        start = changes(bob, coll).last_seq
        async with (
            RealtimeClient(server.url, tokens["alice"]) as alice_rt,
            RealtimeClient(server.url, tokens["bob"], transport="sse") as bob_rt,
        ):
            alice_sub = await alice_rt.subscribe(coll)
            bob_sub = await bob_rt.subscribe(coll, where=titled)
            note = {"owner": "alice", "public": False, "title": "groceries"}
            put_document.sync(coll, "a1", client=alice, body=note)
            patch_document.sync(coll, "a1", client=alice, body={"public": True})
            patch_document.sync(coll, "a1", client=alice, body={"title": "shopping"})
            patch_document.sync(coll, "a1", client=alice, body={"public": False})
            delete_document.sync(coll, "a1", client=alice)
            # Bob's own note without a title: his rule shows it, his `where` does not.
            put_document.sync(coll, "b1", client=bob, body={"owner": "bob"})
            put_document.sync(coll, "zz", client=alice, body={**note, "public": True})

            seen_by_alice = await take(alice_sub, 6)
            seen_by_bob = await take(bob_sub, 4)
            public = {**note, "public": True}
            assert events(seen_by_alice) == [
                ("enter", "a1", note),
                ("update", "a1", public),
                ("update", "a1", {**public, "title": "shopping"}),
                ("update", "a1", {**note, "title": "shopping"}),
                ("delete", "a1", None),
                ("enter", "zz", public),
            ]
            assert events(seen_by_bob) == [
                ("enter", "a1", public),
                ("update", "a1", {**public, "title": "shopping"}),
                ("leave", "a1", None),  # private now: nothing of the new value
                ("enter", "zz", public),
            ]
            left = seen_by_bob[2]
            assert left.op == "leave" and left.removes and left.match is None
            assert [c.match for c in seen_by_bob[:2]] == ["enter", "update"]

            # Polling with the same filter yields the same events, from any resume point.
            polled = changes(bob, coll, since=start, where=titled)
            assert events(polled.changes) == events(seen_by_bob)
            resumed = changes(bob, coll, since=seen_by_bob[1].seq, where=titled)
            assert events(resumed.changes) == events(seen_by_bob[2:])
            with pytest.raises(ValidationFailedError):
                changes(bob, coll, where="doc.title ==")

            # A rule change that alters what they may read resets both (WS and SSE).
            admin.put_rule(api, coll, **{**NOTES_RULE, "read": "doc.owner == auth.sub"})
            for sub in (alice_sub, bob_sub):
                with pytest.raises(RulesChangedError) as reset:
                    await take(sub, 1, WAIT)
                assert isinstance(reset.value, HistoryCompactedError)
                assert reset.value.reason == "rules_changed"
    admin.delete_rule(api, coll)


async def test_where_subscription_snapshot_then_enter_and_leave(
    server: ServerProcess, api: AuthenticatedClient, coll: str
) -> None:
    """An admin's `where` subscription with a snapshot: only matching documents, then
    the change's effect on the matching set (no read rule involved)."""
    put_document.sync(coll, "t1", client=api, body={"status": "open"})
    put_document.sync(coll, "t2", client=api, body={"status": "done"})
    async with RealtimeClient(server.url, ADMIN_TOKEN) as rt:
        sub = await rt.subscribe(coll, where='doc.status == "open"', snapshot=True)
        (first,) = await take(sub, 1)
        assert (first.kind, first.key, first.snapshot) == ("enter", "t1", True)
        assert sub.snapshot_done.is_set() and sub.snapshot_size == 1
        put_document.sync(coll, "t2", client=api, body={"status": "open"})
        put_document.sync(coll, "t1", client=api, body={"status": "done"})
        put_document.sync(coll, "t3", client=api, body={"status": "done"})  # never matched
        put_document.sync(coll, "t2", client=api, body={"status": "open", "n": 1})
        batch: list[Change] = []
        while len(batch) < 3:
            batch += await sub.next_batch()
        assert [(c.kind, c.key) for c in batch] == [
            ("enter", "t2"),
            ("leave", "t1"),
            ("update", "t2"),
        ]
        with pytest.raises(ValidationFailedError):
            await rt.subscribe(coll, where="doc.status = 1")
