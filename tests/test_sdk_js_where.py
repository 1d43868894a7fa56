"""The JS SDK's filtered live queries against a real server (clients/js/test/live-where.test.mjs):
`where` on WebSocket and EventSource subscriptions and on change polling, typed enter/update/
leave events in the notes app of docs/rules.md with two users' JWTs, and a rule change ending a
subscription with RulesChangedError (reason rules_changed), told apart from history_compacted."""

from __future__ import annotations

import subprocess

from tests.sdk_support import JS_DIR, built_js_sdk
from tests.server import ServerProcess
from tests.test_sdk_js import NODE_FLAGS, js_env


def test_js_where_enter_leave_and_rules_changed(server: ServerProcess) -> None:
    node = built_js_sdk()
    result = subprocess.run(
        [node, *NODE_FLAGS, "--test", "test/live-where.test.mjs"],
        cwd=JS_DIR,
        env=js_env(server),
        capture_output=True,
        text=True,
        timeout=180,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "# fail 0" in output and "# pass 0" not in output, output
