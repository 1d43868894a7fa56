"""API keys in cluster mode: the shared store holds them, every node caches them.

A node that creates, changes or revokes a key tells the others at once
(`announce`, a bus event carrying the stored record: the secret's digest,
never the secret), and each node re-reads the whole registry every few
seconds in case an event was lost. The caller wires the events: on a
revocation or change the receiving node also closes that key's sockets.
"""

from __future__ import annotations

from collections.abc import Callable

import orjson

from app.auth.apikeys import RECORD_PREFIX, KeyPatch, KeyRegistry, KeySpec, StoredKey
from app.store.base import Store

# announce(key id, action, record JSON or None); action: created, changed, revoked.
Announce = Callable[[str, str, str | None], None]


class SharedKeyRegistry(KeyRegistry):
    def __init__(self, store: Store, announce: Announce) -> None:
        super().__init__(store)
        self._announce = announce
        # Records applied while a reload reads the store: newer than what it reads.
        self._during_reload: dict[str, str | None] | None = None

    async def create(self, spec: KeySpec) -> tuple[StoredKey, str]:
        key, token = await super().create(spec)
        self._changed(key.id, "created", _record(key))
        return key, token

    async def update(self, key_id: str, patch: KeyPatch) -> StoredKey:
        key = await super().update(key_id, patch)
        self._changed(key.id, "changed", _record(key))
        return key

    async def revoke(self, key_id: str) -> None:
        await super().revoke(key_id)
        self._changed(key_id, "revoked", None)

    def _changed(self, key_id: str, action: str, record: str | None) -> None:
        if self._during_reload is not None:
            self._during_reload[key_id] = record
        self._announce(key_id, action, record)

    def apply(self, key_id: str, record: str | None) -> None:
        """Another node changed a key: take its record (None: revoked)."""
        if self._during_reload is not None:
            self._during_reload[key_id] = record
        if record is None:
            self._keys.pop(key_id, None)
        else:
            key = StoredKey.model_validate_json(record)
            self._keys[key.id] = key

    async def reload(self) -> None:
        """Replace the cache with what the store holds (drops keys revoked elsewhere)."""
        self._during_reload = {}
        try:
            items = await self._store.auth_items(RECORD_PREFIX)
        finally:
            newer, self._during_reload = self._during_reload, None
        fresh: dict[str, StoredKey] = {}
        for _, raw in items:
            key = StoredKey.model_validate_json(raw)
            fresh[key.id] = key
        self._keys = fresh
        for key_id, record in newer.items():
            self.apply(key_id, record)


def _record(key: StoredKey) -> str:
    return orjson.dumps(key.model_dump(mode="json")).decode()
