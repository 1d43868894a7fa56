"""The caller of a request, and the checks of what it may do."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Literal

from app.errors import Forbidden

Permission = Literal["read", "write", "delete", "admin"]
PERMISSIONS: tuple[Permission, ...] = ("read", "write", "delete", "admin")


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller: the admin, an API key or a JWT subject.

    `collections` and `channels` are glob patterns (`tickets`, `app1.*`, `*`);
    `admin` implies every permission on everything.
    """

    id: str
    kind: Literal["admin", "key", "jwt"]
    permissions: frozenset[str]
    collections: tuple[str, ...] = ("*",)
    channels: tuple[str, ...] = ("*",)

    @property
    def is_admin(self) -> bool:
        return "admin" in self.permissions

    def may(self, permission: Permission, collection: str | None = None) -> bool:
        if self.is_admin:
            return True
        if permission not in self.permissions:
            return False
        return collection is None or _matches(collection, self.collections)

    def may_channel(self, permission: Permission, channel: str) -> bool:
        if self.is_admin:
            return True
        return permission in self.permissions and _matches(channel, self.channels)

    def require(self, permission: Permission, collection: str | None = None) -> None:
        if not self.may(permission, collection):
            where = f" on collection {collection!r}" if collection else ""
            raise Forbidden(f"this credential lacks the {permission!r} permission{where}")

    def require_channel(self, permission: Permission, channel: str) -> None:
        if not self.may_channel(permission, channel):
            raise Forbidden(f"this credential lacks {permission!r} on channel {channel!r}")

    def read_check(self) -> Callable[[str], bool] | None:
        """None when everything is readable, else a predicate on collection names."""
        if self.is_admin or ("read" in self.permissions and "*" in self.collections):
            return None
        return lambda collection: self.may("read", collection)


def _matches(name: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatchcase(name, pattern) for pattern in patterns)
