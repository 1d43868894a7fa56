"""Every use of python-jose lives here, so the library could be swapped in one file.

The known traps of python-jose 3.5 are closed explicitly: `decode` always gets
an explicit algorithm list (never derived from the token header), `exp`,
`iss` and `aud` are required and checked, `nbf` is checked when present,
`none` is never accepted, an issuer configured with a public key can never be
verified with an HMAC algorithm (algorithm confusion), and `kid`/`jku`/`x5u`
headers are ignored (no key is ever fetched from a URL a token names).

`jose.jwt` is imported where a token is minted or decoded, not at module load:
it loads `cryptography`, ~30 ms of every server start that no request without
a JWT needs (`jose.exceptions` is light).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from jose.exceptions import JOSEError

from app.auth.secret_files import read_or_create
from app.errors import Unauthorized
from app.settings import ConfigError

ISSUER = "levelstream"
AUDIENCE = "levelstream"
MINT_ALGORITHM = "HS256"
HMAC_ALGORITHMS = frozenset({"HS256", "HS384", "HS512"})
PUBLIC_KEY_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "ES256", "ES384", "ES512"})
# RSASSA-PSS: python-jose (its cryptography backend) has no PSS verifier, so a token
# signed with these could never be verified; refused when the setting is read.
UNVERIFIABLE_ALGORITHMS = frozenset({"PS256", "PS384", "PS512"})
SECRET_FILE = "jwt.secret"
# The claim binding an admin-minted token to the admin credential that minted it.
ADMIN_BINDING_CLAIM = "adm"
# Claims this server sets or reads for itself: a caller's own `claims` may not use them.
RESERVED_CLAIMS = frozenset(
    {"iss", "aud", "sub", "exp", "nbf", "iat", "jti", "lsk", ADMIN_BINDING_CLAIM}
    | {"permissions", "collections", "channels"}
)
# Internal bindings, not shown to rules as `auth.claims`.
INTERNAL_CLAIMS = frozenset({"lsk", ADMIN_BINDING_CLAIM})
_DECODE_OPTIONS = {
    "require_exp": True,
    "require_iss": True,
    "require_aud": True,
    "verify_exp": True,
    "verify_nbf": True,
    "verify_iss": True,
    "verify_aud": True,
    "verify_iat": False,
    "verify_at_hash": False,
    "leeway": 5,
}


@dataclass(frozen=True, slots=True)
class TrustedIssuer:
    iss: str
    aud: str
    algorithms: tuple[str, ...]
    public_key: str
    # Whether this issuer's tokens may carry the `admin` permission (opt-in).
    allow_admin: bool = False


_SETTING = "LEVELSTREAM_JWT_TRUSTED_ISSUERS"


def load_trusted_issuers(config: str | None) -> list[TrustedIssuer]:
    """`LEVELSTREAM_JWT_TRUSTED_ISSUERS`: JSON list of
    {iss, aud, algorithms, public_key_file, allow_admin (optional, default false)}.

    Anything wrong stops the server at start with one line naming the issuer.
    """
    if not config:
        return []
    try:
        entries = orjson.loads(config)
    except orjson.JSONDecodeError:
        raise ConfigError(f"{_SETTING} is not valid JSON") from None
    if not isinstance(entries, list):
        raise ConfigError(f"{_SETTING} must be a JSON list of issuers")
    return [_issuer(entry) for entry in entries]


def _issuer(entry: Any) -> TrustedIssuer:
    fields = {"iss", "aud", "algorithms", "public_key_file"}
    if not isinstance(entry, dict) or not fields <= set(entry):
        raise ConfigError(f"{_SETTING}: each issuer needs {', '.join(sorted(fields))}")
    iss, aud, algorithms = entry["iss"], entry["aud"], entry["algorithms"]
    allow_admin = entry.get("allow_admin", False)
    if not isinstance(iss, str) or not isinstance(aud, str) or not isinstance(allow_admin, bool):
        raise ConfigError(f"{_SETTING}: iss and aud must be strings, allow_admin true or false")
    if iss == ISSUER:
        raise ConfigError(f"{_SETTING}: issuer name {ISSUER!r} is reserved for this server")
    if not isinstance(algorithms, list) or not algorithms:
        raise ConfigError(f"{_SETTING}: issuer {iss!r} needs a list of algorithms")
    unverifiable = sorted(set(algorithms) & UNVERIFIABLE_ALGORITHMS)
    if unverifiable:
        raise ConfigError(
            f"{_SETTING}: issuer {iss!r}: {', '.join(unverifiable)} cannot be verified "
            "here (python-jose has no RSASSA-PSS); use RS256/384/512 or ES256/384/512"
        )
    if not set(algorithms) <= PUBLIC_KEY_ALGORITHMS:
        raise ConfigError(
            f"{_SETTING}: issuer {iss!r}: algorithms must be public-key ones "
            f"({', '.join(sorted(PUBLIC_KEY_ALGORITHMS))}); HMAC and none are refused"
        )
    try:
        public_key = Path(entry["public_key_file"]).read_text(encoding="ascii")
    except (OSError, TypeError, ValueError):
        raise ConfigError(f"{_SETTING}: issuer {iss!r}: cannot read public_key_file") from None
    return TrustedIssuer(iss, aud, tuple(algorithms), public_key, allow_admin)


def load_secret(configured: str | None, data_dir: Path) -> str:
    """The HS256 key: from settings, else generated once and kept in the data dir (0600)."""
    if configured:
        return configured
    secret, _created = read_or_create(data_dir / SECRET_FILE, lambda: secrets.token_urlsafe(48))
    return secret


class JwtCodec:
    def __init__(self, secret: str, trusted: list[TrustedIssuer]) -> None:
        self._secret = secret
        self._trusted = {issuer.iss: issuer for issuer in trusted}
        self._admin_binding = secrets.token_hex(16)  # matches nothing until `bind_admin`

    def bind_admin(self, admin_token: str) -> None:
        """Tokens the admin mints carry a keyed fingerprint of the admin token (which
        tells nothing about it), so they stop working when the admin token changes."""
        self._admin_binding = hmac.new(
            self._secret.encode(), b"levelstream-admin:" + admin_token.encode(), hashlib.sha256
        ).hexdigest()[:32]

    def minted_by_current_admin(self, claims: dict[str, Any]) -> bool:
        """Whether an admin-minted token (`lsk: admin`) was minted with today's admin token."""
        binding = claims.get(ADMIN_BINDING_CLAIM)
        return isinstance(binding, str) and hmac.compare_digest(binding, self._admin_binding)

    def mint(self, claims: dict[str, Any], ttl_s: int) -> tuple[str, int]:
        from jose import jwt  # first use (see the module docstring)

        now = int(time.time())
        expires = now + ttl_s
        body = {**claims, "iss": ISSUER, "aud": AUDIENCE, "iat": now, "nbf": now, "exp": expires}
        if claims.get("lsk") == "admin":
            body[ADMIN_BINDING_CLAIM] = self._admin_binding
        token: str = jwt.encode(body, self._secret, algorithm=MINT_ALGORITHM)
        return token, expires

    def may_grant_admin(self, issuer: str) -> bool:
        """Whether tokens of this trusted issuer may carry `admin` (`allow_admin`)."""
        trusted = self._trusted.get(issuer)
        return trusted is not None and trusted.allow_admin

    def decode(self, token: str) -> dict[str, Any]:
        """Verified claims, or `Unauthorized` (with no detail that helps an attacker)."""
        from jose import jwt  # first use (see the module docstring)

        try:
            issuer = jwt.get_unverified_claims(token).get("iss")
            if issuer == ISSUER:
                claims: dict[str, Any] = jwt.decode(
                    token,
                    self._secret,
                    algorithms=[MINT_ALGORITHM],
                    audience=AUDIENCE,
                    issuer=ISSUER,
                    options=_DECODE_OPTIONS,
                )
                return claims
            trusted = self._trusted.get(issuer) if isinstance(issuer, str) else None
            if trusted is None:
                raise Unauthorized("the token's issuer is not trusted")
            claims = jwt.decode(
                token,
                trusted.public_key,
                algorithms=list(trusted.algorithms),
                audience=trusted.aud,
                issuer=trusted.iss,
                options=_DECODE_OPTIONS,
            )
            return claims
        except (JOSEError, ValueError, TypeError, AttributeError):
            raise Unauthorized("the token is not valid") from None


def minting_key(token: str) -> str | None:
    """The `lsk` claim of a token this server minted, unverified (only to find the key)."""
    from jose import jwt  # first use (see the module docstring)

    try:
        claims = jwt.get_unverified_claims(token)
    except (JOSEError, ValueError, TypeError, AttributeError):
        return None
    key_id = claims.get("lsk") if claims.get("iss") == ISSUER else None
    return key_id if isinstance(key_id, str) else None


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2
