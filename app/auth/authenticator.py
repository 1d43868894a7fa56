"""Turns a presented token into a `Principal`, or refuses it.

Today the one credential is the bootstrap admin token; API keys and JWTs plug
in here, behind the same `authenticate` call.
"""

from __future__ import annotations

import hashlib
import hmac

from app.auth.principal import Principal
from app.errors import Unauthorized

ADMIN = Principal(id="admin", kind="admin", permissions=frozenset({"admin"}))


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


class Authenticator:
    def __init__(self, admin_token: str) -> None:
        # Only a digest is kept, and compared in constant time.
        self._admin_digest = _digest(admin_token)

    def authenticate(self, token: str | None) -> Principal:
        if not token:
            raise Unauthorized("a credential is required: Authorization: Bearer <token>")
        if hmac.compare_digest(_digest(token), self._admin_digest):
            return ADMIN
        raise Unauthorized("the credential is not valid")


def token_from_headers(authorization: str | None, api_key: str | None) -> str | None:
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
        return None
    return api_key.strip() if api_key else None
