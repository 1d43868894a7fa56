"""JWT attacks (python-jose traps): alg none, algorithm confusion with the issuer's RSA
public key as an HMAC secret, tampering, expiry, missing or wrong claims, unknown
issuers, foreign keys, key-fetching headers; plus the good paths that must keep working
and revocation of the key that minted a token. Each refusal is a 401 `unauthorized`
that reads nothing and never echoes the token.
"""

from __future__ import annotations

import base64
import importlib.metadata
import json
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from jose import jwt as jose_jwt

from tests.security_helpers import (
    SERVER_ISS,
    TRUSTED_AUD,
    TRUSTED_ISS,
    Ledger,
    SecServer,
    assert_problem,
    b64url,
    hand_signed,
    public_pem,
    rsa_private_pem,
    token_claims,
    uid,
)
from tests.server import ADMIN_TOKEN, ServerProcess


@pytest.fixture(scope="module")
def doc(sec_server: SecServer) -> tuple[str, str, str]:
    """A collection, a key in it, and the marker its value holds."""
    collection, key, marker = uid("jwt"), uid("doc"), uid("marker")
    sec_server.seed(collection, key, {"marker": marker})
    return collection, key, marker


def _refused(sec_server: SecServer, token: str, doc: tuple[str, str, str]) -> None:
    collection, key, marker = doc
    before = sec_server.head_seq()
    client = sec_server.http(token)
    for response in (
        client.get(f"/v1/collections/{collection}/docs/{key}"),
        client.put(f"/v1/collections/{collection}/docs/{key}", json={"owned": True}),
        client.get("/v1/changes", params={"collection": "*", "since": 0}),
        client.post("/v1/auth/ticket"),
    ):
        assert_problem(response, 401, "unauthorized")
        assert marker not in response.text and token not in response.text
        signature = token.split(".")[-1]
        assert len(signature) < 8 or signature not in response.text
    assert sec_server.head_seq() == before
    assert sec_server.http().get(f"/v1/collections/{collection}/docs/{key}").json()["value"] == {
        "marker": marker
    }


def _ok(sec_server: SecServer, token: str, doc: tuple[str, str, str]) -> None:
    collection, key, marker = doc
    response = sec_server.http(token).get(f"/v1/collections/{collection}/docs/{key}")
    assert response.status_code == 200, response.text
    assert response.json()["value"] == {"marker": marker}


def test_python_jose_is_at_least_3_4_0() -> None:
    """3.4.0 fixed CVE-2024-33663 (algorithm confusion) and CVE-2024-33664 (JWE bomb)."""
    version = importlib.metadata.version("python-jose")
    parts = tuple(int(p) for p in version.split(".")[:3] if p.isdigit())
    assert parts >= (3, 4, 0), version


# --- the good paths, so the refusals below mean something -------------------------------------


def test_valid_rs256_token_from_trusted_issuer_works(
    sec_server: SecServer, doc: tuple[str, str, str]
) -> None:
    collection, _key, _marker = doc
    token = sec_server.issuer_token(collections=[collection])
    _ok(sec_server, token, doc)
    # ...with exactly the rights its claims carry.
    client = sec_server.http(token)
    assert_problem(client.put(f"/v1/collections/{collection}/docs/x", json=1), 403, "forbidden")
    assert_problem(client.get(f"/v1/collections/{uid('other')}/docs"), 403, "forbidden")


def test_valid_token_signed_with_the_server_secret_works(
    sec_server: SecServer, doc: tuple[str, str, str]
) -> None:
    _ok(sec_server, sec_server.server_token(), doc)


# --- refused tokens ---------------------------------------------------------------------------


def _none_token(iss: str, aud: str) -> str:
    return hand_signed({"alg": "none", "typ": "JWT"}, token_claims(iss=iss, aud=aud), None)


