"""Rate limits per API key (and per client address), with the `limits` library.

A JWT minted by a key shares that key's budget, so minting tokens does not
multiply it. The in-memory storage serves one process; the cluster mode
gives `limits` a Redis storage instead. Called by the admission gate
(`app/auth/gate.py`) only.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

from app.auth.principal import Principal
from app.errors import RateLimited

if TYPE_CHECKING:
    from limits import RateLimitItem
    from limits.storage import Storage
    from limits.strategies import MovingWindowRateLimiter


def budget_of(principal: Principal) -> str:
    """Whose budget a principal spends (requests and connections): the API key behind
    it, tokens minted by a key included; else the subject itself."""
    return principal.key_id or principal.log_id


class RateLimiter:
    def __init__(self, per_ip_per_s: int | None = None, storage: Storage | None = None) -> None:
        self._storage = storage
        self._limiter: MovingWindowRateLimiter | None = None
        self._items: dict[int, RateLimitItem] = {}
        self._per_ip = per_ip_per_s

    def _start(self) -> MovingWindowRateLimiter:
        # `limits` is imported at the first request that has a limit, which many
        # deployments never see: the package loads all its async storages too,
        # ~15 ms of every server start.
        from limits.storage import MemoryStorage
        from limits.strategies import MovingWindowRateLimiter

        self._limiter = MovingWindowRateLimiter(self._storage or MemoryStorage())
        return self._limiter

    def _item(self, per_s: int) -> RateLimitItem:
        item = self._items.get(per_s)
        if item is None:
            from limits import RateLimitItemPerSecond

            item = self._items[per_s] = RateLimitItemPerSecond(per_s, 1)
        return item

    def _hit(self, per_s: int, *identifiers: str) -> None:
        limiter = self._limiter or self._start()
        item = self._item(per_s)
        if not limiter.hit(item, *identifiers):
            reset_at = limiter.get_window_stats(item, *identifiers).reset_time
            retry_after = max(1, math.ceil(reset_at - time.time()))
            raise RateLimited(
                f"over the limit of {per_s} requests per second", retry_after=retry_after
            )

    def check(self, principal: Principal) -> None:
        if principal.rate_limit_per_s:
            self._hit(principal.rate_limit_per_s, "key", budget_of(principal))

    def check_address(self, client_ip: str | None) -> None:
        if self._per_ip and client_ip:
            self._hit(self._per_ip, "ip", client_ip)
