"""Rules for the repository's own files: no package-registry host names outside lock
files (installs go through the package managers' own configuration, never a host
written into the project), and no documentation link that leaves the repository."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.server import ROOT

# Written in pieces, so that this file does not name them either.
REGISTRY_HOSTS = [
    "pypi" + ".org",
    "pypi.python" + ".org",
    "files.pythonhosted" + ".org",
    "registry.npmjs" + ".org",
    "registry.yarnpkg" + ".com",
    "deb.debian" + ".org",
    "security.debian" + ".org",
    "ftp.debian" + ".org",
    "archive.ubuntu" + ".com",
    "index.crates" + ".io",
    "static.crates" + ".io",
    "proxy.golang" + ".org",
]
# Lock files record where each package came from; that is their job.
LOCK_FILES = {"package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "poetry.lock", "uv.lock"}
MARKDOWN_LINK = re.compile(r"\]\(([^)\s]+)\)")


def repository_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    files = [ROOT / name for name in listed.split("\0") if name]
    return [path for path in files if path.is_file()]


def test_no_package_registry_host_outside_lock_files() -> None:
    pattern = re.compile("|".join(re.escape(host) for host in REGISTRY_HOSTS), re.IGNORECASE)
    named = []
    for path in repository_files():
        if path.name in LOCK_FILES:
            continue
        text = path.read_bytes().decode("utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            if pattern.search(line):
                named.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:120]}")
    assert not named, "\n".join(named)


def test_readme_links_stay_inside_the_repository() -> None:
    readmes = [p for p in repository_files() if p.name == "README.md"]
    assert ROOT / "README.md" in readmes
    outside = []
    for readme in readmes:
        for target in MARKDOWN_LINK.findall(readme.read_text()):
            if re.match(r"[a-z]+:|#", target):
                continue  # a URL or an anchor
            resolved = (readme.parent / target.split("#")[0]).resolve()
            if not resolved.is_relative_to(ROOT) or not resolved.exists():
                outside.append(f"{readme.relative_to(ROOT)}: {target}")
        for path in re.findall(r"`(\.\./[^`]+)`", readme.read_text()):
            if not (readme.parent / path).resolve().is_relative_to(ROOT):
                outside.append(f"{readme.relative_to(ROOT)}: {path}")
    assert not outside, outside
