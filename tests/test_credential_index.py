"""The index the lapsed-credential sweep reads (app/realtime/credentials.py).

The sweep's behaviour on real sockets (4001 on an expired token, 4003 on a
revoked or expired key, a refreshed token keeping its socket) is tested in
tests/test_sec_ws.py; this covers the bookkeeping that replaced walking every
connection: refreshes, closed connections and the heap staying bounded.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.auth.principal import Principal
from app.realtime.credentials import CredentialIndex


@dataclass(eq=False)
class Conn:
    principal: Principal


def principal(key_id: str | None, expires_at: float | None) -> Principal:
    return Principal(
        id=f"key:{key_id}",
        kind="key" if key_id else "jwt",
        permissions=frozenset({"read"}),
        key_id=key_id,
        expires_at=expires_at,
    )


def make() -> tuple[set[Conn], CredentialIndex[Conn]]:
    open_set: set[Conn] = set()
    return open_set, CredentialIndex(open_set)


def connect(open_set: set[Conn], index: CredentialIndex[Conn], conn: Conn) -> Conn:
    open_set.add(conn)
    index.add(conn)
    return conn


def disconnect(open_set: set[Conn], index: CredentialIndex[Conn], conn: Conn) -> None:
    open_set.discard(conn)
    index.remove(conn)


def test_connections_are_grouped_by_their_key() -> None:
    open_set, index = make()
    a1 = connect(open_set, index, Conn(principal("a", None)))
    a2 = connect(open_set, index, Conn(principal("a", 100.0)))
    connect(open_set, index, Conn(principal("b", None)))
    connect(open_set, index, Conn(principal("admin", None)))
    connect(open_set, index, Conn(principal(None, 50.0)))
    assert sorted(index.key_ids()) == ["a", "b"]
    assert set(index.of_key("a")) == {a1, a2}
    disconnect(open_set, index, a1)
    disconnect(open_set, index, a2)
    assert index.key_ids() == ["b"]
    assert index.of_key("a") == []


def test_lapsed_returns_each_expired_credential_once_in_expiry_order() -> None:
    open_set, index = make()
    late = connect(open_set, index, Conn(principal(None, 30.0)))
    early = connect(open_set, index, Conn(principal(None, 10.0)))
    connect(open_set, index, Conn(principal(None, None)))
    assert index.lapsed(5.0) == []
    assert index.lapsed(30.0) == [early, late]
    assert index.lapsed(1e12) == []


def test_a_refreshed_credential_is_judged_by_its_new_expiry() -> None:
    open_set, index = make()
    conn = connect(open_set, index, Conn(principal("a", 10.0)))
    conn.principal = principal("a", 60.0)
    index.refreshed(conn)
    assert index.lapsed(20.0) == []  # the old expiry is stale
    assert index.lapsed(60.0) == [conn]


def test_closed_connections_are_not_reported() -> None:
    open_set, index = make()
    conn = connect(open_set, index, Conn(principal(None, 10.0)))
    disconnect(open_set, index, conn)
    assert index.lapsed(20.0) == []


def test_the_heap_stays_bounded_under_churn() -> None:
    open_set, index = make()
    keep = [connect(open_set, index, Conn(principal(None, 1e9 + i))) for i in range(10)]
    for i in range(20_000):  # long-lived tokens on short-lived connections
        disconnect(open_set, index, connect(open_set, index, Conn(principal(None, 2e9 + i))))
    assert len(index._expiries) <= len(open_set) + 1024 + 1
    assert index.lapsed(3e9) == keep
