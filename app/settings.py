"""All configuration, from `LEVELSTREAM_*` environment variables and a `.env` file."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """One settings object per app; nothing reads the environment anywhere else."""

    model_config = SettingsConfigDict(
        env_prefix="LEVELSTREAM_", env_file=".env", extra="ignore", frozen=True
    )

    data_dir: Path = Path("./data")
    admin_token: str | None = Field(default=None, repr=False)
    durability: Literal["sync", "async"] = "sync"
    retention_changes: int = Field(default=1_000_000, ge=1)
    retention_seconds: int = Field(default=604_800, ge=1)
    # How long a write's answer is remembered under its idempotency key (seconds).
    idempotency_ttl_s: float = Field(default=86_400, gt=0)
    jwt_secret: str | None = Field(default=None, repr=False)
    jwt_trusted_issuers: str | None = None
    allowed_origins: str = ""
    trusted_proxies: str = ""
    # Server-wide client address allow-list (CIDRs, comma-separated); empty: any.
    allowed_ips: str = ""
    # Requests per second per client address (0: no limit); keys have their own.
    rate_limit_per_ip: int = Field(default=0, ge=0)
    # Longest lifetime of a JWT minted by POST /v1/auth/token, in seconds.
    jwt_max_ttl_s: int = Field(default=86_400, ge=60)
    # Lifetime of a single-use stream ticket (POST /v1/auth/ticket), in seconds.
    ticket_ttl_s: float = Field(default=30, gt=0, le=300)
    access_log: bool = True
    max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    max_value_bytes: int = Field(default=1024 * 1024, ge=16)
    # The most bytes of documents and changes one write may produce (413 past it) and
    # one page of a range read or snapshot may hold (it ends early, with a cursor).
    max_txn_bytes: int = Field(default=16 * 1024 * 1024, ge=64 * 1024)
    max_json_depth: int = Field(default=64, ge=1, le=512)
    # The most documents one range page examines (LEVELSTREAM_MAX_SCAN): a `where` no
    # index serves is refused with `needs_index` past it (docs/queries.md); a page whose
    # documents a read rule hides ends there, short, with a cursor (docs/rules.md).
    max_scan: int = Field(default=10_000, ge=1)
    ws_queue_limit: int = Field(default=10_000, ge=1)
    # Connection caps (app/auth/gate.py): WebSockets and SSE streams together, each
    # kind's own ceiling (so one kind cannot take every place), and per key (tokens a
    # key minted included) and per client address (0: no cap). Counted per node.
    max_connections: int = Field(default=120_000, ge=1)
    max_ws_connections: int = Field(
        default=100_000,
        ge=1,
        # The name it had before SSE streams got a ceiling of their own.
        validation_alias=AliasChoices(
            "LEVELSTREAM_MAX_WS_CONNECTIONS", "LEVELSTREAM_WS_MAX_CONNECTIONS", "max_ws_connections"
        ),
    )
    max_sse_connections: int = Field(default=20_000, ge=1)
    max_connections_per_key: int = Field(default=0, ge=0)
    max_connections_per_ip: int = Field(default=0, ge=0)
    ws_max_subscriptions: int = Field(default=1000, ge=1)
    # Seconds between SSE heartbeat comments (the contract: at most 15).
    sse_ping_s: float = Field(default=15, gt=0, le=15)
    # An SSE write that blocks this long (the client stopped reading) ends the stream.
    sse_send_timeout_s: float = Field(default=30, gt=0)
    # WebSocket keepalive: a ping every this many seconds; a peer that does not
    # answer within as long again is dropped (and leaves its presence channels).
    ws_ping_s: float = Field(default=15, gt=0, le=300)
    store_url: str | None = Field(default=None, repr=False)  # may carry a password
    bus_url: str | None = Field(default=None, repr=False)
    # Cluster mode (a postgresql:// store): connections per node, how each write takes
    # the global seq ("row": lock the seq row; "advisory": an advisory lock), and how
    # long presence entries of a node that stops renewing them survive, in seconds.
    pg_pool_size: int = Field(default=10, ge=2, le=500)
    pg_seq_lock: Literal["row", "advisory"] = "row"
    # Cluster mode: the longest a node waits on PostgreSQL or Redis for one thing (a
    # connection, a statement, a reply) before the request is answered 503. A link that
    # drops packets without a reset gives no error; only this ends the wait (TCP's own
    # retransmission gives up after minutes).
    service_timeout_s: float = Field(default=10, gt=0, le=600)
    presence_lease_s: float = Field(default=10, ge=0.5, le=300)
    # Largest presence `state` (encoded JSON bytes) a join may carry: every member's state
    # is kept in memory and sent to every subscriber of the channel on each join.
    presence_state_bytes: int = Field(default=4096, ge=16)

    # Writer: how many transactions one group commit may hold.
    max_group_size: int = Field(default=1024, ge=1)
    # How often the TTL sweeper and the retention trimmer run, in seconds.
    maintenance_interval_s: float = Field(default=1.0, gt=0)
    log_level: str = "info"
    # Our hooks into uvicorn's private protocol code (app/server/http_protocol.py,
    # app/server/ws_protocol.py); off runs on stock uvicorn paths (`make test-stock-uvicorn`).
    uvicorn_hooks: bool = True

    @field_validator("allowed_origins")
    @classmethod
    def _origins_are_listed(cls, value: str) -> str:
        # Checked here, at start-up: the CORS middleware is only built on the first
        # request, so a check there would leave a server that starts and then fails
        # every request. `*` would let any site use a browser's credentials; `null`
        # is what sandboxed iframes and file:// pages send.
        origins = [o.strip().lower() for o in value.split(",") if o.strip()]
        if "*" in origins or "null" in origins:
            raise ValueError(
                "LEVELSTREAM_ALLOWED_ORIGINS must list origins; * and null are refused"
            )
        return value

    @property
    def allowed_origin_list(self) -> list[str]:
        # Lower case, as browsers send them and as the checks compare them.
        return [o.strip().lower() for o in self.allowed_origins.split(",") if o.strip()]

    @property
    def trusted_proxy_list(self) -> list[str]:
        return [p.strip() for p in self.trusted_proxies.split(",") if p.strip()]

    @property
    def allowed_ip_list(self) -> list[str]:
        return [p.strip() for p in self.allowed_ips.split(",") if p.strip()]


class ListenAddress(BaseSettings):
    """Where `levelstream serve` (and so `make run`) listens when not told: `HOST` and
    `PORT`, unprefixed, from the environment, else from `.env`, as the README says."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)


class ConfigError(RuntimeError):
    """A setting that keeps the server from starting; the message says how to fix it."""
