"""`/console` in a real browser: Debian's chromium, driven by playwright-core
(tests/console_browser.mjs), against a real server on loopback. The page is opened,
an admin token pasted, a collection picked and paged; a change written through REST
arrives live; a document is written with the form through the offline-first client
(saved, then shown with its rev; a refused one is listed as not taken, with its code);
the rules editor refuses a bad rule showing the problem and its position,
then saves and lists a good one; an index is created and shown ready with its progress;
the page joins a channel with a name, sees a second member (this test,
over a WebSocket) come and go live, and publishes to it. A screenshot is kept in
tests/artifacts/console.png (a CI artifact).

Without a browser, the page's headers, assets and packaging are still checked."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import subprocess
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

from tests.sdk_support import CHROMIUM, JS_DIR, LineReader, chromium, missing, node
from tests.server import ADMIN_TOKEN, ROOT, ServerProcess

STATIC = ROOT / "app" / "console" / "static"
ARTIFACTS = ROOT / "tests" / "artifacts"
DRIVER = ROOT / "tests" / "console_browser.mjs"
COLLECTION = "desk"
CHANNEL = "lobby"
SEEDS = [f"s-{n:02d}" for n in range(1, 16)]  # 15 documents: two pages of 10


@pytest.fixture(scope="module")
def console_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path_factory.mktemp("console") / "data").start()
    try:
        yield server
    finally:
        server.stop()


def test_console_page_and_assets_are_served_with_a_strict_policy(
    console_server: ServerProcess,
) -> None:
    page = httpx.get(f"{console_server.url}/console")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    csp = {
        part.split()[0]: part.split()[1:]
        for part in page.headers["content-security-policy"].split("; ")
    }
    assert csp["default-src"] == ["'none'"]
    assert csp["script-src"] == ["'self'"]
    assert csp["connect-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["form-action"] == ["'none'"]
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    assert "<script>" not in page.text  # script files only
    assert not re.search(r"\son[a-z]+\s*=", page.text)  # no inline event handlers
    for asset in ("levelstream.browser.js", "console.js", "console.css", "favicon.svg"):
        assert f"/console/static/{asset}" in page.text
        served = httpx.get(f"{console_server.url}/console/static/{asset}")
        assert served.status_code == 200, asset
        assert served.content == (STATIC / asset).read_bytes()
        assert served.headers["content-security-policy"] == page.headers["content-security-policy"]
    bundle = httpx.get(f"{console_server.url}/console/static/levelstream.browser.js")
    assert bundle.headers["content-type"].startswith("text/javascript")
    assert "var Levelstream" in bundle.text
    schema = httpx.get(f"{console_server.url}/openapi.json").json()
    assert not any(path.startswith("/console") for path in schema["paths"])
    assert httpx.get(f"{console_server.url}/console/static/missing.js").status_code == 404


def test_console_files_are_package_data() -> None:
    """`pip install .` (deploy/Dockerfile) must ship every file /console serves."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["app.console"]
    files = [p.relative_to(STATIC.parent).as_posix() for p in STATIC.rglob("*") if p.is_file()]
    assert "static/levelstream.browser.js" in files
    for name in files:
        assert any(fnmatch.fnmatch(name, pattern) for pattern in patterns), name


def test_console_script_keeps_the_token_in_session_storage_only() -> None:
    script = (STATIC / "console.js").read_text()
    code = "\n".join(line for line in script.splitlines() if not line.lstrip().startswith("//"))
    assert "sessionStorage" in code
    assert "localStorage" not in code and "document.cookie" not in code
    assert "innerHTML" not in code and "eval(" not in code


@contextmanager
def _ws_member(server: ServerProcess) -> Iterator[ClientConnection]:
    """A second presence member: a plain WebSocket client that joins as `py-bot`."""
    url = f"{server.ws_url}/v1/ws"
    with connect(url, proxy=None, compression=None, open_timeout=20) as ws:
        ws.send(json.dumps({"op": "auth", "token": ADMIN_TOKEN}))
        assert json.loads(ws.recv(timeout=20))["ok"] is True
        for frame in (
            {"op": "subscribe", "id": "sub", "sub": "py", "channel": CHANNEL},
            {"op": "join", "id": "join", "channel": CHANNEL, "state": {"name": "py-bot"}},
        ):
            ws.send(json.dumps(frame))
            reply = _frame(ws, lambda f, i=frame["id"]: f.get("id") == i)
            assert reply["ok"] is True, reply
        yield ws


def _frame(ws: ClientConnection, predicate: Any, timeout: float = 20) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        frame: dict[str, Any] = json.loads(ws.recv(timeout=max(deadline - time.monotonic(), 0.01)))
        if predicate(frame):
            return frame


