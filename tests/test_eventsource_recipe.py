"""The README's recipe for a browser's native EventSource with single-use tickets holds:
across a server restart it resumes with exactly the changes it missed, while an
EventSource left to its own reconnect (repeating the spent ticket) stops for good."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

from tests.sdk_support import CHROMIUM, JS_DIR, built_js_sdk, chromium
from tests.server import ADMIN_TOKEN, ROOT, ServerProcess
from tests.test_sdk_browser import page_server  # noqa: F401 - the fixture

RECIPE = re.compile(
    r"```js\n(// Follow a collection with the browser's own EventSource.*?)```", re.S
)


def readme_recipe() -> str:
    found = RECIPE.search((ROOT / "README.md").read_text())
    assert found, "README.md lost its native EventSource recipe"
    return found.group(1)


def test_the_readme_recipe_resumes_where_a_plain_eventsource_stops(
    tmp_path: Path,
    page_server: str,  # noqa: F811
) -> None:
    node = built_js_sdk()
    chromium()
    recipe = tmp_path / "recipe.js"
    recipe.write_text(readme_recipe() + "\nwindow.followChanges = followChanges;\n")
    server = ServerProcess(tmp_path / "data", LEVELSTREAM_ALLOWED_ORIGINS=page_server).start()
    with server.client() as client:
        first = client.put("/v1/collections/desk/docs/a", json={"n": 1}).json()["rev"]
    driver = subprocess.Popen(
        [
            node,
            "test/eventsource.mjs",
            f"{page_server}/test/browser/blank.html",
            server.url,
            ADMIN_TOKEN,
            "desk",
            str(recipe),
        ],
        cwd=JS_DIR,
        env={**os.environ, "CHROMIUM": str(CHROMIUM), "HOME": str(tmp_path)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert driver.stdout is not None and driver.stdin is not None
        before = json.loads(driver.stdout.readline())
        assert before == {"recipe": [first], "naive": [first]}, before
        server.restart()
        with server.client() as client:
            second = client.put("/v1/collections/desk/docs/b", json={"n": 2}).json()["rev"]
        driver.stdin.write("restarted\n")
        driver.stdin.close()
        after = json.loads(driver.stdout.readline())
        # The recipe: every change once, in order, across the restart.
        assert after["recipe"] == [first, second], after
        # EventSource's own reconnect repeated the spent ticket: refused, closed (2) for good.
        assert after["naive"] == [first] and after["naiveState"] == 2, after
        assert driver.wait(timeout=30) == 0, driver.stderr.read() if driver.stderr else ""
    finally:
        if driver.poll() is None:
            driver.kill()
        server.stop()
