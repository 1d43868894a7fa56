"""API keys in cluster mode: the shared store holds them, every node caches them.

A node that creates, changes or revokes a key tells the others at once
(`announce`, a bus event carrying the stored record: the secret's digest,
never the secret), and each node re-reads the whole registry every few
seconds in case an event was lost. The caller wires the events: on a
revocation or change the receiving node also closes that key's sockets.

The announcement can arrive after the key's first use on another node (a
client creates a key on node A and uses it on node B at once), so a node that
meets a key id it does not know reads that one record from the store before
refusing it (`recall`). A miss is remembered for `MISS_TTL_S` only, so a
flood of made-up ids costs one store read per id and second, and a real key
is never refused for longer than that.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import orjson

from app.auth.apikeys import RECORD_PREFIX, KeyPatch, KeyRegistry, KeySpec, StoredKey
from app.store.base import Store

log = logging.getLogger("levelstream.keys")

# announce(key id, action, record JSON or None); action: created, changed, revoked.
Announce = Callable[[str, str, str | None], None]
MISS_TTL_S = 1.0
MAX_MISSES = 10_000


class SharedKeyRegistry(KeyRegistry):
    recalls = True

    def __init__(self, store: Store, announce: Announce) -> None:
        super().__init__(store)
        self._announce = announce
        # Records applied while a reload reads the store: newer than what it reads.
        self._during_reload: dict[str, str | None] | None = None
        # key id -> monotonic time until which "not in the store" is believed.
        self._misses: dict[str, float] = {}
        # Revoked ids (never reused): a store read that raced a revocation must not
        # bring the key back.
        self._revoked: set[str] = set()

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
        self._revoked.add(key_id)
        self._changed(key_id, "revoked", None)

    async def recall(self, key_id: str) -> None:
        if not self.unknown(key_id) or key_id in self._revoked:
            return
        now = time.monotonic()
        if self._misses.get(key_id, 0.0) > now:
            return
        try:
            items = await self._store.auth_items(RECORD_PREFIX + key_id)
        except Exception:  # the store is unreachable: the key stays unknown, and refused
            log.warning("looking up an unknown API key in the store failed", exc_info=True)
            return
        # Ids have a fixed length, so the prefix finds this id's record or none.
        record = next((raw for name, raw in items if name == RECORD_PREFIX + key_id), None)
        if record is not None:
            self._misses.pop(key_id, None)
            # An announcement may have come in meanwhile: it is newer than this read.
            if self.unknown(key_id) and key_id not in self._revoked:
                self.apply(key_id, record.decode())
            return
        if len(self._misses) >= MAX_MISSES:
            self._misses = {k: t for k, t in self._misses.items() if t > now}
            if len(self._misses) >= MAX_MISSES:
                self._misses.clear()
        self._misses[key_id] = now + MISS_TTL_S

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
            self._revoked.add(key_id)
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
