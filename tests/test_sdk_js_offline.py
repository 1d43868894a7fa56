"""The JS SDK's offline replica under node against a real server (clients/js/test/offline.test.mjs):
local copies of live queries, optimistic writes flagged pending until every live query of
their collection has applied them (also one that never hears of them: a filtered query, or a
batch op whose rev is not the batch's seq), conflicts to the handler or kept (server wins),
and a file store that resumes from its seq after a restart with queued writes sent exactly
once."""

from __future__ import annotations

import subprocess

from tests.sdk_support import JS_DIR, built_js_sdk
from tests.server import ServerProcess
from tests.test_sdk_js import NODE_FLAGS, js_env


def test_js_offline_replica_under_node(server: ServerProcess) -> None:
    node = built_js_sdk()
    result = subprocess.run(
        [node, *NODE_FLAGS, "--test", "test/offline.test.mjs"],
        cwd=JS_DIR,
        env=js_env(server),
        capture_output=True,
        text=True,
        timeout=180,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "# fail 0" in output and "# pass 0" not in output, output
