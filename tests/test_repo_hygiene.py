"""Rules for the repository's own files: no package-registry host names outside lock
files (installs go through the package managers' own configuration, never a host
written into the project), and no documentation link that leaves the repository."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

from tests.server import ROOT

LOOPBACK = {"localhost", "127.0.0.1", "::1"}


def registry_hosts() -> set[str]:
    """The hosts this machine's package tools install from, as the tools report them
    (so that this file names none): pip's default index and file host plus any
    configured index URL, npm's registry, and apt's enabled sources."""
    hosts: set[str] = set()
    from pip._internal.models.index import PyPI  # pip's own record of its default index

    hosts |= {PyPI.netloc, PyPI.file_storage_domain}
    urls: list[str] = []
    pip_config = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True
    )
    urls += re.findall(r"index-url='([^']*)'", pip_config.stdout)
    npm = shutil.which("npm")
    if npm is not None:
        registry = subprocess.run(
            [npm, "config", "get", "registry"], capture_output=True, text=True
        )
        urls.append(registry.stdout.strip())
    apt = Path("/etc/apt")
    for source in [apt / "sources.list", *apt.glob("sources.list.d/*.list")]:
        if source.is_file():
            urls += re.findall(r"^deb(?:-src)?\s+(?:\[[^]]*\]\s+)?(\S+)", source.read_text(), re.M)
    for source in apt.glob("sources.list.d/*.sources"):
        urls += re.findall(r"^URIs:\s*(.+)$", source.read_text(), re.M)
    for field in urls:
        for url in field.split():
            host = urlsplit(url).hostname
            if host and host not in LOOPBACK:
                hosts.add(host)
    return hosts


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
    hosts = registry_hosts()
    assert hosts, "no package tool reported where it installs from"
    pattern = re.compile("|".join(re.escape(host) for host in sorted(hosts)), re.IGNORECASE)
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
