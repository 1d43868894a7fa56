"""`ttl_s` expiry through a real server: invisible from the moment it runs out, then swept."""

from __future__ import annotations

import time
from typing import Any

import httpx

from tests.helpers import head_seq, read_changes, read_range
from tests.server import ServerProcess

TTL = 1.0


def live_keys(client: httpx.Client, coll: str, **params: Any) -> list[str]:
    return [item["key"] for item in read_range(client, coll, **params)]


def test_expired_documents_are_never_returned_even_before_the_sweep(
    fresh_server: ServerProcess,
) -> None:
    # The sweeper never runs here: everything below is the read path's own doing.
    # (async durability only makes the setup writes quick next to the TTL.)
    fresh_server.env["LEVELSTREAM_MAINTENANCE_INTERVAL_S"] = "3600"
    fresh_server.env["LEVELSTREAM_DURABILITY"] = "async"
    fresh_server.start()
    coll = "tickets"
    url = f"/v1/collections/{coll}/docs"
    with fresh_server.client() as client:
        a = client.put(f"{url}/a", json={"v": "a"}, params={"ttl_s": TTL})
        assert a.status_code == 201 and "expires_at" in a.json()
        assert client.get(f"{url}/a").status_code == 200
        assert live_keys(client, coll) == ["a"]
        # A PUT without ttl_s replaces the whole document, expiry included.
        client.put(f"{url}/b", json={"v": "b"}, params={"ttl_s": TTL})
        b = client.put(f"{url}/b", json={"v": "b2"})
        assert b.status_code == 200 and "expires_at" not in b.json()
        # A PATCH without ttl_s keeps it.
        c = client.put(f"{url}/c", json={"v": "c"}, params={"ttl_s": TTL}).json()
        patched = client.patch(f"{url}/c", json={"w": 1}).json()
        assert patched["expires_at"] == c["expires_at"] and patched["value"] == {"v": "c", "w": 1}
        d = client.post(url, json={"v": "d"}, params={"ttl_s": TTL})
        assert d.status_code == 201 and "expires_at" in d.json()
        batch = {"ops": [{"op": "put", "collection": coll, "key": "e", "value": 1, "ttl_s": TTL}]}
        assert "expires_at" in client.post("/v1/batch", json=batch).json()["results"][0]
        client.put(f"{url}/f", json={"v": "f"})

        time.sleep(TTL + 0.3)

        for key in ("a", "c", "e", d.json()["key"]):
            assert client.get(f"{url}/{key}").status_code == 404, key
        assert client.get(f"{url}/b").json()["value"] == {"v": "b2"}
        assert client.get(f"{url}/f").status_code == 200
        for params in ({}, {"reverse": True}, {"keys_only": True}, {"limit": 1}, {"gte": "a"}):
            assert live_keys(client, coll, **params) == sorted(
                ["b", "f"], reverse="reverse" in params
            )
        # Writes treat an expired document as absent.
        assert client.patch(f"{url}/a", json={"x": 1}).status_code == 404
        assert client.delete(f"{url}/c").status_code == 404
        stale = client.put(f"{url}/a", json=2, headers={"If-Match": f'"{a.json()["rev"]}"'})
        assert stale.status_code == 412
        again = client.put(f"{url}/a", json={"v": "again"}, headers={"If-None-Match": "*"})
        assert again.status_code == 201 and "expires_at" not in again.json()

        log = read_changes(client, coll, since=0)
        assert [c for c in log if c["op"] == "delete"] == [], "the sweeper ran"
        assert log[-1]["key"] == "a" and log[-1]["prev_rev"] is None


def test_the_sweeper_deletes_with_reason_expired(
    server: ServerProcess, client: httpx.Client, coll: str
) -> None:
    url = f"/v1/collections/{coll}/docs"
    since = head_seq(client)
    gone = client.put(f"{url}/gone", json={"v": 1}, params={"ttl_s": 0.2}).json()
    client.put(f"{url}/patched", json={"v": 1}, params={"ttl_s": 0.2})
    patched = client.patch(f"{url}/patched", json={"w": 2}).json()
    client.put(f"{url}/cleared", json={"v": 1}, params={"ttl_s": 0.2})
    client.put(f"{url}/cleared", json={"v": 2})
    client.put(f"{url}/kept", json={"v": 1})

    deletes: dict[str, dict[str, Any]] = {}
    cursor = head_seq(client)
    deadline = time.monotonic() + 15
    while len(deletes) < 2 and time.monotonic() < deadline:
        response = client.get(
            "/v1/changes", params={"collection": coll, "since": cursor, "wait": 5}
        )
        page = response.json()
        for change in page["changes"]:
            deletes[change["key"]] = change
        cursor = page["last_seq"]
    assert set(deletes) == {"gone", "patched"}
    for key, rev in (("gone", gone["rev"]), ("patched", patched["rev"])):
        change = deletes[key]
        assert change["op"] == "delete" and change["value"] is None
        assert change["reason"] == "expired"
        assert change["prev_rev"] == rev and change["rev"] == change["seq"]
        assert client.get(f"{url}/{key}").status_code == 404

    assert live_keys(client, coll) == ["cleared", "kept"]
    counts = {c["name"]: c["count"] for c in client.get("/v1/collections").json()["items"]}
    assert counts[coll] == 2
    # Nothing else happened to this collection: one change per write, two sweeps.
    assert len(read_changes(client, coll, since=since)) == 6 + 2
