"""The caller of a request, and the checks of what it may do."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any, Literal

from app.errors import Forbidden

Permission = Literal["read", "write", "delete", "admin"]
PERMISSIONS: tuple[Permission, ...] = ("read", "write", "delete", "admin")
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# A scope pattern: name characters plus the glob wildcards * and ?.
PATTERN_RE = re.compile(r"[A-Za-z0-9_.*?-]{1,64}")


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller: the admin, an API key or a JWT subject.

    `collections` and `channels` are glob patterns (`tickets`, `app1.*`, `*`);
    `admin` implies every permission on everything. `key_id` is the API key
    behind the credential (a JWT carries the key that minted it), so revoking
    a key reaches every token and socket made from it.
    """

    id: str
    kind: Literal["admin", "key", "jwt"]
    permissions: frozenset[str]
    collections: tuple[str, ...] = ("*",)
    channels: tuple[str, ...] = ("*",)
    key_id: str | None = None
    allowed_origins: tuple[str, ...] = ()
    allowed_ips: tuple[Network, ...] = ()
    rate_limit_per_s: int | None = None
    expires_at: float | None = None  # unix seconds
    # A JWT's own claims (`auth.claims` in rules); not part of its identity or rights.
    claims: dict[str, Any] | None = field(default=None, compare=False, hash=False)

    @property
    def is_admin(self) -> bool:
        return "admin" in self.permissions

    @property
    def log_id(self) -> str:
        """What the access log shows: never a secret."""
        return self.id if self.kind != "jwt" else f"jwt:{self.id}"

    def may(self, permission: Permission, collection: str | None = None) -> bool:
        if self.is_admin:
            return True
        if permission not in self.permissions:
            return False
        return collection is None or matches_any(collection, self.collections)

    def may_subscribe(self, collection: str) -> bool:
        """Whether a subscription's `collection` is allowed: a readable name, or `*`
        (all this principal may read, filtered per change) with the read permission."""
        return self.may("read", None if collection == "*" else collection)

    def may_channel(self, permission: Permission, channel: str) -> bool:
        if self.is_admin:
            return True
        return permission in self.permissions and matches_any(channel, self.channels)

    def require(self, permission: Permission, collection: str | None = None) -> None:
        if not self.may(permission, collection):
            where = f" on collection {collection!r}" if collection else ""
            raise Forbidden(f"this credential lacks the {permission!r} permission{where}")

    def require_channel(self, permission: Permission, channel: str) -> None:
        if not self.may_channel(permission, channel):
            raise Forbidden(f"this credential lacks {permission!r} on channel {channel!r}")

    def within(self, parent: Principal) -> bool:
        """Whether every right of this principal is also one of `parent`'s."""
        if parent.is_admin:
            return True
        return (
            self.permissions <= parent.permissions
            and all(pattern_within(p, parent.collections) for p in self.collections)
            and all(pattern_within(p, parent.channels) for p in self.channels)
        )

    def read_check(self) -> Callable[[str], bool] | None:
        """None when everything is readable, else a predicate on collection names."""
        if self.is_admin or ("read" in self.permissions and "*" in self.collections):
            return None
        return lambda collection: self.may("read", collection)


def matches_any(name: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatchcase(name, pattern) for pattern in patterns)


def pattern_within(requested: str, granted: tuple[str, ...]) -> bool:
    """Whether every name `requested` matches is matched by some granted pattern.

    Decided conservatively: a plain name must match a granted pattern; a
    pattern must equal a granted one, or be `prefix*` under a granted
    `shorter-prefix*` (or `*`). Anything else is refused.
    """
    if not any(c in requested for c in "*?["):
        return matches_any(requested, granted)
    if requested in granted or "*" in granted:
        return True
    if requested.endswith("*") and not any(c in requested[:-1] for c in "*?["):
        head = requested[:-1]
        for pattern in granted:
            if (
                pattern.endswith("*")
                and not any(c in pattern[:-1] for c in "*?[")
                and head.startswith(pattern[:-1])
            ):
                return True
    return False