@pytest.mark.timeout(120)
def test_console_in_chromium(console_server: ServerProcess, tmp_path: Path) -> None:
    node_path = node()
    if not (JS_DIR / "node_modules" / "playwright-core").is_dir():
        missing("clients/js/node_modules is missing: run `make sdk-deps`")
    chromium()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    screenshot = ARTIFACTS / "console.png"
    screenshot.unlink(missing_ok=True)
    client = console_server.client()
    for key in SEEDS:
        assert client.put(f"/v1/collections/{COLLECTION}/docs/{key}", json={"n": key}).is_success
    assert client.put("/v1/collections/other/docs/x", json=1).is_success

    proc = subprocess.Popen(
        [
            node_path,
            str(DRIVER),
            console_server.url,
            ADMIN_TOKEN,
            COLLECTION,
            CHANNEL,
            str(screenshot),
        ],
        cwd=ROOT,
        env={**os.environ, "CHROMIUM": str(CHROMIUM), "JS_DIR": str(JS_DIR), "HOME": str(tmp_path)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines = LineReader(proc)

    def step(name: str, timeout: float = 40) -> dict[str, Any]:
        event: dict[str, Any] = json.loads(lines.next(timeout))
        assert event["step"] == name, event
        return event

    def go(**fields: Any) -> None:
        assert proc.stdin is not None
        proc.stdin.write(json.dumps(fields) + "\n")
        proc.stdin.flush()

    try:
        # The token is in sessionStorage only: not in localStorage, the URL or the field.
        opened = step("subscribed")
        assert opened["refused"].startswith("401 unauthorized")  # a wrong token first
        assert '"code": "unauthorized"' in opened["refused"]
        assert opened["keptAfterRefusal"] == 0
        assert opened["storage"] == {
            "session": ADMIN_TOKEN,
            "localCount": 0,
            "url": f"{console_server.url}/console",
            "field": "",
        }
        assert opened["keys"] == SEEDS  # page of 25: every document, in key order
        assert opened["page2"] == SEEDS[10:]  # pages of 10: the second one
        assert opened["snapshot"].startswith("snapshot: 15 documents as of seq ")

        # A write through REST arrives live.
        assert client.put(
            f"/v1/collections/{COLLECTION}/docs/from-rest", json={"title": "Printer on fire"}
        ).is_success
        go(key="from-rest")
        live = step("live")
        assert "put" in live["shown"] and "Printer on fire" in live["shown"]

        # The form's write is stored; a refused one shows the problem document.
        written = step("written")
        assert written["written"].startswith("Saved from-form in desk: rev ")
        assert "typed in the console" in written["shown"]
        assert written["problem"].startswith("validation_failed: ")
        refused = "Refused: your put of desk/from-form (validation_failed"
        assert written["refusal"].startswith(refused)
        stored = client.get(f"/v1/collections/{COLLECTION}/docs/from-form").json()
        assert stored["value"] == {"title": "typed in the console", "n": 7}
        go()

        # The rules editor shows a refusal as its problem, at its position; then saves.
        edited = step("admin")
        assert '"code": "validation_failed"' in edited["ruleProblem"]
        assert edited["ruleProblem"].startswith("read, line 1, column 14")
        assert '"offset": 13' in edited["ruleProblem"]
        assert edited["caret"] == {"field": "rule-read", "at": 13}
        assert "notes" not in edited["listedBefore"]  # the refused rule was not saved
        assert "read: doc.public || doc.owner == auth.sub" in edited["rule"]
        assert "create: new.owner == auth.sub" in edited["rule"]
        assert edited["ruleErrorHidden"] is True
        saved = client.get("/v1/rules/notes").json()
        assert saved["read"] == "doc.public || doc.owner == auth.sub"
        # The index built over the collection's documents, and its progress says so.
        assert "by_n" in edited["index"] and "ready" in edited["index"]
        total = len(SEEDS) + 2  # the seeds, from-rest and from-form
        assert f"{total} / {total}" in edited["index"]
        assert edited["progress"] == [total, total]
        index = client.get(f"/v1/collections/{COLLECTION}/indexes/by_n").json()
        assert (index["state"], index["done"], index["total"]) == ("ready", total, total)

        # Presence: the page joins as Ada, this test's member comes, hears, and goes.
        joined = step("joined")
        members = client.get(f"/v1/channels/{CHANNEL}/presence").json()["items"]
        assert [m["state"] for m in members] == [{"name": "Ada"}]
        assert members[0]["client_id"] == joined["client_id"]
        with _ws_member(console_server) as member:
            go()
            published = step("published")
            assert any(m.startswith("Ada (you)") for m in published["members"])
            assert any(m.startswith("py-bot") for m in published["members"])
            message = _frame(member, lambda f: f.get("type") == "message")
            assert message["data"] == {"hello": "from the console"}
            assert message["from"] == joined["client_id"]
        go()  # py-bot has left

        done = step("done")
        assert "py-bot joined" in done["feed"] and "py-bot left" in done["feed"]
        assert done["forgotten"] == {"session": 0, "local": 0, "databases": 0}
        assert done["tokenInUrl"] == []
        assert done["problems"] == []  # no CSP violation, no script error
        assert proc.stdin is not None
        proc.stdin.close()
        assert proc.wait(30) == 0, lines.seen
        assert screenshot.stat().st_size > 10_000
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        client.close()
