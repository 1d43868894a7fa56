"""Closing open sockets whose credential has lapsed: expired tokens, revoked or expired keys.

Revocation through the API closes sockets at once; this sweep catches the
rest (a token's `exp` passing, a key's `expires_at`, a key revoked offline
or by another path) within a fraction of a second. It reads the hub's
`CredentialIndex`, so a tick costs O(keys in use + lapsed credentials).
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
        close_lapsed(hub, authenticator, time.time())


def close_lapsed(hub: Hub, authenticator: Authenticator, now: float) -> None:
    """One sweep: O(API keys in use + credentials that lapsed), not O(connections)."""
    # The key first: a key's own expiry (which is also its principal's
    # `expires_at`) is a revocation, 4003; a token's expiry is 4001, so the
    # client knows a fresh token (the `auth` op) can keep the socket. A
    # connection already asked to close keeps its first code.
    for key_id in hub.credentials.key_ids():
        if authenticator.keys.active(key_id) is None:
            hub.close_key(key_id, 4003, "key revoked or expired")
    for connection in hub.credentials.lapsed(now):
        connection.request_close(4001, "credential expired; re-authenticate")
