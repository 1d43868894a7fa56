"""Every timestamp the API emits is RFC 3339 UTC with milliseconds (the contract's one form):
keys, tokens, tickets, documents, changes (REST and WebSocket) and presence."""

from __future__ import annotations

import re
import uuid
from typing import Any

from tests.realtime_clients import ws_client
from tests.server import ServerProcess

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def timestamps(value: Any, found: dict[str, list[str]], where: str = "") -> None:
    """Every `*_at` and `ts` member anywhere in `value`, by its name."""
    if isinstance(value, dict):
        for name, member in value.items():
            if (name.endswith("_at") or name == "ts") and member is not None:
                found.setdefault(f"{where}{name}", []).append(member)
            timestamps(member, found, where)
    elif isinstance(value, list):
        for item in value:
            timestamps(item, found, where)


async def test_every_timestamp_has_milliseconds_and_a_z(server: ServerProcess) -> None:
    coll = "ts_" + uuid.uuid4().hex[:12]
    channel = "ts-" + uuid.uuid4().hex[:12]
    found: dict[str, list[str]] = {}
    async with server.async_client() as admin:
        for expires in ("2030-01-01T00:00:00Z", "2030-01-01T02:00:00.123456+02:00"):
            made = await admin.post(
                "/v1/keys",
                json={"name": "ts", "permissions": ["read", "write"], "expires_at": expires},
            )
            assert made.status_code == 201, made.text
            key = made.json()
            timestamps(key, found, "key.")
            timestamps((await admin.get(f"/v1/keys/{key['id']}")).json(), found, "key.")
            patched = await admin.patch(f"/v1/keys/{key['id']}", json={"name": "ts2"})
            timestamps(patched.json(), found, "key.")
        assert key["expires_at"] == "2030-01-01T00:00:00.123Z"
        timestamps((await admin.get("/v1/keys")).json(), found, "key.")

        as_key = {"Authorization": f"Bearer {key['token']}"}
        token = await admin.post("/v1/auth/token", json={"sub": "ts", "ttl_s": 60}, headers=as_key)
        assert token.status_code == 200, token.text
        timestamps(token.json(), found, "token.")
        ticket = await admin.post("/v1/auth/ticket", headers=as_key)
        assert ticket.status_code == 200, ticket.text
        timestamps(ticket.json(), found, "ticket.")

        async with ws_client(server) as ws:
            await ws.subscribe("s", collection=coll)
            put = await admin.put(f"/v1/collections/{coll}/docs/a", json=1, params={"ttl_s": 600})
            timestamps(put.json(), found, "doc.")
            timestamps((await admin.get(f"/v1/collections/{coll}/docs/a")).json(), found, "doc.")
            timestamps((await admin.get(f"/v1/collections/{coll}/docs")).json(), found, "doc.")
            changes = await admin.get("/v1/changes", params={"collection": coll, "since": 0})
            timestamps(changes.json(), found, "change.")
            timestamps(await ws.expect(lambda f: f["type"] == "change"), found, "ws.")
            await ws.ok("join", channel=channel, state={"n": 1})
            presence = await admin.get(f"/v1/channels/{channel}/presence")
            timestamps(presence.json(), found, "presence.")

    expected = {
        "key.created_at",
        "key.expires_at",
        "token.expires_at",
        "ticket.expires_at",
        "doc.created_at",
        "doc.updated_at",
        "doc.expires_at",
        "change.ts",
        "ws.ts",
        "presence.joined_at",
    }
    assert expected <= set(found), sorted(found)
    bad = {name: v for name, values in found.items() for v in values if not TIMESTAMP.fullmatch(v)}
    assert not bad, bad
