"""The one admission: every way into the service passes through `Gate`.

REST (the fast lane and the FastAPI dependency alike), `GET /v1/changes`
(also when a long-poll wakes up to answer), SSE opens, the WebSocket
handshake, the WebSocket `auth` op and every other WebSocket op come here,
so a guarantee written here holds on every transport:

- `admit(entry)`: a request, stream open, handshake or `auth` op. In order:
  the per-address rate limit (before any credential is looked at),
  the server-wide Origin rule for WebSocket handshakes (CORS does not cover
  them), the credential (`Authenticator`, the credential parser), the
  credential's own `allowed_ips` and `allowed_origins`, the per-key rate
  limit, then the extension checks (below). Returns the `Principal`.
- `admit_op(principal, client_ip)`: each WebSocket op but `ping`, rate-limited
  per address and per key exactly like a request.
- `open_connection(principal, client_ip, kind)`: a connection slot for a
  WebSocket or an SSE stream, under the caps (global, per kind, per key, per
  client address); the `Slot` is released once, when the connection ends.
- `recheck(principal, entry)`: a principal admitted earlier (a long-poll
  waking up, an open socket) judged again against the credential as it is
  now: revoked, expired or narrowed keys are refused, a key's holder gets
  its current rights.

A refusal is a `LevelstreamError` with the contract's `code`: HTTP answers it
as a problem (401, 403, 429), a WebSocket as a close code (`close_frame`:
4001, 4003, 4008 for a rate limit, 4009 for a connection cap) whose reason is
the same JSON shape as every other close reason, `{"code": ..., ...}`.

Not here: the server-wide `LEVELSTREAM_ALLOWED_IPS` rule, which
`app/server/context.py` applies to every route (also those that need no
credential, such as `/metrics`), and what an admitted principal may do with
a given document (the operations call `Principal.require`).

Extension point. `Gate.checks` is a tuple of `Check`s run, in order, at the
end of `admit` and of `recheck`, with the principal so far and the entry. A
check refuses by raising a `LevelstreamError`, or returns the principal to go
on with (the same one, a narrower one, or one carrying what later stages
need, e.g. the rule set in force). Rules and filters (the next step) plug in
here, so that they apply to every way in and to every re-check, once.
"""

from __future__ import annotations

from typing import Literal, NamedTuple, Protocol

import orjson

from app.auth.authenticator import Authenticator
from app.auth.network import parse_address
from app.auth.principal import Principal
from app.auth.ratelimit import RateLimiter, budget_of
from app.errors import Forbidden, LevelstreamError, RateLimited, Unauthorized, Unavailable

Transport = Literal["http", "sse", "ws"]
ConnectionKind = Literal["ws", "sse"]


class Entry(NamedTuple):
    """One way in, as the transport saw it (a tuple: the fast lane makes one per request)."""

    transport: Transport
    token: str | None
    client_ip: str | None
    origin: str | None = None
    # The server's own origin as this request addressed it (`http://host`); a
    # WebSocket handshake from it is same-origin. Only the handshake sets it.
    own_origin: str | None = None


class Check(Protocol):
    """An admission check added after the built-in ones (see the module docstring)."""

    def __call__(self, principal: Principal, entry: Entry | None) -> Principal: ...


class TooManyConnections(RateLimited):
    """A connection cap is reached: 429 over HTTP, close 4009 over a WebSocket."""


# WebSocket close codes by refusal: the `code` of the problem is the same on every transport.
_CLOSE_CODES: dict[type[LevelstreamError], int] = {
    # RFC 6455's registry: 1013 Try Again Later. A service the admission needs (Redis in
    # cluster mode) is out: the client reconnects, whatever its credential is.
    Unavailable: 1013,
    TooManyConnections: 4009,
    RateLimited: 4008,
    Forbidden: 4003,
    Unauthorized: 4001,
}


# A WebSocket close reason is at most 123 bytes of UTF-8.
MAX_CLOSE_REASON = 123


