"""Turns a presented credential into a `Principal`, or refuses it.

Credentials: the bootstrap admin token, API keys (`lsk_...`), JWTs (minted
here or by a trusted issuer) and, on streams only, tickets (`lst_...`).
This is the credential parser only: what else a way in must pass (network
rules, rate limits, connection caps) is applied by `app/auth/gate.py`, the
one admission that calls it.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import replace
from typing import Any

from app.auth.apikeys import KeyRegistry, split_token
from app.auth.jwt_tokens import INTERNAL_CLAIMS, ISSUER, JwtCodec, looks_like_jwt, minting_key
from app.auth.principal import PATTERN_RE, PERMISSIONS, Principal
from app.auth.tickets import TICKET_PREFIX, TicketBook
from app.errors import Unauthorized

ADMIN = Principal(id="admin", kind="admin", permissions=frozenset({"admin"}))


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


class Authenticator:
    def __init__(
        self,
        admin_token: str,
        keys: KeyRegistry,
        jwt_codec: JwtCodec,
        tickets: TicketBook,
    ) -> None:
        # Only a digest of the admin token is kept, and compared in constant time.
        self._admin_digest = _digest(admin_token)
        jwt_codec.bind_admin(admin_token)
        self.keys = keys
        self.jwt = jwt_codec
        self.tickets = tickets

    async def authenticate(self, token: str, *, stream: bool) -> Principal:
        """The principal of `token`; `stream`: SSE or WebSocket, where tickets are accepted.

        Awaits only a ticket's redemption (shared by a cluster's nodes) and, on a
        cluster node, a key it has not heard of yet (`_learn`).
        """
        if hmac.compare_digest(_digest(token), self._admin_digest):
            return ADMIN
        if token.startswith(TICKET_PREFIX):
            if not stream:
                raise Unauthorized("tickets are accepted only as ?ticket= on SSE and WebSocket")
            principal = await self.tickets.redeem(token)
            if principal is None:
                raise Unauthorized("the ticket is unknown, used or expired")
            return self.still_valid(principal)
        if self.keys.recalls:
            await self._learn(token)
        key = self.keys.verify(token)
        if key is not None:
            return key.principal()
        if looks_like_jwt(token):
            return self._from_jwt(self.jwt.decode(token))
        raise Unauthorized("the credential is not valid")

    async def _learn(self, token: str) -> None:
        """Let the registry look up a key it has not heard of.

        A cluster node hears of a key created elsewhere by a bus event that can
        come after the key's first use here; the shared store already holds it.
        """
        parts = split_token(token)
        key_id = parts[0] if parts is not None else None
        if key_id is None and looks_like_jwt(token):
            key_id = minting_key(token)
        if key_id is not None and self.keys.unknown(key_id):
            await self.keys.recall(key_id)

    def _from_jwt(self, claims: dict[str, Any]) -> Principal:
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub:
            raise Unauthorized("the token has no subject")
        permissions = _strings(claims.get("permissions"))
        if not set(permissions) <= set(PERMISSIONS):
            raise Unauthorized("the token names unknown permissions")
        collections = _patterns(claims.get("collections"))
        channels = _patterns(claims.get("channels"))
        base = Principal(
            id=sub,
            kind="jwt",
            permissions=frozenset(permissions),
            collections=collections,
            channels=channels,
            expires_at=float(claims["exp"]),
            # The token's own claims, for rules (`auth.claims`): minted or trusted alike.
            claims={k: v for k, v in claims.items() if k not in INTERNAL_CLAIMS},
        )
        if claims.get("iss") != ISSUER:
            if base.is_admin and not self.jwt.may_grant_admin(str(claims.get("iss"))):
                raise Unauthorized("this token's issuer may not grant the admin permission")
            return base
        # Minted here: bound to the key that asked, which must still be live.
        key_id = claims.get("lsk")
        if key_id == "admin":
            if not self.jwt.minted_by_current_admin(claims):
                raise Unauthorized("the admin token that minted this token has been replaced")
            return replace(base, key_id="admin")
        key = self.keys.active(key_id) if isinstance(key_id, str) else None
        if key is None:
            raise Unauthorized("the key that minted this token was revoked or expired")
        parent = key.principal()
        if not base.within(parent):
            # The key was narrowed (PATCH) after minting: the token's claims still
            # carry the old rights, so it must not be honoured any more.
            raise Unauthorized("the token is wider than its key's current rights; mint a new one")
        return replace(
            base,
            key_id=key.id,
            allowed_origins=parent.allowed_origins,
            allowed_ips=parent.allowed_ips,
            rate_limit_per_s=parent.rate_limit_per_s,
        )

    def still_valid(self, principal: Principal) -> Principal:
        """Re-check a principal whose credential was checked earlier (tickets, open sockets)."""
        if principal.expires_at is not None and principal.expires_at <= time.time():
            raise Unauthorized("the credential has expired")
        if principal.key_id in (None, "admin"):
            return principal
        key = self.keys.active(principal.key_id)
        if key is None:
            raise Unauthorized("the key was revoked or expired")
        # The key may have been changed since: a key's holder gets its rights as they
        # are now, and a token wider than its key now is refused (as in `_from_jwt`).
        if principal.kind == "key":
            return key.principal()
        if not principal.within(key.principal()):
            raise Unauthorized("the token is wider than its key's current rights; mint a new one")
        return principal


def _strings(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Unauthorized("the token's rights are malformed")
    return value


def _patterns(value: Any) -> tuple[str, ...]:
    patterns = _strings(value if value is not None else [])
    if not all(PATTERN_RE.fullmatch(p) for p in patterns):
        raise Unauthorized("the token's scopes are malformed")
    return tuple(patterns)


def token_from_headers(authorization: str | None, api_key: str | None) -> str | None:
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
        return None
    return api_key.strip() if api_key else None
