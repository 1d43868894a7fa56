"""`make audit` (scripts/audit.py) cannot pass without auditing, and its one waiver
(scripts/audit_waivers.toml) stays true."""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
import tomllib

from tests.server import ROOT

AUDIT = ROOT / "scripts" / "audit.py"
WAIVERS = ROOT / "scripts" / "audit_waivers.toml"
# A vulnerability service that cannot answer: a loopback port where nothing listens.
UNREACHABLE = "--vulnerability-service osv --osv-url http://127.0.0.1:9/v1/query --timeout 2"


def audit(ci: bool) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["AUDIT_ARGS"] = UNREACHABLE
    if ci:
        env["CI"] = "true"
    return subprocess.run(
        [sys.executable, str(AUDIT)], env=env, capture_output=True, text=True, timeout=120
    )


def test_an_audit_that_could_not_run_fails_under_ci() -> None:
    result = audit(ci=True)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "the audit could not run" in result.stderr


def test_an_audit_that_could_not_run_warns_outside_ci() -> None:
    result = audit(ci=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "NOT AUDITED" in result.stderr and "no known vulnerabilities" not in result.stdout


def test_every_waiver_is_dated_and_justified() -> None:
    waivers = tomllib.loads(WAIVERS.read_text())["waiver"]
    assert waivers
    today = datetime.date.today()
    for waiver in waivers:
        assert set(waiver) == {"id", "package", "recorded", "review_by", "reason"}, waiver
        recorded = datetime.date.fromisoformat(waiver["recorded"])
        review_by = datetime.date.fromisoformat(waiver["review_by"])
        assert recorded <= today and recorded < review_by, waiver
        assert len(waiver["reason"].split()) >= 30, waiver  # a reason, not a shrug


# Run in a fresh interpreter, as the server runs: decode an ES256 token the way a
# trusted issuer's is decoded, then say which EC backend python-jose used and whether
# ecdsa (CVE-2024-23342, its pure-Python signing) was ever imported.
ES256_PROBE = """
import sys
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jose import jwk, jwt
from jose.backends import ECKey
private = ec.generate_private_key(ec.SECP256R1())
public_pem = private.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
).decode()
private_pem = private.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
).decode()
token = jwt.encode({"sub": "x"}, private_pem, algorithm="ES256")
assert jwt.decode(token, public_pem, algorithms=["ES256"]) == {"sub": "x"}
print(ECKey.__module__, type(jwk.construct(public_pem, "ES256")).__name__, "ecdsa" in sys.modules)
"""


def test_python_jose_verifies_ec_tokens_without_ecdsa() -> None:
    """The waiver of CVE-2024-23342 holds: EC keys go through cryptography, not ecdsa,
    and the tokens Levelstream itself signs are HMAC ones."""
    from app.auth.jwt_tokens import MINT_ALGORITHM

    assert MINT_ALGORITHM.startswith("HS")
    probe = subprocess.run(
        [sys.executable, "-c", ES256_PROBE], capture_output=True, text=True, timeout=60
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.split() == [
        "jose.backends.cryptography_backend",
        "CryptographyECKey",
        "False",
    ]
