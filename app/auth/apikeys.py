"""API keys: records kept in the store (secret as a SHA-256 digest only), cached in memory.

A token is `lsk_<id>_<secret>`: the id finds the record without a scan, the
secret (32 random bytes) is compared by digest in constant time. Secrets are
high-entropy, so a fast hash is enough (no password-stretching needed).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import secrets
import time
from datetime import UTC, datetime
from typing import Annotated

import orjson
from pydantic import BaseModel, Field, field_validator

from app.auth.principal import PATTERN_RE, Permission, Principal
from app.errors import NotFound, ValidationFailed
from app.store.base import Store
from app.store.records import Timestamp

TOKEN_PREFIX = "lsk_"
_ID_LEN = 16
_ID_RE = re.compile(r"[0-9a-f]{16}")  # what `create` makes: token_hex(_ID_LEN // 2)
_ORIGIN_RE = re.compile(r"https?://[A-Za-z0-9.-]+(:\d{1,5})?")
RECORD_PREFIX = "key:"

Pattern = Annotated[str, Field(pattern=PATTERN_RE.pattern, examples=["tickets", "app1.*"])]


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


class KeySpec(BaseModel):
    """What a key may do; the body of `POST /v1/keys`."""

    name: str = Field(min_length=1, max_length=200)
    permissions: list[Permission] = Field(min_length=1)
    collections: list[Pattern] = Field(default_factory=lambda: ["*"], max_length=100)
    channels: list[Pattern] = Field(default_factory=lambda: ["*"], max_length=100)
    allowed_origins: list[str] = Field(default_factory=list, max_length=100)
    allowed_ips: list[str] = Field(default_factory=list, max_length=100)
    expires_at: Timestamp | None = None
    rate_limit_per_s: int | None = Field(default=None, ge=1, le=1_000_000)

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, origins: list[str]) -> list[str]:
        # Messages never repeat the input: a misplaced token must not come back in
        # an error body (or any log that records one).
        for index, origin in enumerate(origins):
            if not _ORIGIN_RE.fullmatch(origin):
                raise ValueError(f"entry {index} is not an origin like https://app.example.com")
        return [o.lower() for o in origins]

    @field_validator("allowed_ips")
    @classmethod
    def _ips(cls, cidrs: list[str]) -> list[str]:
        networks = []
        for index, cidr in enumerate(cidrs):
            try:
                networks.append(str(ipaddress.ip_network(cidr, strict=False)))
            except ValueError:
                raise ValueError(f"entry {index} is not a CIDR like 203.0.113.0/24") from None
        return networks

    @field_validator("expires_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("expires_at needs a time zone (e.g. 2027-01-01T00:00:00Z)")
        return value


class KeyPatch(BaseModel):
    """`PATCH /v1/keys/{id}`: the members to change."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    permissions: list[Permission] | None = Field(default=None, min_length=1)
    collections: list[Pattern] | None = None
    channels: list[Pattern] | None = None
    allowed_origins: list[str] | None = None
    allowed_ips: list[str] | None = None
    expires_at: datetime | None = None
    rate_limit_per_s: int | None = Field(default=None, ge=1, le=1_000_000)


class ApiKey(KeySpec):
    """A key as listed: everything but the secret."""

    id: str
    created_at: Timestamp


class StoredKey(ApiKey):
    secret_sha256: str

    def public(self) -> ApiKey:
        return ApiKey.model_validate(self.model_dump(exclude={"secret_sha256"}))

    def expired(self, now: float | None = None) -> bool:
        return self.expires_at is not None and self.expires_at.timestamp() <= (now or time.time())

    def principal(self) -> Principal:
        return Principal(
            id=self.id,
            kind="key",
            permissions=frozenset(self.permissions),
            collections=tuple(self.collections),
            channels=tuple(self.channels),
            key_id=self.id,
            allowed_origins=tuple(self.allowed_origins),
            allowed_ips=tuple(ipaddress.ip_network(c) for c in self.allowed_ips),
            rate_limit_per_s=self.rate_limit_per_s,
            expires_at=self.expires_at.timestamp() if self.expires_at else None,
        )


