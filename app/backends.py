"""The backends, chosen by URL scheme in this one place.

`LEVELSTREAM_STORE_URL` selects the `Store`: unset, the embedded LevelDB in
the data directory (`app.store.leveldb`); `postgresql://...`, PostgreSQL
(`app.store.postgres`). `LEVELSTREAM_BUS_URL` selects the `Bus` and what the
nodes of a cluster share with it (`Shared`): unset, in-process channels,
presence, tickets, keys and rate limits; `redis://...`, all of those through
Redis (`RedisBus`), so that a revocation closes that key's sockets on every
node. Many nodes on one database need both, and a node refuses to start
otherwise (`check_settings`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any, Protocol, TypedDict

from app.auth.apikeys import KeyRegistry
from app.auth.ratelimit import RateLimiter
from app.auth.rules import RuleBook
from app.auth.tickets import TicketBook
from app.errors import add_outage_errors
from app.realtime.bus import Bus
from app.realtime.channels import ChannelBus
from app.settings import ConfigError, Settings
from app.store.base import Store
from app.store.leveldb import LevelStore
from app.store.maintenance import Retention

if TYPE_CHECKING:
    from app.realtime.hub import Hub

log = logging.getLogger("levelstream.cluster")

STORE_SCHEMES = ("postgresql://", "postgres://")
BUS_SCHEMES = ("redis://", "rediss://", "unix://")
KEY_RELOAD_S = 5.0


def check_store_url(url: str) -> None:
    if not url.startswith(STORE_SCHEMES):
        raise ConfigError(
            "LEVELSTREAM_STORE_URL must be a postgresql:// URL "
            "(leave it unset for the embedded LevelDB store in LEVELSTREAM_DATA_DIR)"
        )


class StoreOptions(TypedDict):
    """What both stores take from the settings."""

    sync: bool
    retention: Retention
    max_group: int
    max_value_bytes: int
    max_txn_bytes: int
    maintenance_interval_s: float


def open_store(settings: Settings) -> Store:
    """The store `LEVELSTREAM_STORE_URL` names (not started yet)."""
    options = StoreOptions(
        sync=settings.durability == "sync",
        retention=Retention(settings.retention_changes, settings.retention_seconds),
        max_group=settings.max_group_size,
        max_value_bytes=settings.max_value_bytes,
        max_txn_bytes=settings.max_txn_bytes,
        maintenance_interval_s=settings.maintenance_interval_s,
    )
    if settings.store_url is not None:
        check_store_url(settings.store_url)
        import asyncpg

        from app.store.postgres import PgStore  # asyncpg loads in cluster mode only

        # Lost or refused connections, and a server shutting down or starting up.
        # InternalClientError: asyncpg resetting a connection the server just
        # terminated ("cannot switch to state ..."), seen on a fast shutdown.
        # TimeoutError: a statement or connection attempt outlived
        # LEVELSTREAM_SERVICE_TIMEOUT_S (a silent link).
        add_outage_errors(
            TimeoutError,
            asyncpg.InterfaceError,
            asyncpg.PostgresConnectionError,
            asyncpg.exceptions.OperatorInterventionError,
            asyncpg.InternalClientError,
        )

        return PgStore(
            settings.store_url,
            **options,
            pool_size=settings.pg_pool_size,
            lock=settings.pg_seq_lock,
            timeout_s=settings.service_timeout_s,
        )
    return LevelStore(settings.data_dir / "db", **options)


class Shared(Protocol):
    """What `LEVELSTREAM_BUS_URL` selects: the bus and the state the nodes share with it."""

    # Read-only members: each backend holds its own kinds (RedisBus, SharedKeyRegistry...).
    @property
    def bus(self) -> Bus: ...

    @property
    def keys(self) -> KeyRegistry: ...

    @property
    def tickets(self) -> TicketBook: ...

    @property
    def rules(self) -> RuleBook: ...

    @property
    def rate_limiter(self) -> RateLimiter: ...

    async def start(self, hub: Hub) -> None: ...

    async def close(self) -> None: ...


def open_shared(settings: Settings, store: Store) -> Shared:
    """The bus `LEVELSTREAM_BUS_URL` names, with keys, tickets and rate limits (the store
    must have started: the Redis namespace is the database's)."""
    if settings.bus_url is None:
        return LocalServices(settings, store)
    return SharedServices(settings, store)


class LocalServices:
    """One node on its own: everything in-process."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self.bus: Bus = ChannelBus()
        self.keys = KeyRegistry(store)
        self.rules = RuleBook(store)
        self.tickets = TicketBook(settings.ticket_ttl_s)
        self.rate_limiter = RateLimiter(settings.rate_limit_per_ip or None)

    async def start(self, hub: Hub) -> None:
        pass

    async def close(self) -> None:
        pass


def check_settings(settings: Settings) -> None:
    """Refuse a mode that cannot keep the contract (URLs are never echoed: passwords)."""
    if settings.store_url is not None:
        check_store_url(settings.store_url)
    if settings.bus_url is not None and not settings.bus_url.startswith(BUS_SCHEMES):
        raise ConfigError(
            "LEVELSTREAM_BUS_URL must be a redis:// URL (leave it unset for the in-process bus)"
        )
    if settings.store_url is not None and settings.bus_url is None:
        raise ConfigError(
            "cluster mode: LEVELSTREAM_STORE_URL selects the PostgreSQL store, which needs "
            "LEVELSTREAM_BUS_URL=redis://... as well, so that channels, presence, rate "
            "limits, stream tickets and key revocations reach every node"
        )
    if settings.store_url is not None:
        # Generated per data directory otherwise: each node would have its own.
        for name, value in (
            ("LEVELSTREAM_JWT_SECRET", settings.jwt_secret),
            ("LEVELSTREAM_ADMIN_TOKEN", settings.admin_token),
        ):
            if not value:
                raise ConfigError(
                    f"cluster mode: set {name}, the same on every node (a node would "
                    "otherwise generate its own, which the other nodes do not accept)"
                )


def _limits_uri(bus_url: str) -> str:
    """`limits`' spelling of a Redis URL for its asyncio storages."""
    if bus_url.startswith("unix://"):
        return "async+redis+" + bus_url
    return "async+" + bus_url


def namespace(store: Store) -> str:
    """Redis key prefix: one per database, so clusters can share a Redis."""
    ident = getattr(store, "cluster_id", "") or store.epoch
    return f"ls:{ident}:"


class SharedServices:
    """A node of a cluster: the Redis-backed bus, keys, tickets and rate limits."""

    def __init__(self, settings: Settings, store: Store) -> None:
        # Imported here, in cluster mode only: the Redis client and the `limits`
        # storages cost ~50 ms of every embedded server's start.
        import redis.asyncio
        from limits.aio.storage import RedisStorage
        from redis import exceptions as redis_errors

        from app.auth.shared_keys import SharedKeyRegistry
        from app.auth.shared_tickets import RedisTicketBook
        from app.realtime.redis_bus import RedisBus

        add_outage_errors(redis_errors.ConnectionError, redis_errors.TimeoutError)

        assert settings.bus_url is not None
        prefix = namespace(store)
        self.bus = RedisBus(
            settings.bus_url, prefix, settings.presence_lease_s, settings.service_timeout_s
        )
        timeout_s = settings.service_timeout_s
        # One connection pool for the calls requests wait on: tickets and rate limits.
        self._calls = redis.asyncio.Redis.from_url(
            settings.bus_url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s
        )
        self.tickets = RedisTicketBook(self._calls, prefix, settings.ticket_ttl_s, timeout_s)
        self.keys = SharedKeyRegistry(store, self._announce_key)
        # Rule sets travel whole, with their version; a node takes only a newer one.
        self.rules = RuleBook(store, self._announce_rules)
        # redis.asyncio under `limits`: a hit waits for Redis without holding the loop, at
        # most the service timeout (the limiter's bound, the client's retries included).
        # The pool goes through `**`: `limits` types its options as scalars.
        pool: dict[str, Any] = {"connection_pool": self._calls.connection_pool}
        storage = RedisStorage(
            _limits_uri(settings.bus_url),
            implementation="redispy",
            wrap_exceptions=True,
            key_prefix=prefix + "limits",
            **pool,
        )
        self.rate_limiter = RateLimiter(
            settings.rate_limit_per_ip or None, storage=storage, timeout_s=timeout_s
        )
        self._hub: Hub | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self, hub: Hub) -> None:
        self._hub = hub
        self.bus.on("keys", self._key_event)
        self.bus.on("rules", lambda event: self.rules.apply(str(event["r"])))
        await self.bus.start()
        self._task = asyncio.create_task(self._reload_keys_forever())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.bus.close()
        await self._calls.aclose()

    def _announce_key(self, key_id: str, action: str, record: str | None) -> None:
        self.bus.send({"t": "keys", "id": key_id, "a": action, "r": record})

    def _announce_rules(self, record: str) -> None:
        self.bus.send({"t": "rules", "r": record})

    def _key_event(self, event: dict[str, Any]) -> None:
        key_id, action = str(event["id"]), event["a"]
        self.keys.apply(key_id, event.get("r"))
        if self._hub is not None and action in ("revoked", "changed"):
            reason = "key revoked" if action == "revoked" else "key changed; reconnect"
            self._hub.close_key(key_id, 4003, reason)

    async def _reload_keys_forever(self) -> None:
        """A lost event must not leave a revoked key usable here for long."""
        while True:
            await asyncio.sleep(KEY_RELOAD_S)
            try:
                await self.keys.reload()
                await self.rules.reload()  # a lost rules event, likewise
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("reloading API keys failed")