ATTACKS: dict[str, Any] = {
    "alg_none_server_issuer": lambda s: _none_token(SERVER_ISS, SERVER_ISS),
    "alg_none_trusted_issuer": lambda s: _none_token(TRUSTED_ISS, TRUSTED_AUD),
    "alg_None_capitalised": lambda s: hand_signed(
        {"alg": "None"}, token_claims(iss=TRUSTED_ISS, aud=TRUSTED_AUD), None
    ),
    # CVE-2024-33663 class: HS256 keyed with the issuer's public key PEM.
    "hs256_with_rsa_public_key": lambda s: hand_signed(
        {"alg": "HS256", "typ": "JWT"},
        token_claims(iss=TRUSTED_ISS, aud=TRUSTED_AUD, permissions=["admin"]),
        s.issuer_public_path.read_bytes(),
    ),
    "hs256_with_rsa_public_key_stripped": lambda s: hand_signed(
        {"alg": "HS256", "typ": "JWT"},
        token_claims(iss=TRUSTED_ISS, aud=TRUSTED_AUD),
        s.issuer_public_path.read_bytes().strip(),
    ),
    "expired_trusted": lambda s: s.issuer_token(exp=int(time.time()) - 120),
    "expired_server": lambda s: s.server_token(exp=int(time.time()) - 120),
    "missing_exp_trusted": lambda s: s.issuer_token(exp=None),
    "missing_exp_server": lambda s: s.server_token(exp=None),
    "wrong_aud_trusted": lambda s: s.issuer_token(aud="someone-else"),
    "wrong_aud_server": lambda s: s.server_token(aud="someone-else"),
    "missing_aud": lambda s: s.issuer_token(aud=None),
    "wrong_iss_with_trusted_key": lambda s: s.issuer_token(iss="https://evil.example"),
    "missing_iss": lambda s: s.issuer_token(iss=None),
    "future_nbf_trusted": lambda s: s.issuer_token(nbf=int(time.time()) + 600),
    "future_nbf_server": lambda s: s.server_token(nbf=int(time.time()) + 600),
    "unknown_issuer": lambda s: s.issuer_token(s.foreign_private, iss="https://unknown.example"),
    "foreign_rsa_key": lambda s: s.issuer_token(s.foreign_private),
    "foreign_hmac_secret": lambda s: s.server_token("not-the-server-secret-0123456789"),
    "server_secret_for_trusted_issuer": lambda s: hand_signed(
        {"alg": "HS256"}, token_claims(iss=TRUSTED_ISS, aud=TRUSTED_AUD), s.jwt_secret.encode()
    ),
    "no_sub": lambda s: s.issuer_token(sub=None),
    "unknown_permission": lambda s: s.issuer_token(permissions=["superuser"]),
    "malformed_scope": lambda s: s.issuer_token(collections=["a/../b"]),
    "minted_by_unknown_key": lambda s: s.server_token(lsk="0123456789abcdef"),
    "garbage_three_parts": lambda s: "aaaa.bbbb.cccc",
    "payload_not_object": lambda s: f"{b64url(b'{}')}.{b64url(b'[1]')}.{b64url(b'x')}",
}


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_forged_or_invalid_token_is_refused(
    sec_server: SecServer, doc: tuple[str, str, str], attack: str
) -> None:
    token = ATTACKS[attack](sec_server)
    sec_server.ledger.remember(token)
    _refused(sec_server, token, doc)


def test_tampered_payload_is_refused(sec_server: SecServer, doc: tuple[str, str, str]) -> None:
    collection, _key, _marker = doc
    key = sec_server.key(permissions=["read"], collections=[uid("elsewhere")])
    for token in (sec_server.mint(key.token), sec_server.issuer_token(collections=["nothing"])):
        header, payload, signature = token.split(".")
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        claims.update(permissions=["admin"], collections=["*"], channels=["*"])
        forged = f"{header}.{b64url(json.dumps(claims).encode())}.{signature}"
        sec_server.ledger.remember(forged)
        _refused(sec_server, forged, doc)
        # The untampered token still cannot read the collection: it is out of its scope.
        refused = sec_server.http(token).get(f"/v1/collections/{collection}/docs")
        assert_problem(refused, 403, "forbidden")


