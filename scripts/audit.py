"""`make audit`: pip-audit of the installed, pinned environment, with the waivers of
scripts/audit_waivers.toml, that cannot pass without auditing.

- A known vulnerability that no waiver names fails (exit 1).
- An audit that could not run (pip-audit failed, or its vulnerability service answered
  for no dependency, or for only some) fails under CI=true and warns otherwise (exit 0):
  "could not check" must never read as "nothing found".
- A waiver past its `review_by` date, or one whose vulnerability is no longer reported,
  is named (a warning), so that it gets looked at again or removed.

Run with the environment's python: `.venv/bin/python scripts/audit.py`.
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

WAIVERS = Path(__file__).with_name("audit_waivers.toml")


def load_waivers(path: Path = WAIVERS) -> list[dict[str, Any]]:
    waivers: list[dict[str, Any]] = tomllib.loads(path.read_text()).get("waiver", [])
    return waivers


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def not_audited(why: str) -> int:
    if in_ci():
        print(f"audit: FAILED: the audit could not run ({why}); CI=true", file=sys.stderr)
        return 1
    print(
        f"audit: WARNING: NOT AUDITED ({why}); known vulnerabilities were not checked",
        file=sys.stderr,
    )
    return 0


def main() -> int:
    command = [sys.executable, "-m", "pip_audit", "--format", "json", "--progress-spinner", "off"]
    command += ["--skip-editable"]  # the project itself
    # AUDIT_ARGS: more pip-audit options (tests/test_audit.py points it at a closed port).
    command += os.environ.get("AUDIT_ARGS", "").split()
    run = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    try:
        report = json.loads(run.stdout)
    except ValueError:
        last = (run.stderr.strip().splitlines() or ["no output"])[-1][:300]
        return not_audited(f"pip-audit exited {run.returncode}: {last}")
    deps = [d for d in report.get("dependencies", []) if "editable" not in d.get("skip_reason", "")]
    skipped = [d["name"] for d in deps if "skip_reason" in d]
    waivers = load_waivers()
    today = datetime.date.today().isoformat()
    findings, waived = [], set()
    for dep in deps:
        for vuln in dep.get("vulns", []):
            names = {vuln["id"], *vuln.get("aliases", [])}
            match = next(
                (w for w in waivers if w["package"] == dep["name"] and w["id"] in names), None
            )
            if match is None:
                fixes = ", ".join(vuln.get("fix_versions", [])) or "no fix"
                findings.append(f"{dep['name']} {dep['version']}: {vuln['id']} ({fixes})")
            else:
                waived.add(match["id"])
    for waiver in waivers:
        if waiver["review_by"] < today:
            print(f"audit: waiver {waiver['id']} was due for review on {waiver['review_by']}")
        audited = {d["name"] for d in deps if "skip_reason" not in d}
        if waiver["id"] not in waived and waiver["package"] in audited:
            print(f"audit: waiver {waiver['id']} ({waiver['package']}) is no longer needed")
    for finding in findings:
        print(f"audit: VULNERABLE: {finding}", file=sys.stderr)
    if findings:
        return 1
    if skipped:
        sample = ", ".join(skipped[:5]) + (", ..." if len(skipped) > 5 else "")
        return not_audited(
            f"the vulnerability service answered for {len(deps) - len(skipped)} of "
            f"{len(deps)} dependencies; not for {sample}"
        )
    print(f"audit: {len(deps)} dependencies audited, {len(waived)} waived finding(s), none else")
    return 0


if __name__ == "__main__":
    sys.exit(main())
