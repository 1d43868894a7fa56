"""schemathesis against a live server, with an admin and with a read-only credential:
no 5xx, and every response (status, content type, headers, body) as documented in the
OpenAPI document the server serves. Bounded: a fixed seed, 10 fuzzed examples per
operation plus schemathesis' examples and coverage phases (about a thousand requests
per credential, seconds each run). /v1/stream is left out: a valid request never ends.

schemathesis runs from .venv-tools (`make tools`), so the app's venv keeps its pins."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sdk_support import missing
from tests.server import ADMIN_TOKEN, ROOT, ServerProcess

ST = ROOT / ".venv-tools" / "bin" / "st"
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    ]
)


@pytest.fixture
def fuzz_server(tmp_path: Path) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path / "data").start()
    yield server
    server.stop()


def run_schemathesis(server: ServerProcess, token: str, workdir: Path) -> None:
    command = [
        str(ST),
        "run",
        f"{server.url}/openapi.json",
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        CHECKS,
        "--max-examples",
        "10",
        "--phases",
        "examples,coverage,fuzzing",
        "--exclude-path",
        "/v1/stream",
        "--seed",
        "1",
        "--workers",
        "1",
        "--request-timeout",
        "10",
        "--max-failures",
        "20",
    ]
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SCHEMATHESIS_HOOKS": "tests.schemathesis_hooks",
        "NO_COLOR": "1",
    }
    result = subprocess.run(
        command, cwd=workdir, env=env, capture_output=True, text=True, timeout=150
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert " passed" in output, output[-2000:]


def test_schemathesis_admin_and_read_only(fuzz_server: ServerProcess, tmp_path: Path) -> None:
    if not ST.exists():
        missing("schemathesis is not installed in .venv-tools: run `make tools`")
    with fuzz_server.client() as client:
        created = client.post(
            "/v1/keys", json={"name": "read-only", "permissions": ["read"]}
        ).json()
    # Run in tmp_path: schemathesis keeps a cache directory where it runs.
    run_schemathesis(fuzz_server, created["token"], tmp_path)
    run_schemathesis(fuzz_server, ADMIN_TOKEN, tmp_path)
