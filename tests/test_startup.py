"""What a start costs: `levelstream serve` imports only what serving needs (W8, cold start).

Cluster mode, JWTs, rate limits and the CLI's other commands load their libraries
when first used; each of these cost tens of milliseconds of every start.
"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.server import ROOT

NOT_AT_START = ("asyncpg", "cryptography", "jose.jwt", "limits", "redis", "rich", "structlog")


def test_serving_does_not_import_what_only_some_requests_need() -> None:
    code = (
        "import json, sys; import app.cli, app.main, app.server.run; "
        "print(json.dumps(sorted(sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    modules = json.loads(done.stdout)
    loaded = [m for m in modules if any(m == n or m.startswith(n + ".") for n in NOT_AT_START)]
    assert loaded == []
