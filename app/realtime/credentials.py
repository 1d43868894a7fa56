"""Which open connections hold which credential, for closing them when it lapses.

The sweep in `app/api/sessions.py` runs four times a second. Walking every
connection each time cost O(connections) per tick: about 30 ms of the event
loop per tick at 100,000 idle sockets. This index makes a tick cost
O(API keys in use + credentials that lapsed): connections are grouped by the
API key they came with (`Principal.key_id`, also set for tokens a key
minted), and their expiry times are kept in a heap.

A refreshed token (the WebSocket `auth` op) pushes the connection again with
its new expiry; the old heap entry is stale and skipped when it surfaces, and
the heap is rebuilt from the live entries whenever the stale ones (closed or
refreshed connections) outnumber the open connections, so it stays bounded.
"""

from __future__ import annotations

import heapq
import itertools
from typing import Generic, Protocol, TypeVar

from app.auth.principal import Principal


def key_of(principal: Principal) -> str | None:
    """The API key behind a principal, if any (the admin token has none)."""
    key_id = principal.key_id
    return None if key_id == "admin" else key_id


class HasPrincipal(Protocol):
    principal: Principal


C = TypeVar("C", bound=HasPrincipal)


class CredentialIndex(Generic[C]):
    """Over `open_connections`, the hub's own set (kept by the hub, read here)."""

    def __init__(self, open_connections: set[C]) -> None:
        self._open = open_connections
        self._by_key: dict[str, set[C]] = {}
        # (expires_at, tie-breaker, connection): the earliest expiry on top.
        self._expiries: list[tuple[float, int, C]] = []
        self._order = itertools.count()
        self._stale = 0

    def add(self, connection: C) -> None:
        key_id = key_of(connection.principal)
        if key_id is not None:
            self._by_key.setdefault(key_id, set()).add(connection)
        self._push_expiry(connection)

    def refreshed(self, connection: C) -> None:
        """The connection's principal was replaced by a fresh credential of the same key."""
        if connection in self._open:
            self._forget_expiry(connection)
            self._push_expiry(connection)

    def remove(self, connection: C) -> None:
        """Called once the connection has left the open set."""
        self._forget_expiry(connection)
        key_id = key_of(connection.principal)
        group = self._by_key.get(key_id) if key_id is not None else None
        if key_id is not None and group is not None:
            group.discard(connection)
            if not group:
                del self._by_key[key_id]

    def key_ids(self) -> list[str]:
        return list(self._by_key)

    def of_key(self, key_id: str) -> list[C]:
        return list(self._by_key.get(key_id, ()))

    def lapsed(self, now: float) -> list[C]:
        """Open connections whose current credential expired at or before `now`."""
        expiries, found = self._expiries, []
        while expiries and expiries[0][0] <= now:
            expires_at, _, connection = heapq.heappop(expiries)
            if connection in self._open and connection.principal.expires_at == expires_at:
                found.append(connection)
        return found

    def _forget_expiry(self, connection: C) -> None:
        if connection.principal.expires_at is None:
            return
        self._stale += 1
        if self._stale > len(self._open) + 1024:
            self._expiries = [
                entry
                for entry in self._expiries
                if entry[2] in self._open and entry[2].principal.expires_at == entry[0]
            ]
            heapq.heapify(self._expiries)
            self._stale = 0

    def _push_expiry(self, connection: C) -> None:
        expires_at = connection.principal.expires_at
        if expires_at is not None:
            heapq.heappush(self._expiries, (expires_at, next(self._order), connection))
