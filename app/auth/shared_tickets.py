"""Stream tickets shared by every node (cluster mode): single use across the cluster.

A ticket is kept in Redis under the digest of its value, with the principal
it carries and a Redis expiry; redeeming is one `GETDEL`, atomic, so a ticket
works once whichever node sees it first and is refused on every other. One
round trip each (redis.asyncio, bounded by the node's service timeout), once
per stream connection; a Redis that fails or does not answer is an outage
(503 `unavailable`), not a refused ticket.
"""

from __future__ import annotations

import asyncio
import ipaddress
import secrets
import time
from typing import Any

import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from app.auth.principal import Principal
from app.auth.tickets import TICKET_PREFIX, TicketBook, _digest
from app.errors import Unavailable


def principal_json(principal: Principal) -> bytes:
    return orjson.dumps(
        {
            "id": principal.id,
            "kind": principal.kind,
            "permissions": sorted(principal.permissions),
            "collections": list(principal.collections),
            "channels": list(principal.channels),
            "key_id": principal.key_id,
            "allowed_origins": list(principal.allowed_origins),
            "allowed_ips": [str(n) for n in principal.allowed_ips],
            "rate_limit_per_s": principal.rate_limit_per_s,
            "expires_at": principal.expires_at,
            "claims": principal.claims,
        }
    )


def principal_from_json(raw: bytes) -> Principal:
    data: dict[str, Any] = orjson.loads(raw)
    return Principal(
        id=data["id"],
        kind=data["kind"],
        permissions=frozenset(data["permissions"]),
        collections=tuple(data["collections"]),
        channels=tuple(data["channels"]),
        key_id=data["key_id"],
        allowed_origins=tuple(data["allowed_origins"]),
        allowed_ips=tuple(ipaddress.ip_network(n) for n in data["allowed_ips"]),
        rate_limit_per_s=data["rate_limit_per_s"],
        expires_at=data["expires_at"],
        claims=data.get("claims"),
    )


class RedisTicketBook(TicketBook):
    def __init__(self, client: aioredis.Redis, prefix: str, ttl_s: float, timeout_s: float) -> None:
        super().__init__(ttl_s)
        self._redis = client
        self._prefix = f"{prefix}ticket:"
        self._timeout_s = timeout_s  # the whole call, the client's retries included

    async def issue(self, principal: Principal) -> tuple[str, float]:
        ticket = TICKET_PREFIX + secrets.token_urlsafe(32)
        expires = time.time() + self.ttl_s
        try:
            async with asyncio.timeout(self._timeout_s):
                await self._redis.set(
                    self._prefix + _digest(ticket),
                    principal_json(principal),
                    px=max(int(self.ttl_s * 1000), 1),
                )
        except (RedisError, TimeoutError):
            raise Unavailable("tickets cannot be issued right now; try again") from None
        return ticket, expires

    async def redeem(self, ticket: str) -> Principal | None:
        try:
            async with asyncio.timeout(self._timeout_s):
                raw = await self._redis.getdel(self._prefix + _digest(ticket))
        except (RedisError, TimeoutError):
            raise Unavailable("tickets cannot be redeemed right now; try again") from None
        if not isinstance(raw, bytes):
            return None
        return principal_from_json(raw)
