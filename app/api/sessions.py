"""Closing open sockets whose credential has lapsed: expired tokens, revoked or expired keys.

Revocation through the API closes sockets at once; this sweep catches the
rest (a token's `exp` passing, a key's `expires_at`, a key revoked offline
or by another path) within a fraction of a second.
"""

from __future__ import annotations

import asyncio
import time

from app.auth.authenticator import Authenticator
from app.realtime.hub import Hub

SWEEP_INTERVAL_S = 0.25


async def close_lapsed_sessions(hub: Hub, authenticator: Authenticator) -> None:
    while True:
        await asyncio.sleep(SWEEP_INTERVAL_S)
        now = time.time()
        for connection in list(hub.connections):
            principal = connection.principal
            # The key first: a key's own expiry (which is also its principal's
            # `expires_at`) is a revocation, 4003; a token's expiry is 4001, so the
            # client knows a fresh token (the `auth` op) can keep the socket.
            if (
                principal.key_id not in (None, "admin")
                and authenticator.keys.active(principal.key_id) is None
            ):
                connection.request_close(4003, "key revoked or expired")
            elif principal.expires_at is not None and principal.expires_at <= now:
                connection.request_close(4001, "credential expired; re-authenticate")
