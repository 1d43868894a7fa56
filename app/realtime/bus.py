"""The channel bus interface: what the API layer needs from channels and presence.

Two implementations: `ChannelBus` (in-process, one node: `app.realtime.channels`)
and `RedisBus` (every node of a cluster: `app.realtime.redis_bus`), which keeps
the in-process fan-out for its own connections and relays across nodes. The
methods are synchronous on purpose: delivery to this node's connections is a
queue append, and cross-node traffic is sent in the background.
"""

from __future__ import annotations

from typing import Any, Protocol

from app.realtime.connection import Connection


class Bus(Protocol):
    def subscribe(self, connection: Connection, sub_id: str, channel: str) -> None:
        """Deliver the channel's messages and presence events to `connection`."""

    def unsubscribe(self, connection: Connection, sub_id: str) -> bool: ...

    def publish(self, channel: str, data: Any, sender: str | None) -> int:
        """Send to every subscriber; returns how many on this node got it."""

    def join(self, connection: Connection, channel: str, state: Any) -> None: ...

    def leave(self, connection: Connection, channel: str) -> bool: ...

    def members(self, channel: str) -> list[dict[str, Any]]:
        """Who is joined, on every node: `client_id`, `state`, `joined_at`."""

    def reauthorize(self, connection: Connection) -> None:
        """The connection's principal changed: end what its new rights do not allow."""

    def disconnect(self, connection: Connection) -> None:
        """A connection ended: drop its subscriptions and presence."""
