"""Single-use, short-lived tickets for `?ticket=` on SSE and WebSocket.

They keep long-lived tokens out of URLs (and so out of proxies' logs): a
client asks `POST /v1/auth/ticket` with its real credential and puts the
ticket in the URL instead. Only a digest of each ticket is kept. This book
serves one process; a cluster's is in Redis (`app/auth/shared_tickets.py`),
hence the async API.
"""

from __future__ import annotations

import hashlib
import secrets
import time

from app.auth.principal import Principal

TICKET_PREFIX = "lst_"
TICKET_TTL_S = 30.0
MAX_OUTSTANDING = 100_000


def _digest(ticket: str) -> str:
    return hashlib.sha256(ticket.encode("utf-8", "surrogatepass")).hexdigest()


class TicketBook:
    def __init__(self, ttl_s: float = TICKET_TTL_S) -> None:
        self.ttl_s = ttl_s
        self._tickets: dict[str, tuple[Principal, float]] = {}

    async def issue(self, principal: Principal) -> tuple[str, float]:
        self._expire()
        if len(self._tickets) >= MAX_OUTSTANDING:
            # Bounded: the oldest tickets go first.
            for stale in list(self._tickets)[: MAX_OUTSTANDING // 10]:
                del self._tickets[stale]
        ticket = TICKET_PREFIX + secrets.token_urlsafe(32)
        expires = time.time() + self.ttl_s
        self._tickets[_digest(ticket)] = (principal, expires)
        return ticket, expires

    async def redeem(self, ticket: str) -> Principal | None:
        """The principal a ticket carries; a ticket works once, within its lifetime."""
        entry = self._tickets.pop(_digest(ticket), None)
        if entry is None or entry[1] < time.time():
            return None
        return entry[0]

    def _expire(self) -> None:
        now = time.time()
        for digest in [d for d, (_, exp) in self._tickets.items() if exp < now]:
            del self._tickets[digest]
