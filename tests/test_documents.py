"""Documents through a real server: every route and status of the contract's Documents section."""

from __future__ import annotations

import httpx


def test_put_creates_then_replaces(client: httpx.Client, coll: str) -> None:
    created = client.put(f"/v1/collections/{coll}/docs/t-1", json={"title": "Printer"})
    assert created.status_code == 201
    env = created.json()
    assert env["collection"] == coll and env["key"] == "t-1"
    assert env["value"] == {"title": "Printer"}
    assert created.headers["etag"] == f'"{env["rev"]}"'
    assert env["created_at"].endswith("Z") and len(env["created_at"]) == 24

    replaced = client.put(f"/v1/collections/{coll}/docs/t-1", json={"title": "Scanner"})
    assert replaced.status_code == 200
    assert replaced.json()["rev"] > env["rev"]
    assert replaced.json()["created_at"] == env["created_at"]

    got = client.get(f"/v1/collections/{coll}/docs/t-1")
    assert got.status_code == 200 and got.json() == replaced.json()
    assert "x-request-id" in got.headers and "x-levelstream-epoch" in got.headers


def test_get_missing_is_404_problem(client: httpx.Client, coll: str) -> None:
    response = client.get(f"/v1/collections/{coll}/docs/nope")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "not_found" and problem["status"] == 404
    assert problem["request_id"] == response.headers["x-request-id"]


def test_if_none_match_gives_304(client: httpx.Client, coll: str) -> None:
    etag = client.put(f"/v1/collections/{coll}/docs/k", json=1).headers["etag"]
    assert (
        client.get(f"/v1/collections/{coll}/docs/k", headers={"If-None-Match": etag}).status_code
        == 304
    )
    assert client.get(
        f"/v1/collections/{coll}/docs/k", headers={"If-None-Match": '"1"'}
    ).status_code in (200, 304)


def test_keys_with_slashes_take_the_rest_of_the_path(client: httpx.Client, coll: str) -> None:
    response = client.put(f"/v1/collections/{coll}/docs/users/42/posts/7", json={"a": 1})
    assert response.status_code == 201
    assert response.json()["key"] == "users/42/posts/7"
    assert client.get(f"/v1/collections/{coll}/docs/users/42/posts/7").json()["value"] == {"a": 1}


def test_patch_merges_and_404s_when_missing(client: httpx.Client, coll: str) -> None:
    client.put(f"/v1/collections/{coll}/docs/t", json={"a": 1, "b": {"c": 2, "d": 3}})
    patched = client.patch(
        f"/v1/collections/{coll}/docs/t", json={"b": {"c": None, "e": 4}, "f": 5}
    )
    assert patched.status_code == 200
    assert patched.json()["value"] == {"a": 1, "b": {"d": 3, "e": 4}, "f": 5}
    assert client.patch(f"/v1/collections/{coll}/docs/missing", json={"a": 1}).status_code == 404


def test_delete(client: httpx.Client, coll: str) -> None:
    client.put(f"/v1/collections/{coll}/docs/t", json=1)
    assert client.delete(f"/v1/collections/{coll}/docs/t").status_code == 204
    assert client.get(f"/v1/collections/{coll}/docs/t").status_code == 404
    assert client.delete(f"/v1/collections/{coll}/docs/t").status_code == 404


def test_post_keys_are_time_ordered(client: httpx.Client, coll: str) -> None:
    keys = []
    for i in range(20):
        response = client.post(f"/v1/collections/{coll}/docs", json={"i": i})
        assert response.status_code == 201
        assert (
            response.headers["location"] == f"/v1/collections/{coll}/docs/{response.json()['key']}"
        )
        keys.append(response.json()["key"])
    assert keys == sorted(keys) and len(set(keys)) == 20
    page = client.get(f"/v1/collections/{coll}/docs").json()
    assert [item["value"]["i"] for item in page["items"]] == list(range(20))


def test_conditional_writes(client: httpx.Client, coll: str) -> None:
    url = f"/v1/collections/{coll}/docs/ticket"
    rev = client.put(url, json={"v": 1}).json()["rev"]
    assert client.put(url, json={"v": 2}, headers={"If-None-Match": "*"}).status_code == 412
    stale = client.put(url, json={"v": 2}, headers={"If-Match": f'"{rev + 1000}"'})
    assert stale.status_code == 412 and stale.json()["code"] == "precondition_failed"
    ok = client.put(url, json={"v": 2}, headers={"If-Match": f'"{rev}"'})
    assert ok.status_code == 200
    assert client.patch(url, json={"w": 1}, headers={"If-Match": f'"{rev}"'}).status_code == 412
    assert client.delete(url, headers={"If-Match": f'"{rev}"'}).status_code == 412
    assert client.get(url).json()["value"] == {"v": 2}
    assert client.delete(url, headers={"If-Match": ok.headers["etag"]}).status_code == 204


def test_collections_list_counts(client: httpx.Client, coll: str) -> None:
    for i in range(3):
        client.put(f"/v1/collections/{coll}/docs/k{i}", json=i)
    client.delete(f"/v1/collections/{coll}/docs/k0")
    items = {c["name"]: c["count"] for c in client.get("/v1/collections").json()["items"]}
    assert items[coll] == 2