def split_token(token: str) -> tuple[str, str] | None:
    if not token.startswith(TOKEN_PREFIX):
        return None
    rest = token[len(TOKEN_PREFIX) :]
    key_id, sep, secret = rest[:_ID_LEN], rest[_ID_LEN : _ID_LEN + 1], rest[_ID_LEN + 1 :]
    if sep != "_" or not secret:
        return None
    return key_id, secret


class KeyRegistry:
    """All keys, in memory for per-request lookups, written through to the store."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._keys: dict[str, StoredKey] = {}

    async def load(self) -> None:
        for _, raw in await self._store.auth_items(RECORD_PREFIX):
            key = StoredKey.model_validate_json(raw)
            self._keys[key.id] = key

    async def _save(self, key: StoredKey) -> None:
        await self._store.auth_put(
            RECORD_PREFIX + key.id, orjson.dumps(key.model_dump(mode="json"))
        )
        self._keys[key.id] = key

    async def create(self, spec: KeySpec) -> tuple[StoredKey, str]:
        key_id = secrets.token_hex(_ID_LEN // 2)
        secret = secrets.token_urlsafe(32)
        key = StoredKey(
            **spec.model_dump(),
            id=key_id,
            created_at=datetime.now(UTC),
            secret_sha256=digest(secret),
        )
        await self._save(key)
        return key, f"{TOKEN_PREFIX}{key_id}_{secret}"

    def get(self, key_id: str) -> StoredKey:
        key = self._keys.get(key_id)
        if key is None:
            raise NotFound(f"no API key {key_id!r}")
        return key

    def all(self) -> list[StoredKey]:
        return sorted(self._keys.values(), key=lambda k: k.created_at)

    async def update(self, key_id: str, patch: KeyPatch) -> StoredKey:
        current = self.get(key_id)
        changes = patch.model_dump(exclude_unset=True)
        try:
            merged = KeySpec.model_validate({**current.model_dump(), **changes})
        except ValueError as exc:
            raise ValidationFailed(str(exc).splitlines()[0]) from None
        key = StoredKey(
            **merged.model_dump(),
            id=current.id,
            created_at=current.created_at,
            secret_sha256=current.secret_sha256,
        )
        await self._save(key)
        return key

    async def revoke(self, key_id: str) -> None:
        self.get(key_id)
        await self._store.auth_put(RECORD_PREFIX + key_id, None)
        self._keys.pop(key_id, None)

    def verify(self, token: str) -> StoredKey | None:
        """The live key for `token`, or None (unknown, wrong secret, or expired)."""
        parts = split_token(token)
        if parts is None:
            return None
        key = self._keys.get(parts[0])
        if key is None or not hmac.compare_digest(digest(parts[1]), key.secret_sha256):
            return None
        return None if key.expired() else key

    # Whether `recall` can learn anything (a cluster node's registry); when not, the
    # authenticator does not even parse a token for its key id.
    recalls = False

    async def recall(self, key_id: str) -> None:
        """Make sure a key this registry has not heard of is known, if it exists.

        Here every key was created through this registry, so there is nothing to
        learn; a cluster node's registry looks in the shared store
        (`shared_keys.SharedKeyRegistry`).
        """

    def unknown(self, key_id: str) -> bool:
        """Shaped like a key id, but not known here (what `recall` may look up)."""
        return key_id not in self._keys and _ID_RE.fullmatch(key_id) is not None

    def active(self, key_id: str) -> StoredKey | None:
        key = self._keys.get(key_id)
        return None if key is None or key.expired() else key

    def all_origins(self) -> set[str]:
        return {origin for key in self._keys.values() for origin in key.allowed_origins}