def close_frame(exc: LevelstreamError) -> tuple[int, str]:
    """The WebSocket close code and JSON reason of a refusal: the problem's `code`, its
    `retry_after` or `limit`, and as much of its `detail` (what was wrong) as fits."""
    code = next((c for kind, c in _CLOSE_CODES.items() if isinstance(exc, kind)), 4003)
    extra = {k: v for k, v in exc.extra.items() if k in ("retry_after", "limit")}
    reason = orjson.dumps({"code": exc.code, **extra})
    room = MAX_CLOSE_REASON - len(reason) - len(',"detail":""')
    detail = exc.detail.encode()[: max(room, 0)].decode("utf-8", "ignore")
    while detail:
        with_detail = orjson.dumps({"code": exc.code, **extra, "detail": detail})
        if len(with_detail) <= MAX_CLOSE_REASON:
            return code, with_detail.decode()
        detail = detail[:-1]  # escapes made it longer than it looked
    return code, reason.decode()


class ConnectionCaps(NamedTuple):
    total: int
    ws: int
    sse: int
    per_key: int  # 0: no cap
    per_ip: int  # 0: no cap


class Slot:
    """One open connection's place under the caps; `release` it when the connection ends."""

    __slots__ = ("_gate", "ip", "kind", "owner")

    def __init__(self, gate: Gate, kind: ConnectionKind, owner: str, ip: str | None) -> None:
        self._gate: Gate | None = gate
        self.kind = kind
        self.owner = owner
        self.ip = ip

    def release(self) -> None:
        """Give the place back; only the first call counts."""
        gate, self._gate = self._gate, None
        if gate is not None:
            gate._release(self)


