"""Shared by the SDK tests: finding node, the built JS SDK, and Chromium.

A missing tool skips the test with a message saying how to get it, except in CI
(CI=true), where `make test` installs everything and a missing tool is a failure.
"""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, NoReturn

import pytest

from tests.server import ROOT

JS_DIR = ROOT / "clients" / "js"
JS_DIST = JS_DIR / "dist"
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))


def missing(message: str) -> NoReturn:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message} (CI=true: `make test` should have installed it)")
    pytest.skip(message, allow_module_level=True)


def node() -> str:
    path = shutil.which("node")
    if path is None:
        missing("node is not installed")
    return path


def chromium() -> Path:
    """Debian's chromium, which every browser test drives (`$CHROMIUM` to use another)."""
    if not CHROMIUM.exists():
        missing(f"{CHROMIUM} is missing: `make test` as root installs Debian's chromium")
    return CHROMIUM


def built_js_sdk() -> str:
    """node, after making sure clients/js is installed and its dist/ is current."""
    node_path = node()
    if not (JS_DIR / "node_modules").is_dir():
        missing("clients/js/node_modules is missing: run `make sdk-deps`")
    sources = [*JS_DIR.joinpath("src").rglob("*.ts"), JS_DIR / "tsconfig.json"]
    bundle = JS_DIST / "levelstream.browser.js"
    newest = max(p.stat().st_mtime for p in sources)
    if not bundle.exists() or bundle.stat().st_mtime < newest:
        build = subprocess.run(
            ["npm", "run", "build"], cwd=JS_DIR, capture_output=True, text=True, timeout=300
        )
        assert build.returncode == 0, build.stdout + build.stderr
    return node_path


class LineReader:
    """Lines of a child's stdout, read by a thread, handed out with deadlines."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def next(self, timeout: float) -> str:
        try:
            line = self.lines.get(timeout=max(timeout, 0.01))
        except queue.Empty:
            raise AssertionError(f"no output in {timeout:.0f} s; so far: {self.seen}") from None
        if line is None:
            stderr = self.proc.stderr.read() if self.proc.stderr else ""
            raise AssertionError(f"the script ended: {self.seen}\n{stderr}")
        self.seen.append(line)
        return line


def wait_until(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)
