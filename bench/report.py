"""Reports: markdown tables, number formatting, and the files in bench/results/."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(slots=True)
class Report:
    """What a suite hands back: markdown for people, data for machines."""

    suite: str
    markdown: str
    data: dict[str, Any] = field(default_factory=dict)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], align: str = "") -> str:
    """A markdown table; `align` holds one of l/r per column (default: first l, rest r)."""
    align = align or "l" + "r" * (len(headers) - 1)
    rule = ["---:" if a == "r" else ":---" for a in align]
    lines = [headers, rule, *rows]
    return "\n".join("| " + " | ".join(line) + " |" for line in lines)


def rate(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:,.1f}"


def ratio(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}x" if value < 10 else f"{value:.1f}x"


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def commit() -> str:
    """The checkout measured: HEAD's short hash, and whether app/ differs from it."""
    here = Path(__file__).resolve().parent
    head = subprocess.run(
        ["git", "-C", str(here), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "-C", str(here), "status", "--porcelain", "../app"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return (head or "unknown") + (" (+ uncommitted changes in app/)" if dirty else "")


def _git(*args: str) -> str:
    here = Path(__file__).resolve().parent
    done = subprocess.run(["git", "-C", str(here), *args], capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else ""


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _command_version(*cmd: str) -> str | None:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def versions() -> dict[str, str | None]:
    """What the figures depend on besides the code: every runtime of every target."""
    from importlib.metadata import PackageNotFoundError, version

    from bench.peers import pocketbase

    def pkg(name: str) -> str | None:
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    return {
        "python": sys.version.split()[0],
        "uvicorn": pkg("uvicorn"),
        "websockets": pkg("websockets"),
        "node": _command_version("node", "--version"),
        "pocketbase": pocketbase.version(),
        "kernel": platform.release(),
        "cpu_model": _cpu_model(),
    }


def provenance() -> dict[str, Any]:
    """The code measured: HEAD's full hash and whether the checkout differed from it
    (anything but the results being written)."""
    changed = [
        line
        for line in _git("status", "--porcelain", "--untracked-files=no").splitlines()
        if "bench/results/" not in line
    ]
    return {"commit_sha": _git("rev-parse", "HEAD") or None, "dirty": bool(changed)}


def measured_code(machine: dict[str, Any]) -> str:
    """A results file's code and software, as recorded: `commit <sha> (clean); python
    3.x, ...` (older files: what they recorded)."""
    commit = machine.get("commit_sha") or machine.get("commit") or "(not recorded)"
    dirty = machine.get("dirty")
    state = "" if dirty is None else (" (uncommitted changes)" if dirty else " (clean)")
    versions = machine.get("versions") or {}
    shown = ", ".join(f"{k} {v}" for k, v in versions.items() if v) or "no versions recorded"
    return f"commit {commit}{state}; {shown}"


def machine() -> dict[str, Any]:
    from app.store.leveldb_driver import plyvel

    return {
        "commit": commit(),
        **provenance(),
        "versions": versions(),
        "cpus": os.cpu_count(),
        "affinity": sorted(os.sched_getaffinity(0)),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "plyvel": plyvel.__version__,
        "leveldb": plyvel.__leveldb_version__,
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def write(report: Report, results_dir: Path) -> tuple[Path, Path]:
    """Write `<suite>.md` and `<suite>.json` (each via a temporary file, then renamed)."""
    results_dir.mkdir(parents=True, exist_ok=True)
    md = results_dir / f"{report.suite}.md"
    js = results_dir / f"{report.suite}.json"
    for path, text in (
        (md, report.markdown + "\n"),
        (js, json.dumps(report.data, indent=2) + "\n"),
    ):
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(text)
        tmp.replace(path)
    return md, js
