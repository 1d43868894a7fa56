"""The JS SDK (clients/js) under node against a real server: its node:test suite
(CRUD, ranges, batch, conditional writes, typed errors, keys and tokens, WebSocket and
SSE subscriptions, channels, presence, token refresh), and a subscription that
survives a server restart and receives every change exactly once."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.sdk_support import JS_DIR, LineReader, built_js_sdk
from tests.server import ADMIN_TOKEN, ServerProcess

NODE_FLAGS = ["--experimental-websocket", "--no-warnings"]  # Node 20: WebSocket is a flag


def js_env(server: ServerProcess) -> dict[str, str]:
    return {**os.environ, "LEVELSTREAM_URL": server.url, "LEVELSTREAM_TOKEN": ADMIN_TOKEN}


def test_js_sdk_suite_under_node(server: ServerProcess) -> None:
    node = built_js_sdk()
    result = subprocess.run(
        [node, *NODE_FLAGS, "--test", "test/sdk.test.mjs"],
        cwd=JS_DIR,
        env=js_env(server),
        capture_output=True,
        text=True,
        timeout=180,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "# fail 0" in output and "# pass 0" not in output, output


def test_js_cel_conformance() -> None:
    """tests/cel_conformance.json through a JS CEL implementation narrowed to our subset:
    the answers an SDK computes locally are the server's (app/cel; tests/test_cel.py)."""
    node = built_js_sdk()
    result = subprocess.run(
        [node, "--no-warnings", "--test", "test/cel-conformance.test.mjs"],
        cwd=JS_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "# fail 0" in output and "# pass 0" not in output, output


def test_help_ticket_example(server: ServerProcess) -> None:
    """clients/js/examples/help-ticket.mjs runs as documented and tells the story."""
    node = built_js_sdk()
    result = subprocess.run(
        [node, *NODE_FLAGS, "examples/help-ticket.mjs"],
        cwd=JS_DIR,
        env=js_env(server),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Bob got 412" in result.stdout and "Bob replied on top of Ann's" in result.stdout


@pytest.mark.parametrize("transport", ["websocket", "sse"])
def test_js_subscription_survives_server_restart(
    fresh_server: ServerProcess, transport: str
) -> None:
    node = built_js_sdk()
    fresh_server.start()
    proc = subprocess.Popen(
        [node, *NODE_FLAGS, "test/follow.mjs", transport, "tickets", "40"],
        cwd=JS_DIR,
        env=js_env(fresh_server),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    reader = LineReader(proc)
    changes: list[dict[str, object]] = []

    def collect(until: int, timeout: float = 30) -> dict[str, object]:
        deadline = time.monotonic() + timeout
        while True:
            line = json.loads(reader.next(deadline - time.monotonic()))
            if "seq" in line:
                changes.append(line)
                if len(changes) >= until:
                    return line
            elif line.get("done"):
                return line

    try:
        assert json.loads(reader.next(30)) == {"ready": True}
        with fresh_server.client() as client:
            for i in range(20):
                assert client.put(
                    f"/v1/collections/tickets/docs/k{i:02d}", json={"i": i}
                ).is_success
        collect(5)
        fresh_server.restart()  # graceful: the socket closes with 1001, streams end
        with fresh_server.client() as client:
            for i in range(20, 40):
                assert client.put(
                    f"/v1/collections/tickets/docs/k{i:02d}", json={"i": i}
                ).is_success
        collect(40)
        done = json.loads(reader.next(30))
        assert done.get("done"), done
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert [c["key"] for c in changes] == [f"k{i:02d}" for i in range(40)]
    assert [c["seq"] for c in changes] == list(range(1, 41))  # every change once, in order
    if transport == "websocket":
        assert int(done["connections"]) >= 2  # type: ignore[call-overload]
    else:
        assert done["connections"] == 0


# A program of a JS user outside this repository: the installed package, by its name.
CONSUMER_SCRIPT = """
import { connect, putDocument, RealtimeClient } from '@levelstream/client';
const baseUrl = process.env.LEVELSTREAM_URL;
const token = process.env.LEVELSTREAM_TOKEN;
const rt = new RealtimeClient({ baseUrl, token, transport: 'websocket', reconnect: false });
try {
  const sub = await rt.subscribe({ collection: 'packed' });
  const api = connect({ baseUrl, token });
  await putDocument({ client: api, path: { collection: 'packed', key: 'from-tarball' }, body: 1 });
  for await (const change of sub) {
    console.log(JSON.stringify({ key: change.key, seq: change.seq }));
    break;
  }
} catch (error) {
  console.log(JSON.stringify({ error: String(error.message ?? error) }));
} finally {
  await rt.close();
}
"""


def test_packed_sdk_installs_and_runs_outside_the_repository(
    server: ServerProcess, tmp_path: Path
) -> None:
    """`npm pack` makes a tarball with the built ES module and its types; `npm install` of
    it into a project elsewhere takes its runtime dependencies (the CEL evaluator and idb)
    and none of its dev dependencies, and a script there subscribes, writes and gets the
    write. Without a global WebSocket (Node 20 without the flag) the error names the fix.

    `--prefer-offline`, not `--offline`: resolving a tarball's dependencies needs their
    registry metadata, which `npm ci` (lockfile installs) never caches, so on a fresh
    machine an offline install fails whatever the package holds."""
    node = built_js_sdk()
    packs = tmp_path / "packs"
    packs.mkdir()
    pack = subprocess.run(
        ["npm", "pack", "--pack-destination", str(packs)],
        cwd=JS_DIR,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert pack.returncode == 0, pack.stdout + pack.stderr
    (tarball,) = packs.glob("levelstream-client-*.tgz")
    consumer = tmp_path / "consumer"
    consumer.mkdir()
    (consumer / "package.json").write_text(
        '{"name": "consumer", "private": true, "type": "module"}'
    )
    install = subprocess.run(
        ["npm", "install", "--prefer-offline", "--no-audit", "--no-fund", str(tarball)],
        cwd=consumer,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    installed = consumer / "node_modules" / "@levelstream" / "client"
    assert (installed / "dist" / "index.js").is_file()
    assert (installed / "dist" / "index.d.ts").is_file()
    assert (installed / "dist" / "levelstream.browser.js").is_file()
    assert not (consumer / "node_modules" / "typescript").exists()  # no dev dependencies
    (consumer / "follow.mjs").write_text(CONSUMER_SCRIPT)

    def run(*flags: str) -> dict[str, object]:
        result = subprocess.run(
            [node, *flags, "follow.mjs"],
            cwd=consumer,
            env=js_env(server),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        parsed: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
        return parsed

    assert run(*NODE_FLAGS)["key"] == "from-tarball"
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True)
    if version.stdout.startswith("v20."):
        missing_websocket = str(run("--no-warnings")["error"])
        assert "Node.js >= 22" in missing_websocket, missing_websocket
        assert "import WebSocket from 'ws'" in missing_websocket, missing_websocket
