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
from typing import Annotated, Any

import orjson
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
)

from app.auth.principal import PATTERN_RE, Permission, Principal
from app.errors import NotFound, ValidationFailed
from app.store.base import Store
from app.store.records import AwareTimestamp, Timestamp

TOKEN_PREFIX = "lsk_"
_ID_LEN = 16
_ID_RE = re.compile(r"[0-9a-f]{16}")  # what `create` makes: token_hex(_ID_LEN // 2)
RECORD_PREFIX = "key:"

Pattern = Annotated[str, Field(pattern=PATTERN_RE.pattern, examples=["tickets", "app1.*"])]

# The formats of `allowed_origins` and `allowed_ips`, as JSON Schema patterns: the
# server checks exactly these (so the OpenAPI document, generated clients and fuzzers
# agree with it). [0-9], not \d: both regex engines would take other scripts' digits.
ORIGIN_PATTERN = r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$"
_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = rf"{_OCTET}(\.{_OCTET}){{3}}"
_H16 = "[0-9A-Fa-f]{1,4}"
# Every spelling of an IPv6 address: eight groups, or `::` standing for one or more
# zero groups with `a` groups before it, and the forms ending in an IPv4 address
# (worth two groups; Python 3.13 writes IPv4-mapped networks that way).
_IPV6 = "|".join(
    [rf"({_H16}:){{7}}{_H16}", rf"::(({_H16}:){{0,6}}{_H16})?", rf"({_H16}:){{7}}:"]
    + [rf"({_H16}:){{{a}}}:(({_H16}:){{0,{6 - a}}}{_H16})?" for a in range(1, 7)]
    + [rf"({_H16}:){{6}}{_IPV4}", rf"::({_H16}:){{0,5}}{_IPV4}"]
    + [rf"({_H16}:){{{a}}}:({_H16}:){{0,{5 - a}}}{_IPV4}" for a in range(1, 6)]
)
CIDR_PATTERN = rf"^({_IPV4}(/(3[0-2]|[12]?[0-9]))?|({_IPV6})(/(12[0-8]|1[01][0-9]|[1-9]?[0-9]))?)$"


_ORIGIN_RE = re.compile(ORIGIN_PATTERN)
_CIDR_RE = re.compile(CIDR_PATTERN)


# Messages never repeat the input: a misplaced token must not come back in an error
# body (or any log that records one).
def _origin(origin: str) -> str:
    if not _ORIGIN_RE.fullmatch(origin):
        raise ValueError("not an origin like https://app.example.com")
    return origin.lower()


def _network(cidr: str) -> str:
    if not _CIDR_RE.fullmatch(cidr):
        raise ValueError("not an address or CIDR like 203.0.113.0/24 or 2001:db8::/32")
    return str(ipaddress.ip_network(cidr, strict=False))  # host bits allowed, then cleared


Origin = Annotated[
    str,
    AfterValidator(_origin),
    Field(json_schema_extra={"pattern": ORIGIN_PATTERN}, examples=["https://app.example.com"]),
]
Cidr = Annotated[
    str,
    AfterValidator(_network),
    Field(
        json_schema_extra={"pattern": CIDR_PATTERN}, examples=["203.0.113.0/24", "2001:db8::/32"]
    ),
]
# Each member's type, shared by `KeySpec` and `KeyPatch` (one definition of each check).
Name = Annotated[str, Field(min_length=1, max_length=200)]
Permissions = Annotated[list[Permission], Field(min_length=1)]
Patterns = Annotated[list[Pattern], Field(max_length=100)]
Origins = Annotated[list[Origin], Field(max_length=100)]
Cidrs = Annotated[list[Cidr], Field(max_length=100)]
RateLimit = Annotated[int, Field(ge=1, le=1_000_000)]
EVERYTHING = ["*"]
_SCOPE_HELP = "Glob patterns (`tickets`, `app1.*`) of the {} this key may use"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


class KeySpec(BaseModel):
    """What a key may do; the body of `POST /v1/keys`."""

    name: Name
    permissions: Permissions
    collections: Patterns = Field(
        default=EVERYTHING,
        description=_SCOPE_HELP.format("collections") + '; omitted: `["*"]`, every collection',
    )
    channels: Patterns = Field(
        default=EVERYTHING,
        description=_SCOPE_HELP.format("channels") + '; omitted: `["*"]`, every channel',
    )
    allowed_origins: Origins = Field(
        default=[],
        description="Browser origins this key may be used from; empty: any (and non-browser)",
    )
    allowed_ips: Cidrs = Field(
        default=[],
        description="Client addresses (CIDRs or single addresses) it may be used from; empty: any",
    )
    expires_at: AwareTimestamp | None = Field(
        default=None, description="When the key stops working (with a time zone); null: never"
    )
    rate_limit_per_s: RateLimit | None = Field(
        default=None, description="Requests per second; null: no limit"
    )


# In a patch, an omitted member keeps its value. Its default stands for "absent"
# only (`update` takes the members that were set), so a member typed without None
# refuses an explicit null like any other wrong type, naming itself.
ABSENT: Any = None


def _no_null_default(schema: dict[str, Any]) -> None:
    for prop in schema.get("properties", {}).values():
        if prop.get("default", 0) is None and "anyOf" not in prop:
            del prop["default"]  # a member that cannot be null has no null default


class KeyPatch(BaseModel):
    """`PATCH /v1/keys/{id}`: the members to change; an omitted member keeps its value.

    Only `expires_at` and `rate_limit_per_s` may be null (never expires, no limit).
    Each member has the type it has in `KeySpec`, so a bad patch is refused naming
    its own field, before anything is merged.
    """

    model_config = ConfigDict(json_schema_extra=_no_null_default)

    name: Name = ABSENT
    permissions: Permissions = ABSENT
    collections: Patterns = ABSENT
    channels: Patterns = ABSENT
    allowed_origins: Origins = ABSENT
    allowed_ips: Cidrs = ABSENT
    expires_at: AwareDatetime | None = Field(default=None, description="null: never expires")
    rate_limit_per_s: RateLimit | None = Field(default=None, description="null: no limit")


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
        except ValidationError as exc:
            # Unreachable for a valid KeyPatch (same types); still, name the field,
            # never the model.
            error = exc.errors()[0]
            field = ".".join(str(part) for part in error["loc"])
            raise ValidationFailed(f"{field}: {error['msg']}", field=field) from None
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