def test_key_fetching_headers_are_ignored(sec_server: SecServer, doc: tuple[str, str, str]) -> None:
    """jku/x5u/kid naming a key location must never make the server fetch anything."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        listener.settimeout(0.5)
        where = f"http://127.0.0.1:{listener.getsockname()[1]}/jwks.json"
        claims = token_claims(iss=TRUSTED_ISS, aud=TRUSTED_AUD, permissions=["admin"])
        token = jose_jwt.encode(
            claims,
            sec_server.foreign_private.decode(),
            "RS256",
            headers={"jku": where, "x5u": where, "kid": "../../../../etc/passwd"},
        )
        sec_server.ledger.remember(token)
        _refused(sec_server, token, doc)
        with pytest.raises(TimeoutError):
            listener.accept()  # nobody came


def test_minted_token_stops_working_once_the_key_is_revoked(
    sec_server: SecServer, doc: tuple[str, str, str]
) -> None:
    collection, _key, _marker = doc
    key = sec_server.key(permissions=["read"], collections=[collection])
    jwt = sec_server.mint(key.token, ttl_s=3600)
    _ok(sec_server, jwt, doc)
    assert sec_server.http().delete(f"/v1/keys/{key.id}").status_code == 204
    _refused(sec_server, jwt, doc)
    _refused(sec_server, key.token, doc)


def test_admin_minted_token_has_the_rights_it_asked_for(
    sec_server: SecServer, doc: tuple[str, str, str]
) -> None:
    collection, _key, _marker = doc
    jwt = sec_server.mint(
        sec_server.http().headers["authorization"].split()[1],
        permissions=["read"],
        collections=[collection],
    )
    _ok(sec_server, jwt, doc)
    assert_problem(
        sec_server.http(jwt).put(f"/v1/collections/{collection}/docs/x", json=1), 403, "forbidden"
    )
    assert_problem(sec_server.http(jwt).get("/v1/keys"), 403, "forbidden")


def test_admin_minted_token_dies_with_the_admin_token(tmp_path: Path, sec_ledger: Ledger) -> None:
    """A JWT minted with the bootstrap admin token is bound to it: after a restart with a
    new `LEVELSTREAM_ADMIN_TOKEN` it is refused (401), while one minted with the new token
    works, and a restart with the same admin token keeps it working."""
    server = SecServer.start(tmp_path / "rotate", sec_ledger)
    new_admin = "lsa_rotated_admin_token_" + uid("x")
    sec_ledger.remember(new_admin)
    try:
        old = _mint_as_admin(server, ADMIN_TOKEN)
        spec = {"name": uid("k"), "permissions": ["read"]}
        assert server.http(old).post("/v1/keys", json=spec).status_code == 201
        server.stop()
        server.proc.start()  # the same admin token: the token still works
        assert server.http(old).post("/v1/keys", json=spec).status_code == 201
        server.stop()
        server.proc.env["LEVELSTREAM_ADMIN_TOKEN"] = new_admin
        server.proc.start()
        assert_problem(server.http(old).post("/v1/keys", json=spec), 401, "unauthorized")
        assert_problem(server.http(old).get("/v1/collections"), 401, "unauthorized")
        fresh = _mint_as_admin(server, new_admin)
        assert server.http(fresh).post("/v1/keys", json=spec).status_code == 201
    finally:
        server.stop()


def _mint_as_admin(server: SecServer, admin: str) -> str:
    response = server.http(admin).post("/v1/auth/token", json={"sub": "ops"})
    assert response.status_code == 200, response.text
    token: str = response.json()["token"]
    server.ledger.remember(token)
    return token


@pytest.mark.parametrize("algorithm", ["PS256", "PS384", "PS512"])
def test_an_issuer_with_pss_algorithms_stops_the_server_at_start(
    tmp_path: Path, sec_ledger: Ledger, algorithm: str
) -> None:
    """python-jose cannot verify RSASSA-PSS: such an issuer would refuse every token."""
    public = tmp_path / "issuer.pub.pem"
    public.write_bytes(public_pem(rsa_private_pem()))
    issuers = [
        {"iss": "https://pss.example", "aud": "a", "algorithms": ["RS256", algorithm]}
        | {"public_key_file": str(public)}
    ]
    proc = ServerProcess(tmp_path / "data", LEVELSTREAM_JWT_TRUSTED_ISSUERS=json.dumps(issuers))
    sec_ledger.watch(proc)
    with pytest.raises(RuntimeError, match="exited with 2"):
        proc.start(timeout=30)
    log = proc.log_tail()
    assert f"{algorithm} cannot be verified" in log and "LEVELSTREAM_JWT_TRUSTED_ISSUERS" in log
    assert "Traceback" not in log
    proc.proc = None


def test_a_trusted_issuer_grants_admin_only_when_allowed(
    tmp_path: Path, sec_server: SecServer, sec_ledger: Ledger
) -> None:
    # The session server's issuer has no allow_admin: its admin tokens are refused.
    admin_claims = {"permissions": ["admin"], "collections": ["*"]}
    token = sec_server.issuer_token(**admin_claims)
    assert_problem(sec_server.http(token).get("/v1/keys"), 401, "unauthorized")
    assert_problem(sec_server.http(token).get("/v1/collections"), 401, "unauthorized")
    # Opted in: the same kind of token is an admin.
    private = rsa_private_pem()
    public = tmp_path / "admin-issuer.pub.pem"
    public.write_bytes(public_pem(private))
    issuers = [
        {"iss": TRUSTED_ISS, "aud": TRUSTED_AUD, "algorithms": ["RS256"]}
        | {"public_key_file": str(public), "allow_admin": True}
    ]
    server = SecServer.start(
        tmp_path / "opted", sec_ledger, LEVELSTREAM_JWT_TRUSTED_ISSUERS=json.dumps(issuers)
    )
    try:
        allowed = server.issuer_token(private, **admin_claims)
        assert server.http(allowed).get("/v1/keys").status_code == 200
    finally:
        server.stop()
