"""Racing clients through a real server: preconditions are checked inside the one writer,
so exactly one racer wins, and concurrent creates get unique, gap-free seqs."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import httpx

from tests.helpers import assert_problem, head_seq, read_changes
from tests.server import ServerProcess

RACERS = 40


def racing_client(server: ServerProcess) -> httpx.AsyncClient:
    # One connection per racer, so the requests really arrive together.
    return server.async_client(limits=httpx.Limits(max_connections=250))


async def race(requests: list[Any]) -> list[httpx.Response]:
    return list(await asyncio.gather(*requests))


def outcome(responses: list[httpx.Response]) -> Counter[int]:
    for response in responses:
        assert response.status_code < 500, response.text
        if response.status_code == 412:
            assert_problem(response, 412, "precondition_failed")
    return Counter(r.status_code for r in responses)


async def test_40_writers_with_the_same_if_match_exactly_one_wins(
    server: ServerProcess, client: httpx.Client, coll: str
) -> None:
    url = f"/v1/collections/{coll}/docs/ticket"
    rev = client.put(url, json={"reply": None}).json()["rev"]
    async with racing_client(server) as racers:
        responses = await race(
            [
                racers.put(url, json={"reply": i}, headers={"If-Match": f'"{rev}"'})
                for i in range(RACERS)
            ]
        )
    assert outcome(responses) == {200: 1, 412: RACERS - 1}
    winner = next(r for r in responses if r.status_code == 200).json()
    assert client.get(url).json() == winner
    log = read_changes(client, coll, since=rev)
    assert [c["seq"] for c in log] == [winner["rev"]]
    assert log[0]["prev_rev"] == rev and log[0]["value"] == winner["value"]


async def test_racing_creates_patches_and_deletes_have_one_winner(
    server: ServerProcess, client: httpx.Client, coll: str
) -> None:
    async with racing_client(server) as racers:
        url = f"/v1/collections/{coll}/docs/new"
        creates = await race(
            [racers.put(url, json=i, headers={"If-None-Match": "*"}) for i in range(RACERS)]
        )
        assert outcome(creates) == {201: 1, 412: RACERS - 1}
        rev = client.get(url).json()["rev"]

        patches = await race(
            [
                racers.patch(url, json={"p": i}, headers={"If-Match": f'"{rev}"'})
                for i in range(RACERS)
            ]
        )
        assert outcome(patches) == {200: 1, 412: RACERS - 1}
        rev = client.get(url).json()["rev"]

        deletes = await race(
            [racers.delete(url, headers={"If-Match": f'"{rev}"'}) for _ in range(RACERS)]
        )
        assert outcome(deletes) == {204: 1, 412: RACERS - 1}

        batches = await race(
            [
                racers.post(
                    "/v1/batch",
                    json={
                        "ops": [
                            {"op": "put", "collection": coll, "key": f"b{i}", "value": i},
                            {"op": "put", "collection": coll, "key": "guard", "value": i},
                            {"op": "delete", "collection": coll, "key": "seed"},
                        ]
                    },
                )
                for i in range(RACERS)
            ]
            + [racers.put(f"/v1/collections/{coll}/docs/seed", json=0)]
        )
    # Only batches that ran after `seed` existed and before another batch deleted it win.
    statuses = Counter(r.status_code for r in batches[:-1])
    assert set(statuses) <= {200, 404} and statuses[200] <= 1
    kept = [k["key"] for k in client.get(f"/v1/collections/{coll}/docs").json()["items"]]
    # A refused batch left nothing behind: neither its b<i> nor its guard.
    assert len([k for k in kept if k.startswith("b")]) == statuses[200]
    assert ("guard" in kept) == (statuses[200] == 1)


async def test_200_concurrent_creates_get_unique_gap_free_seqs(
    server: ServerProcess, client: httpx.Client, coll: str
) -> None:
    before = head_seq(client)
    async with racing_client(server) as racers:
        responses = await race(
            [racers.post(f"/v1/collections/{coll}/docs", json={"n": i}) for i in range(200)]
        )
    assert all(r.status_code == 201 for r in responses), [r.text for r in responses]
    created = sorted((r.json() for r in responses), key=lambda env: env["rev"])
    revs = [env["rev"] for env in created]
    assert revs == list(range(before + 1, before + 201))
    keys = [env["key"] for env in created]
    assert len(set(keys)) == 200
    # Server-chosen keys sort in creation (seq) order.
    assert keys == sorted(keys)

    log = read_changes(client, coll, since=0)
    assert [c["seq"] for c in log] == revs
    assert [c["key"] for c in log] == keys
    assert [c["value"] for c in log] == [env["value"] for env in created]
    assert all(c["op"] == "put" and c["prev_rev"] is None for c in log)

    everything = read_changes(client, "*", since=before)
    assert [c["seq"] for c in everything] == list(range(before + 1, head_seq(client) + 1))
    page = client.get(f"/v1/collections/{coll}/docs", params={"limit": 1000}).json()
    assert [item["key"] for item in page["items"]] == keys
