"""Offline-first in a real browser (issue 16): Debian's chromium, driven by playwright-core
(clients/js/test/browser-offline.mjs), two tabs of one origin on a notes page with a live
query over the SDK's IndexedDB replica. The server is stopped; both tabs write (one write
deliberately conflicts); the tab holding the connection reloads while offline and still shows
the local view and the queued writes; meanwhile the server's data changes. When the server is
back, every queued write reaches it exactly once (checked here in /v1/changes), the server's
changes arrive in both tabs, and the conflicting write reaches the page's conflict handler. A
write the server refuses is announced in both tabs (onConflicts), and so is its dismissal in
the tab that does not hold the connection."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from tests.sdk_support import CHROMIUM, JS_DIR, LineReader, built_js_sdk, chromium
from tests.server import ADMIN_TOKEN, ServerProcess
from tests.test_sdk_browser import page_server

__all__ = ["page_server"]  # the fixture, shared with the other browser test

COLLECTION = "notes"


def step(reader: LineReader, name: str) -> dict[str, Any]:
    line = json.loads(reader.next(timeout=90))
    assert line["step"] == name, json.dumps(line, indent=1)
    return dict(line)


def test_two_tabs_write_offline_reload_and_sync_exactly_once(
    tmp_path: Path, page_server: str
) -> None:
    node = built_js_sdk()
    chromium()
    data = tmp_path / "data"
    server = ServerProcess(data, LEVELSTREAM_ALLOWED_ORIGINS=page_server).start()
    with server.client() as client:
        docs = f"/v1/collections/{COLLECTION}/docs"
        assert client.put(f"{docs}/seed", json={"text": "seed"}).is_success
        assert client.put(f"{docs}/shared", json={"text": "base", "n": 1}).is_success
    proc = subprocess.Popen(
        [
            node,
            "test/browser-offline.mjs",
            f"{page_server}/test/browser/offline.html",
            server.url,
            ADMIN_TOKEN,
            COLLECTION,
        ],
        cwd=JS_DIR,
        env={**os.environ, "CHROMIUM": str(CHROMIUM), "HOME": str(tmp_path)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    reader = LineReader(proc)
    try:
        online = step(reader, "online")
        assert sorted(online["leaders"]) == [False, True]  # one tab holds the connection
        assert all(set(view) == {"seed", "shared"} for view in online["views"])

        server.stop()
        assert proc.stdin is not None
        proc.stdin.write("down\n")
        proc.stdin.flush()
        queued = step(reader, "queued")
        assert queued["statuses"] == ["offline 5", "offline 5"]
        for view in queued["views"]:
            assert view["a1"] == {"value": {"text": "from tab A"}, "pending": True}
            assert view["shared"] == {
                "value": {"text": "edited offline in B", "n": 1},
                "pending": True,
            }
            assert "seed" not in view  # archived locally: it left the view

        # Meanwhile, on the server (the same data, another port the tabs do not know):
        meanwhile = ServerProcess(data).start()
        with meanwhile.client() as client:
            assert client.put(
                f"{docs}/meanwhile", json={"text": "made while they were offline"}
            ).is_success
            assert client.put(f"{docs}/shared", json={"text": "theirs", "n": 2}).is_success
        meanwhile.stop()
        server.start()  # the port the tabs know
        proc.stdin.write("up\n")
        proc.stdin.flush()
        synced = step(reader, "synced")

        assert synced["conflictsSeen"] == [
            {
                "key": "shared",
                "mine": {"text": "edited offline in B"},
                "theirs": {"text": "theirs", "n": 2},
            }
        ]
        assert synced["conflictsKept"] == []
        with server.client() as client:
            changes = client.get(
                "/v1/changes", params={"collection": COLLECTION, "since": 0}
            ).json()["changes"]
            final = {d["key"]: d["value"] for d in client.get(docs).json()["items"]}
        written = [c["key"] for c in changes]
        for key in ("a1", "a2", "b1"):
            assert written.count(key) == 1, written  # exactly once
        assert final["shared"] == {"text": "edited offline in B", "n": 2, "merged": True}
        assert final["seed"] == {"text": "seed", "archived": True}
        expected = {
            k: {"value": v, "pending": False} for k, v in final.items() if "archived" not in v
        }
        assert synced["views"] == [expected, expected]

        # Refused (no such document), kept, announced in both tabs; dismissed in the tab that
        # does not hold the connection, announced in the other too: called at once, then per change.
        conflicts = step(reader, "conflicts")
        heard = [[], ["not_found:nowhere"], []]
        assert conflicts["holder"] == heard
        assert conflicts["other"] == heard
        assert conflicts["kept"] == []

        # A burst of the server's changes: puts, some leaving the view, deletes.
        with server.client() as client:
            ops: list[dict[str, Any]] = [
                {"op": "put", "collection": COLLECTION, "key": f"burst{i:03d}", "value": {"n": i}}
                for i in range(300)
            ]
            ops += [
                {
                    "op": "put",
                    "collection": COLLECTION,
                    "key": f"burst{i:03d}",
                    "value": {"n": i, "archived": True},
                }
                for i in range(0, 300, 7)
            ]
            ops += [{"op": "delete", "collection": COLLECTION, "key": "a2"}]
            assert client.post("/v1/batch", json={"ops": ops}).is_success
            for i in range(0, 300, 5):  # one at a time too: one change per frame
                assert client.put(f"{docs}/burst{i:03d}", json={"n": i, "again": True}).is_success
            head = client.get(
                "/v1/changes", params={"collection": COLLECTION, "since": 0, "limit": 1}
            ).json()["head_seq"]
            listed = client.get(docs, params={"limit": 1000}).json()["items"]
            final = {d["key"]: d["value"] for d in listed}
        proc.stdin.write(f"{head}\n")
        proc.stdin.flush()
        burst = step(reader, "burst")
        expected = {
            k: {"value": v, "pending": False} for k, v in final.items() if "archived" not in v
        }
        assert "a2" not in expected and "burst007" not in expected and "burst005" in expected
        assert burst["holder"] == expected
        assert burst["other"] == expected  # the tab without the connection: the same view
        assert burst["otherReads"] == 0  # from what the holder broadcast, not by re-reading
        assert burst["reloaded"] == expected  # read back: the stored view with the log on top
        assert burst["compacted"] == expected  # read back: the log folded into the view

        leases = step(reader, "leases")
        mine = "!has(doc.archived)"
        assert sorted(leases["opened"]) == sorted([mine, "doc.extra == true"])
        assert leases["closed"] == [mine]  # closed in the other tab: unsubscribed
        assert leases["crashed"] == [mine]  # its tab crashed: dropped when the lease ran out

        # A replica stored by the SDK's earlier layout (version 2) opens offline as it was:
        # its buckets with the log on top, its seq, its queued write.
        legacy = step(reader, "legacy")
        assert legacy == {
            "step": "legacy",
            "seq": 41,
            "view": {
                "old1": {"value": {"text": "one"}, "pending": False},
                "old2": {"value": {"text": "two, edited"}, "pending": False},
                "old4": {"value": {"text": "four"}, "pending": False},
                "queued": {"value": {"text": "queued"}, "pending": True},
            },
            "pending": 1,
        }
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
        if server.proc is not None:
            server.stop()