class Gate:
    def __init__(
        self,
        authenticator: Authenticator,
        limiter: RateLimiter,
        caps: ConnectionCaps,
        server_origins: list[str] | tuple[str, ...] = (),
        checks: tuple[Check, ...] = (),
    ) -> None:
        self.authenticator = authenticator
        self.limiter = limiter
        self.caps = caps
        # LEVELSTREAM_ALLOWED_ORIGINS: origins every credential may be used from. With
        # every key's `allowed_origins` they are the origins a WebSocket handshake may
        # come from (as CORS allows them for requests).
        self._server_origins = frozenset(o.lower() for o in server_origins)
        self.checks = checks
        self._open = {"ws": 0, "sse": 0}
        self._by_owner: dict[str, int] = {}
        self._by_ip: dict[str, int] = {}

    # --- admission ------------------------------------------------------------------

    async def admit(self, entry: Entry) -> Principal:
        """Admit a request, a stream, a handshake or an `auth` op; the caller's principal."""
        # The limiter's hits are awaited only where a limit applies (None otherwise):
        # an unlimited request makes no coroutine for them.
        if (hit := self.limiter.check_address(entry.client_ip)) is not None:
            await hit
        self._check_handshake_origin(entry)
        if not entry.token:
            raise Unauthorized("a credential is required: Authorization: Bearer <token>")
        principal = await self.authenticator.authenticate(
            entry.token, stream=entry.transport != "http"
        )
        check_network(principal, entry)
        self._check_key_origin(principal, entry.origin)
        if (hit := self.limiter.check(principal)) is not None:
            await hit
        for check in self.checks:
            principal = check(principal, entry)
        return principal

    async def screen(self, entry: Entry) -> None:
        """What `admit` checks before the credential, for a handshake that brings none
        (its `auth` frame is then admitted in full)."""
        if (hit := self.limiter.check_address(entry.client_ip)) is not None:
            await hit
        self._check_handshake_origin(entry)

    async def admit_op(self, principal: Principal, client_ip: str | None) -> None:
        """A WebSocket op (not `ping`): the same rate limits as a request."""
        if (hit := self.limiter.check_address(client_ip)) is not None:
            await hit
        if (hit := self.limiter.check(principal)) is not None:
            await hit

    def recheck(self, principal: Principal, entry: Entry | None = None) -> Principal:
        """`principal` as its credential allows now (refused if revoked, expired or narrowed
        past it); with `entry`, the credential's network rules are applied again too."""
        principal = self.authenticator.still_valid(principal)
        if entry is not None:
            check_network(principal, entry)
        for check in self.checks:
            principal = check(principal, entry)
        return principal

    def _check_key_origin(self, principal: Principal, origin: str | None) -> None:
        """An origin that only API keys allow admits only requests made with those keys.

        Keys' `allowed_origins` join the CORS and WebSocket allow-lists, whose
        answers cannot depend on a credential (a preflight carries none); so a
        credential without that origin in its own list (another key, the admin,
        an issuer's token) is refused here when used from it. A credential with
        its own list is judged by `check_network`.
        """
        if origin is None or principal.allowed_origins:
            return
        origin = origin.lower()
        if origin not in self._server_origins and origin in self.authenticator.keys.all_origins():
            raise Forbidden("this credential may not be used from this origin")

    def _check_handshake_origin(self, entry: Entry) -> None:
        if entry.transport == "ws" and not self._origin_allowed(entry):
            raise Forbidden("this origin may not open WebSockets here")

    def _origin_allowed(self, entry: Entry) -> bool:
        """No Origin (a non-browser client), the same origin, or a configured one."""
        origin = entry.origin
        return origin is None or origin == entry.own_origin or self.origin_listed(origin)

    def origin_listed(self, origin: str) -> bool:
        """Whether some credential may be used from `origin`: a server-wide origin or a
        key's. The WebSocket handshake's Origin rule and CORS (app/server/cors.py, which
        cannot know the credential: a preflight carries none) both ask this."""
        origin = origin.lower()
        return origin in self._server_origins or origin in self.authenticator.keys.all_origins()

    # --- connection caps ------------------------------------------------------------

    def open_connection(
        self, principal: Principal, client_ip: str | None, kind: ConnectionKind
    ) -> Slot:
        """A place for a new WebSocket or SSE stream, or `TooManyConnections`.

        WebSockets and SSE streams count together toward the total, the key's
        and the address's caps, and each kind has its own ceiling, so that
        streams of one kind cannot take every place of the other. Counted per
        node (a cluster node caps its own connections).
        """
        caps, owner = self.caps, budget_of(principal)
        if self._open["ws"] + self._open["sse"] >= caps.total:
            raise TooManyConnections("the server holds its maximum of connections", limit="total")
        if self._open[kind] >= (caps.ws if kind == "ws" else caps.sse):
            raise TooManyConnections(
                f"the server holds its maximum of {kind} connections", limit=kind
            )
        if caps.per_key and self._by_owner.get(owner, 0) >= caps.per_key:
            raise TooManyConnections(
                f"this credential holds its maximum of {caps.per_key} connections", limit="key"
            )
        if caps.per_ip and client_ip and self._by_ip.get(client_ip, 0) >= caps.per_ip:
            raise TooManyConnections(
                f"this address holds its maximum of {caps.per_ip} connections", limit="address"
            )
        self._open[kind] += 1
        self._by_owner[owner] = self._by_owner.get(owner, 0) + 1
        if client_ip:
            self._by_ip[client_ip] = self._by_ip.get(client_ip, 0) + 1
        return Slot(self, kind, owner, client_ip)

    def _release(self, slot: Slot) -> None:
        self._open[slot.kind] -= 1
        _decrement(self._by_owner, slot.owner)
        if slot.ip:
            _decrement(self._by_ip, slot.ip)


def _decrement(counts: dict[str, int], name: str) -> None:
    left = counts[name] - 1
    if left:
        counts[name] = left
    else:
        del counts[name]  # bounded by what is open, not by who ever connected


def check_network(principal: Principal, entry: Entry) -> None:
    """The credential's own `allowed_ips` and `allowed_origins`."""
    if principal.allowed_ips:
        address = parse_address(entry.client_ip) if entry.client_ip else None
        if address is None or not any(address in net for net in principal.allowed_ips):
            raise Forbidden("this credential may not be used from this address")
    origin = entry.origin.lower() if entry.origin is not None else None
    if principal.allowed_origins and origin is not None and origin not in principal.allowed_origins:
        raise Forbidden("this credential may not be used from this origin")
