"""Rate limits per API key (and per client address), with the `limits` library.

A JWT minted by a key shares that key's budget, so minting tokens does not
multiply it. The in-memory storage serves one process; the cluster mode
gives `limits` a Redis storage instead (redis.asyncio: a slow or silent
Redis holds only the requests that spend a budget, never the event loop).
Called by the admission gate (`app/auth/gate.py`) only.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable
from typing import TYPE_CHECKING

from app.auth.principal import Principal
from app.errors import RateLimited, Unavailable

if TYPE_CHECKING:
    from limits import RateLimitItem
    from limits.aio.storage import Storage
    from limits.aio.strategies import MovingWindowRateLimiter


def budget_of(principal: Principal) -> str:
    """Whose budget a principal spends (requests and connections): the API key behind
    it, tokens minted by a key included; else the subject itself."""
    return principal.key_id or principal.log_id


class RateLimiter:
    """`check` and `check_address` return the hit to await, or None when no limit
    applies: a request without a limit makes no coroutine at all.

    With a shared `storage` (Redis), each hit waits at most `timeout_s`; a
    storage that fails or does not answer refuses the request as an outage
    (503 `unavailable`) before anything of it is done.
    """

    def __init__(
        self,
        per_ip_per_s: int | None = None,
        storage: Storage | None = None,
        timeout_s: float | None = None,
    ) -> None:
        self._storage = storage
        self._timeout_s = timeout_s
        self._limiter: MovingWindowRateLimiter | None = None
        self._items: dict[int, RateLimitItem] = {}
        self._per_ip = per_ip_per_s

    def _start(self) -> MovingWindowRateLimiter:
        # `limits` is imported at the first request that has a limit, which many
        # deployments never see: the package loads all its async storages too,
        # ~15 ms of every server start.
        from limits.aio.storage import MemoryStorage
        from limits.aio.strategies import MovingWindowRateLimiter

        self._limiter = MovingWindowRateLimiter(self._storage or MemoryStorage())
        return self._limiter

    def _item(self, per_s: int) -> RateLimitItem:
        item = self._items.get(per_s)
        if item is None:
            from limits import RateLimitItemPerSecond

            item = self._items[per_s] = RateLimitItemPerSecond(per_s, 1)
        return item

    async def _hit(self, per_s: int, *identifiers: str) -> None:
        if self._timeout_s is None:
            return await self._spend(per_s, identifiers)
        from limits.errors import StorageError

        try:
            async with asyncio.timeout(self._timeout_s):
                await self._spend(per_s, identifiers)
        except (StorageError, TimeoutError):
            raise Unavailable("rate limits cannot be checked right now; try again") from None

    async def _spend(self, per_s: int, identifiers: tuple[str, ...]) -> None:
        limiter = self._limiter or self._start()
        item = self._item(per_s)
        if not await limiter.hit(item, *identifiers):
            stats = await limiter.get_window_stats(item, *identifiers)
            retry_after = max(1, math.ceil(stats.reset_time - time.time()))
            raise RateLimited(
                f"over the limit of {per_s} requests per second", retry_after=retry_after
            )

    def check(self, principal: Principal) -> Awaitable[None] | None:
        """The hit on the principal's budget, or None: it has no limit."""
        if principal.rate_limit_per_s:
            return self._hit(principal.rate_limit_per_s, "key", budget_of(principal))
        return None

    def check_address(self, client_ip: str | None) -> Awaitable[None] | None:
        """The hit on the address's budget, or None: no per-address limit applies."""
        if self._per_ip and client_ip:
            return self._hit(self._per_ip, "ip", client_ip)
        return None
