"""The Python SDK's local filter evaluator (levelstream_client.cel, app/cel's copy made by
scripts/vendor_cel.py) answers every case of tests/cel_conformance.json as the server does,
and the copy has not drifted from app/cel."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.sdk_support import missing
from tests.server import ROOT

try:
    from levelstream_client.cel import FILTER_VARIABLES, RULE_VARIABLES, compile_expression
    from levelstream_client.exceptions import ValidationFailedError
except ImportError:
    missing("the Python SDK is not installed: run `make sdk-deps`")

CASES: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent / "cel_conformance.json").read_text(encoding="utf-8")
)


@pytest.mark.parametrize(
    "case", CASES, ids=[f"{n}:{case['expr'][:40]}" for n, case in enumerate(CASES)]
)
def test_sdk_conformance_case(case: dict[str, Any]) -> None:
    variables = RULE_VARIABLES if case.get("variables") == "rule" else FILTER_VARIABLES
    if case.get("error") == "compile":
        with pytest.raises(ValidationFailedError) as refused:
            compile_expression(case["expr"], variables)
        assert refused.value.problem["code"] == "validation_failed"
        return
    assert compile_expression(case["expr"], variables).matches(case["vars"]) is case["result"]


def test_a_refusal_names_the_position_like_the_server() -> None:
    with pytest.raises(ValidationFailedError) as refused:
        compile_expression('doc.status == "open" &&')
    assert (refused.value.problem["offset"], refused.value.problem["column"]) == (23, 24)


def test_the_copy_matches_app_cel() -> None:
    check = subprocess.run(
        [sys.executable, "scripts/vendor_cel.py", "check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert check.returncode == 0, check.stdout + check.stderr
