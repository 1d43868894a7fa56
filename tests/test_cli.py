"""The `levelstream` command line end to end, backups across servers, and metrics."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import websockets

from tests.server import ADMIN_TOKEN, ROOT, ServerProcess


def cli(data_dir: Path, *args: str, port: int | None = None) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "LEVELSTREAM_DATA_DIR": str(data_dir),
        "LEVELSTREAM_ADMIN_TOKEN": ADMIN_TOKEN,
    }
    if port is not None:
        env["PORT"] = str(port)
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_keys_made_offline_work_once_the_server_starts(tmp_path: Path) -> None:
    data = tmp_path / "data"
    made = cli(
        data,
        "keys",
        "create",
        "--name",
        "reader",
        "--permissions",
        "read",
        "--collections",
        "tickets",
    )
    assert made.returncode == 0, made.stderr
    key = json.loads(made.stdout)
    assert key["token"].startswith("lsk_") and key["permissions"] == ["read"]
    listed = cli(data, "keys", "list")
    assert [k["id"] for k in json.loads(listed.stdout)] == [key["id"]]
    assert key["token"] not in listed.stdout  # secrets are shown once

    server = ServerProcess(data).start()
    try:
        reader = {"Authorization": f"Bearer {key['token']}"}
        with server.client() as admin:
            admin.put("/v1/collections/tickets/docs/t-1", json={"title": "Printer"})
            got = admin.get("/v1/collections/tickets/docs/t-1", headers=reader)
            assert got.status_code == 200 and got.json()["value"] == {"title": "Printer"}
            refused = admin.put("/v1/collections/tickets/docs/t-2", json=1, headers=reader)
            assert refused.status_code == 403
            assert admin.get("/v1/collections/other/docs/x", headers=reader).status_code == 403

            # While the server runs, the same commands go through the admin API.
            online = cli(
                data,
                "keys",
                "create",
                "--name",
                "writer",
                "--permissions",
                "read,write",
                port=server.port,
            )
            assert online.returncode == 0, online.stderr
            writer = json.loads(online.stdout)
            ids = {k["id"] for k in json.loads(cli(data, "keys", "list", port=server.port).stdout)}
            assert ids == {key["id"], writer["id"]}
            revoked = cli(data, "keys", "revoke", writer["id"], port=server.port)
            assert revoked.returncode == 0, revoked.stderr
            stale = {"Authorization": f"Bearer {writer['token']}"}
            assert admin.get("/v1/collections/tickets/docs/t-1", headers=stale).status_code == 401
    finally:
        server.stop()


def _export(server: ServerProcess) -> list[dict[str, object]]:
    with server.client() as client:
        body = client.get("/v1/admin/export").text
    return [json.loads(line) for line in body.splitlines() if line]


def test_export_from_a_live_server_imports_into_an_empty_one(tmp_path: Path) -> None:
    source = ServerProcess(tmp_path / "a").start()
    target = ServerProcess(tmp_path / "b").start()
    try:
        with source.client() as client:
            for i in range(250):
                client.put(f"/v1/collections/c{i % 3}/docs/k{i:04d}", json={"i": i, "s": "x" * i})
            client.put("/v1/collections/ttl/docs/soon", json=1, params={"ttl_s": 3600})
            client.delete("/v1/collections/c0/docs/k0000")
            source_epoch = client.get("/readyz").headers["x-levelstream-epoch"]
            source_head = client.get("/readyz").json()["head_seq"]
        exported = _export(source)
        assert exported[0] == {"epoch": source_epoch, "seq": source_head}
        assert len(exported) == 1 + 250  # minus the deleted one, plus the TTL document

        body = "\n".join(json.dumps(line) for line in exported) + "\n"
        with target.client() as client:
            loaded = client.post(
                "/v1/admin/import", content=body, headers={"Content-Type": "application/x-ndjson"}
            )
            assert loaded.status_code == 200, loaded.text
            assert loaded.json() == {"imported": 250, "epoch": source_epoch, "seq": source_head}
            ready = client.get("/readyz")
            assert ready.headers["x-levelstream-epoch"] == source_epoch
            assert ready.json()["head_seq"] == source_head
            # Importing twice is refused: the database is no longer empty.
            assert client.post("/v1/admin/import", content=body).status_code == 409
            again = client.get("/v1/collections/c1/docs/k0001").json()
            assert again["value"] == {"i": 1, "s": "x"}
        assert _export(target) == exported

        # The same file through the CLI, offline, into a third directory.
        path = tmp_path / "backup.ndjson"
        path.write_text(body)
        offline = tmp_path / "c"
        done = cli(offline, "import", "--input", str(path))
        assert done.returncode == 0, done.stderr
        out = tmp_path / "again.ndjson"
        assert cli(offline, "export", "--output", str(out)).returncode == 0
        assert [json.loads(line) for line in out.read_text().splitlines()] == exported
        assert cli(offline, "compact").returncode == 0
    finally:
        source.stop()
        target.stop()


def _sample(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_metrics_move_when_traffic_flows(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data").start()
    try:
        async with server.async_client() as client:
            before = (await client.get("/metrics")).text
            for i in range(5):
                await client.put(f"/v1/collections/m/docs/k{i}", json=i)
            async with websockets.connect(f"{server.ws_url}/v1/ws?token={ADMIN_TOKEN}") as ws:
                await ws.send(json.dumps({"op": "subscribe", "sub": "s", "collection": "m"}))
                await ws.recv()
                during = (await client.get("/metrics")).text
            route = "/v1/collections/{collection}/docs/{key:path}"
            puts = _sample(during, "levelstream_http_requests_total", route=route, method="PUT")
            assert (
                puts - _sample(before, "levelstream_http_requests_total", route=route, method="PUT")
                == 5
            )
            # The latency histogram counts the same requests, in cumulative buckets.
            latency = "levelstream_http_request_duration_seconds"
            puts_timed = _sample(during, f"{latency}_count", route=route, method="PUT")
            assert puts_timed - _sample(before, f"{latency}_count", route=route, method="PUT") == 5
            buckets = [
                _sample(during, f"{latency}_bucket", route=route, method="PUT", le=le)
                for le in ("0.0005", "0.01", "1.0", "+Inf")
            ]
            assert buckets == sorted(buckets) and buckets[-1] == puts_timed
            assert _sample(during, f"{latency}_sum", route=route, method="PUT") > 0
            assert _sample(during, "levelstream_head_seq") == 5
            assert _sample(during, "levelstream_connections", transport="ws") == 1
            assert _sample(during, "levelstream_subscriptions") == 1
            assert _sample(during, "levelstream_writer_group_transactions_count") >= 1
            assert re.search(r"^levelstream_store_bytes \d", during, re.MULTILINE)
        with httpx.Client(base_url=server.url) as plain:
            assert plain.get("/metrics").headers["content-type"].startswith("text/plain")
    finally:
        server.stop()
