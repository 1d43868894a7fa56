"""Values of the real-time client: changes, channel messages, presence, backoff (hand-written)."""

from __future__ import annotations

import asyncio
import base64
import json
import random
from dataclasses import dataclass
from typing import Any, Literal


class ConnectionLostError(ConnectionError):
    """The connection dropped while a request was waiting for its reply (it may have run)."""


class _FellBack(ConnectionLostError):
    """The client switched to Server-Sent Events while an op waited for the WebSocket."""


ChangeKind = Literal["enter", "update", "leave", "delete", "put"]


@dataclass(frozen=True)
class Change:
    """One committed change; `snapshot=True` marks a document of the initial snapshot.

    On a filtered subscription (a `where`, or a read rule) a put carries `match`:
    `"enter"` (the document joins the view) or `"update"` (it was in it already), and
    a document that stops matching arrives as `op == "leave"` with `value` None.
    `kind` names what the change does to the subscriber's view in one word.
    """

    seq: int
    op: Literal["put", "delete", "leave"]
    collection: str
    key: str
    value: Any
    rev: int
    prev_rev: int | None
    ts: str
    reason: str | None = None
    snapshot: bool = False
    match: Literal["enter", "update"] | None = None

    @property
    def kind(self) -> ChangeKind:
        """`enter`, `update`, `leave`, `delete`, or `put` (a put on an unfiltered
        subscription, where nothing says whether the document was seen before)."""
        if self.op == "put":
            return self.match or ("enter" if self.snapshot else "put")
        return self.op

    @property
    def removes(self) -> bool:
        """The document is no longer in the subscriber's view (a delete or a leave)."""
        return self.op != "put"

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Change:
        return cls(
            seq=data["seq"],
            op=data["op"],
            collection=data["collection"],
            key=data["key"],
            value=data.get("value"),
            rev=data["rev"],
            prev_rev=data.get("prev_rev"),
            ts=data["ts"],
            reason=data.get("reason"),
            match=data.get("match"),
        )

    @classmethod
    def from_envelope(cls, envelope: dict[str, Any], seq: int) -> Change:
        return cls(
            seq=seq,
            op="put",
            collection=envelope["collection"],
            key=envelope["key"],
            value=envelope.get("value"),
            rev=envelope["rev"],
            prev_rev=None,
            ts=envelope.get("updated_at", ""),
            snapshot=True,
        )


@dataclass(frozen=True)
class Message:
    """An ephemeral channel message; `sender` is the publisher's client id or credential."""

    channel: str
    data: Any
    sender: str | None


@dataclass(frozen=True)
class PresenceEvent:
    channel: str
    action: Literal["join", "leave"]
    client_id: str
    state: Any


@dataclass(frozen=True)
class Member:
    client_id: str
    state: Any
    joined_at: str


class Backoff:
    """Exponential backoff with full jitter, reset after a good connection."""

    def __init__(self, initial: float, maximum: float) -> None:
        self.initial, self.maximum = initial, maximum
        self.attempt = 0

    def reset(self) -> None:
        self.attempt = 0

    def current(self) -> float:
        """The next delay (and count the attempt)."""
        ceiling = min(self.maximum, self.initial * 2**self.attempt)
        self.attempt = min(self.attempt + 1, 30)
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter

    async def sleep(self) -> None:
        await asyncio.sleep(self.current())


def jwt_expiry(token: str) -> float | None:
    """The `exp` of a JWT (unverified: only to know when to refresh), else None."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, TypeError):
        return None
    exp = payload.get("exp") if isinstance(payload, dict) else None
    return float(exp) if isinstance(exp, int | float) else None
