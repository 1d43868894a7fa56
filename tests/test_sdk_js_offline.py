"""The JS SDK's offline replica under node against a real server (clients/js/test/offline.test.mjs):
local copies of live queries, optimistic writes flagged pending until every live query of
their collection has applied them (also one that never hears of them: a filtered query, or a
batch op whose rev is not the batch's seq), conflicts to the handler or kept (server wins),
and a file store that resumes from its seq after a restart with queued writes sent exactly
once; the status with no live query open, against a server this test stops and starts again
when the node test asks (through files in a control directory)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

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


def test_js_offline_status_with_no_query_follows_a_stopped_server(
    fresh_server: ServerProcess, tmp_path: Path
) -> None:
    node = built_js_sdk()
    server = fresh_server.start()
    control = tmp_path / "control"
    control.mkdir()
    env = {**js_env(server), "LEVELSTREAM_SERVER_CONTROL": str(control)}
    pattern = "with no live query open the status says"
    with subprocess.Popen(
        [node, *NODE_FLAGS, "--test", f"--test-name-pattern={pattern}", "test/offline.test.mjs"],
        cwd=JS_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as proc:
        deadline = time.monotonic() + 180
        actions = {"stop": server.stop, "start": server.start}
        while proc.poll() is None and time.monotonic() < deadline:
            for name, action in actions.items():
                asked = control / name
                if asked.exists():
                    asked.unlink()
                    action()
                    (control / f"{name}.done").touch()
            time.sleep(0.05)
        if proc.poll() is None:
            proc.kill()
        output = proc.communicate()[0]
    assert proc.returncode == 0, output
    assert "# pass 1" in output and "# fail 0" in output, output
