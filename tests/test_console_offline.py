"""`/console` through an outage of its server (issue 16), in Debian's chromium driven by
playwright-core (tests/console_offline_browser.mjs). The console's document writes go
through the JS SDK's offline-first client: with the server stopped, two writes from the
form show at once as pending and the status pill says `offline · 2 pending`; the page is
reloaded while the server is still down and the writes are still there (IndexedDB), a
third one (an edit of a document the server changes meanwhile) is queued; when the server
is back the queue drains to `online · 0 pending`, every write is on the server exactly
once, and the conflicting one is shown to the operator (which document, what happened,
what to do), who writes theirs again from there, then dismisses that entry by its own
button while a refused write stays listed (also after a reload)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.sdk_support import CHROMIUM, JS_DIR, LineReader, chromium, missing, node
from tests.server import ADMIN_TOKEN, ROOT, ServerProcess

DRIVER = ROOT / "tests" / "console_offline_browser.mjs"
COLLECTION = "desk"


def _changes(server: ServerProcess) -> list[dict[str, Any]]:
    with server.client() as client:
        answer = client.get("/v1/changes", params={"collection": COLLECTION, "since": 0})
        changes: list[dict[str, Any]] = answer.json()["changes"]
        return changes


def _documents(server: ServerProcess) -> dict[str, Any]:
    with server.client() as client:
        items = client.get(f"/v1/collections/{COLLECTION}/docs").json()["items"]
        return {doc["key"]: doc["value"] for doc in items}


@pytest.mark.timeout(180)
def test_console_queues_writes_through_an_outage_and_a_reload(tmp_path: Path) -> None:
    node_path = node()
    if not (JS_DIR / "node_modules" / "playwright-core").is_dir():
        missing("clients/js/node_modules is missing: run `make sdk-deps`")
    chromium()
    data = tmp_path / "data"
    server = ServerProcess(data).start()
    with server.client() as client:
        for key, value in (("seed", {"text": "seed"}), ("shared", {"text": "base"})):
            assert client.put(f"/v1/collections/{COLLECTION}/docs/{key}", json=value).is_success
    proc = subprocess.Popen(
        [node_path, str(DRIVER), server.url, ADMIN_TOKEN, COLLECTION],
        cwd=ROOT,
        env={**os.environ, "CHROMIUM": str(CHROMIUM), "JS_DIR": str(JS_DIR), "HOME": str(tmp_path)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines = LineReader(proc)

    def step(name: str) -> dict[str, Any]:
        event: dict[str, Any] = json.loads(lines.next(90))
        assert event["step"] == name, event
        return event

    def go() -> None:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()

    def row(value: Any, pending: bool) -> dict[str, Any]:
        return {"value": value, "pending": pending}

    try:
        online = step("online")
        assert online["pill"] == "online · 0 pending"
        assert online["rows"] == {
            "seed": row({"text": "seed"}, False),
            "shared": row({"text": "base"}, False),
        }

        server.stop()
        go()
        queued = step("queued")
        offline_rows = {
            "seed": row({"text": "seed"}, False),
            "shared": row({"text": "base"}, False),
            "off-1": row({"text": "written offline", "n": 1}, True),
            "off-2": row({"text": "written offline", "n": 2}, True),
        }
        assert queued["beforeReload"] == {"pill": "offline · 2 pending", "rows": offline_rows}
        after = queued["afterReload"]
        assert (after["pill"], after["rows"]) == ("offline · 2 pending", offline_rows)
        assert "writes are queued" in after["notice"]
        assert queued["pill"] == "offline · 3 pending"
        assert queued["rows"]["shared"] == row({"text": "mine"}, True)

        # Meanwhile someone else changes `shared` (the same data, a port the page does not know).
        meanwhile = ServerProcess(data).start()
        with meanwhile.client() as client:
            theirs = client.put(
                f"/v1/collections/{COLLECTION}/docs/shared", json={"text": "theirs"}
            )
            assert theirs.is_success
        meanwhile.stop()
        server.start()  # the port the page knows
        go()

        synced = step("synced")
        assert synced["pill"] == "online · 0 pending"
        assert synced["rows"] == {
            "seed": row({"text": "seed"}, False),
            "shared": row({"text": "theirs"}, False),  # the server's version was kept
            "off-1": row({"text": "written offline", "n": 1}, False),
            "off-2": row({"text": "written offline", "n": 2}, False),
        }
        assert synced["conflict"] == (
            f"Conflict on {COLLECTION}/shared: your put was based on rev 2, but the server's "
            "copy changed (it is at rev 3 there now). The server's version was kept."
        )
        assert '{"text":"mine"}' in synced["conflictText"]
        assert '{"text":"theirs"}' in synced["conflictText"]
        assert "Write mine again" in synced["conflictText"]
        not_taken = f"Not taken by the server: the put of shared in {COLLECTION}"
        assert synced["writeResult"] == not_taken
        keys = [change["key"] for change in _changes(server)]
        assert keys.count("off-1") == 1 and keys.count("off-2") == 1, keys  # exactly once
        assert keys.count("shared") == 2, keys  # created, then theirs: mine was not applied
        assert _documents(server)["shared"] == {"text": "theirs"}
        go()

        resolved = step("resolved")
        assert resolved["pill"] == "online · 0 pending"
        assert resolved["rows"]["shared"] == row({"text": "mine"}, False)
        assert resolved["writeResult"].startswith(f"Saved shared in {COLLECTION}: rev ")
        keys = [change["key"] for change in _changes(server)]
        assert keys.count("shared") == 3, keys
        assert keys.count("off-1") == 1 and keys.count("off-2") == 1, keys
        assert _documents(server) == {
            "seed": {"text": "seed"},
            "shared": {"text": "mine"},
            "off-1": {"text": "written offline", "n": 1},
            "off-2": {"text": "written offline", "n": 2},
        }
        go()

        done = step("done")
        assert done["problems"] == []  # no script error, no CSP violation
        long_key = "é" * 300  # 600 bytes of UTF-8: over the server's 512
        assert done["beforeDismiss"] == [long_key, "shared"]  # newest first
        assert done["afterDismiss"] == [long_key]  # the entry dismissed by its own button
        assert done["afterReload"] == [long_key]  # gone from IndexedDB, the other kept
        assert long_key not in _documents(server)
        assert proc.stdin is not None
        proc.stdin.close()
        assert proc.wait(30) == 0, lines.seen
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        if server.proc is not None:
            server.stop()
