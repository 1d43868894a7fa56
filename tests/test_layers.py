"""The layers of app/ are machine-checked: `make lint` runs import-linter with the contracts
in pyproject.toml, and an upward import (the store reaching into the API) breaks it, as
does the store core importing a backend."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=tree,
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def copy_of_app(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    shutil.copytree(ROOT / "app", tree / "app", ignore=shutil.ignore_patterns("static"))
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    return tree


def test_the_tree_keeps_its_layers(tmp_path: Path) -> None:
    result = lint_imports(copy_of_app(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout


def test_an_upward_import_breaks_the_layers(tmp_path: Path) -> None:
    tree = copy_of_app(tmp_path)
    keys = tree / "app" / "store" / "keys.py"
    keys.write_text(keys.read_text() + "\nfrom app.api import ws  # noqa: E402,F401\n")
    result = lint_imports(tree)
    assert result.returncode != 0
    assert "app.store is not allowed to import app.api" in result.stdout, result.stdout


def test_the_store_core_may_not_know_a_backend(tmp_path: Path) -> None:
    tree = copy_of_app(tmp_path)
    txn = tree / "app" / "store" / "core" / "txn.py"
    txn.write_text(txn.read_text() + "\nfrom app.store.leveldb import layout  # noqa: E402,F401\n")
    result = lint_imports(tree)
    assert result.returncode != 0
    assert "the store core knows no backend BROKEN" in result.stdout, result.stdout
